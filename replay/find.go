// Package replay re-drives the invocations that execution records describe:
// it reads records from a function's log, an SQS queue or an S3 bucket,
// selects some, and invokes a function again with each one's original
// event, the record's requestPayload. The decisions (which records, which
// event, which function, what to delete) are pure and apart from the I/O.
package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Found is a record read from a source, or what could not be read of one.
type Found struct {
	Where  string // for people: "line 12", "s3://bucket/key", "message <id>"
	Unit   int    // the part of its batch it came from: a line, an object, a message
	Record record.Record
	Err    error // set when the record could not be read; Record is then empty
}

// maxDepth bounds how deep records are looked for: a record in a log
// line, in an SNS notification in an SQS message, in a log event, is a
// few levels down.
const maxDepth = 10

// errCut is a text that holds a record's fields but is not JSON: most
// often a log line that CloudWatch Logs cut at 256 KB.
var errCut = errors.New("a record that is not valid JSON: cut short (CloudWatch Logs keeps 256 KB of a log event) or mangled")

// foundIn lists the records in raw, found by findRecords, and those that
// could not be read, with Err set.
func foundIn(raw []byte, where string, unit int) []Found {
	recs, broken := findRecords(raw)
	out := make([]Found, 0, len(recs)+broken)
	for _, r := range recs {
		out = append(out, Found{Where: where, Unit: unit, Record: r})
	}
	for range broken {
		out = append(out, Found{Where: where, Unit: unit, Err: errCut})
	}
	return out
}

// findRecords returns the execution records in a JSON value: the value
// itself, or records embedded in it at any depth, in objects, arrays and
// strings that hold JSON (a log event's message, an SNS notification's
// Message, an SQS body). A record's own payloads are not searched: a record
// whose event is a record is one record. broken counts the strings that
// looked like records but were not JSON.
func findRecords(v []byte) (recs []record.Record, broken int) {
	var f finder
	f.value(v, 0)
	return f.recs, f.broken
}

type finder struct {
	recs   []record.Record
	broken int
}

func (f *finder) value(v []byte, depth int) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || depth > maxDepth {
		return
	}
	switch v[0] {
	case '{':
		f.object(v, depth)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return
		}
		for _, it := range items {
			if mayHoldRecord(it) {
				f.value(it, depth+1)
			}
		}
	case '"':
		if !mayHoldRecord(v) {
			return
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return
		}
		f.text([]byte(s), depth+1)
	}
}

// text looks for a record in free text: the JSON that starts at its first
// brace, as in "2024-01-01T00:00:00.000Z\tid\tINFO\t{…}".
func (f *finder) text(s []byte, depth int) {
	i := bytes.IndexByte(s, '{')
	if i < 0 {
		return
	}
	raw, ok := firstValue(s[i:])
	if !ok {
		if looksLikeRecord(s) {
			f.broken++
		}
		return
	}
	f.value(raw, depth)
}

func (f *finder) object(v []byte, depth int) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(v, &fields) != nil {
		return
	}
	_, hasContext := fields["requestContext"]
	_, hasPayload := fields["requestPayload"]
	if hasContext && hasPayload {
		if r, ok := asRecord(v); ok {
			f.recs = append(f.recs, r)
			return
		}
	}
	// In key order: the records an object holds are found in one order.
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if mayHoldRecord(fields[k]) {
			f.value(fields[k], depth+1)
		}
	}
}

// asRecord reads v as an execution record: one whose requestContext names
// a request, a function and a condition.
func asRecord(v []byte) (record.Record, bool) {
	var r record.Record
	if err := json.Unmarshal(v, &r); err != nil {
		return record.Record{}, false
	}
	c := r.RequestContext
	return r, c.RequestID != "" && c.FunctionARN != "" && c.Condition != ""
}

// firstValue is the JSON value at the start of b, whatever follows it.
func firstValue(b []byte) (json.RawMessage, bool) {
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&raw); err != nil {
		return nil, false
	}
	return raw, true
}

// mayHoldRecord is a cheap test that b could hold a record: every record
// has a requestPayload, spelled so even when escaped in a string.
func mayHoldRecord(b []byte) bool {
	return bytes.Contains(b, []byte("requestPayload"))
}

// looksLikeRecord tells text that holds a record's fields, readable or not.
func looksLikeRecord(b []byte) bool {
	return mayHoldRecord(b) && bytes.Contains(b, []byte("functionArn")) && bytes.Contains(b, []byte("requestContext"))
}

// at names the n-th thing of a kind: "line 12".
func at(kind string, n int) string { return kind + " " + strconv.Itoa(n) }
