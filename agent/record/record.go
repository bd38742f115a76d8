// Package record builds the execution record of an invocation in the format
// of AWS Lambda Destinations (version 1.0).
package record

import (
	"encoding/base64"
	"encoding/json"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/internal/jsonlex"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// Conditions, as native records name them.
const (
	ConditionSuccess = "Success"
	ConditionFailure = "Failure"
)

// Record is an execution record. The first six fields are the native ones;
// the rest are added only where they say something native cannot.
type Record struct {
	Version         string          `json:"version"`
	Timestamp       string          `json:"timestamp"`
	RequestContext  RequestContext  `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext ResponseContext `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
	Extra

	// Payloads captured in parts, still to embed: Marshal writes them
	// straight into the record, which then holds them once.
	requestParts, responseParts *parts
}

// Extra holds the fields a record has beyond the native ones, added only
// where they say something native cannot.
type Extra struct {
	// "base64" when the payload was not valid UTF-8 and is carried encoded.
	RequestPayloadEncoding  string `json:"requestPayloadEncoding,omitempty"`
	ResponsePayloadEncoding string `json:"responsePayloadEncoding,omitempty"`
	// Set when a payload was larger than the capture cap: its full size.
	RequestPayloadTruncated  *Truncation `json:"requestPayloadTruncated,omitempty"`
	ResponsePayloadTruncated *Truncation `json:"responsePayloadTruncated,omitempty"`
	// ConditionSlow for the slow record, whose native condition stays Success.
	DestinationsCondition string `json:"destinationsCondition,omitempty"`
	// Set with DESTINATIONS_CONTEXT, and on slow records for the duration.
	InvocationContext *InvocationContext `json:"invocationContext,omitempty"`
	// Set when Lambda told no request id: an invocation failed by a failed
	// init, for which no INVOKE came. requestContext.requestId is empty then.
	RequestIDUnknown bool `json:"requestIdUnknown,omitempty"`
}

// parts is a payload captured in parts, to embed when the record is
// serialised: the first kept bytes of them.
type parts struct {
	parts     [][]byte
	kept      int
	truncated bool
}

// Truncation says a payload holds only the first Kept of Size bytes.
type Truncation struct {
	Size int64 `json:"size"`
	Kept int   `json:"kept"`
}

// RequestContext is the record's requestContext.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is the record's responseContext.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// Function identifies the function whose invocations are recorded.
type Function struct {
	// ARN is the function's own, unqualified; used only where the ARN the
	// caller invoked is not known. Empty where the environment does not
	// tell it.
	ARN     string
	Version string // executed version, "$LATEST" or a number
}

// TimeFormat is the record's timestamp format: UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Build makes the record of an invocation.
func Build(inv invocation.Invocation, fn Function) Record {
	version := fn.Version
	if version == "" {
		version = "$LATEST"
	}
	functionARN := QualifiedARN(inv.InvokedFunctionARN, fn.ARN, version)
	end := inv.End
	if end.IsZero() {
		end = time.Now()
	}
	attempt := max(inv.Attempt, 1)
	r := Record{
		Version:   "1.0",
		Timestamp: end.UTC().Format(TimeFormat),
		RequestContext: RequestContext{
			RequestID:              inv.RequestID,
			FunctionARN:            functionARN,
			Condition:              ConditionSuccess,
			ApproximateInvokeCount: attempt,
		},
		ResponseContext: ResponseContext{StatusCode: 200, ExecutedVersion: version},
	}
	if inv.Request.Parts != nil {
		r.requestParts, r.RequestPayload, r.RequestPayloadTruncated = pending(inv.Request)
	} else {
		r.RequestPayload, r.RequestPayloadEncoding, r.RequestPayloadTruncated = Payload(inv.Request)
	}
	if inv.Response.Parts != nil {
		r.responseParts, r.ResponsePayload, r.ResponsePayloadTruncated = pending(inv.Response)
	} else {
		r.ResponsePayload, r.ResponsePayloadEncoding, r.ResponsePayloadTruncated = Payload(inv.Response)
	}
	r.RequestIDUnknown = inv.RequestIDUnknown
	if inv.Outcome.Failed() {
		r.RequestContext.Condition = ConditionFailure
		r.ResponseContext.FunctionError = "Unhandled"
	}
	return r
}

// QualifiedARN is the record's functionArn: the ARN the caller invoked,
// with the caller's qualifier (an alias, a version), or $LATEST where it
// had none. Where no invoked ARN is known (an init that failed before any
// invocation was seen), it is the function's own ARN and the version that
// ran.
func QualifiedARN(invoked, own, version string) string {
	if invoked == "" {
		if own == "" {
			return ""
		}
		return own + ":" + version
	}
	if a, err := arn.Parse(invoked); err == nil && a.FunctionName() != "" && a.Qualifier() == "" {
		return invoked + ":$LATEST"
	}
	return invoked
}

// pending is a payload captured in parts, left for Marshal to embed, or
// the payload itself when nothing of it is kept.
func pending(p invocation.Payload) (*parts, json.RawMessage, *Truncation) {
	kept := p.Len()
	var trunc *Truncation
	if p.Truncated {
		kept -= partialRuneTail(p.Parts, kept)
		trunc = &Truncation{Size: p.Size, Kept: kept}
	}
	if kept == 0 {
		return nil, empty(trunc), trunc
	}
	return &parts{parts: p.Parts, kept: kept, truncated: p.Truncated}, nil, trunc
}

// partialRuneTail is the length of an incomplete UTF-8 sequence cut at the
// end of the first n bytes of parts, as trimPartialRune drops it.
func partialRuneTail(ps [][]byte, n int) int {
	var tail [utf8.UTFMax]byte
	t := tail[:0]
	// The last bytes, up to UTFMax, wherever the parts split them.
	skip := max(n-utf8.UTFMax, 0)
	for _, p := range ps {
		if len(p) > n {
			p = p[:n]
		}
		n -= len(p)
		if skip >= len(p) {
			skip -= len(p)
			continue
		}
		t = append(t, p[skip:]...)
		skip = 0
	}
	return len(t) - len(trimPartialRune(t))
}

// Marshal serialises a record as one line of compact JSON. A payload that
// Build left in parts is embedded straight into the line, and r's payload
// fields are set to it there: r no longer holds the parts.
func Marshal(r *Record) ([]byte, error) {
	n := 512 + len(r.RequestPayload) + len(r.ResponsePayload)
	for _, p := range []*parts{r.requestParts, r.responseParts} {
		if p != nil {
			n += p.kept + 2 // a compact JSON payload, or a short string
		}
	}
	return AppendMarshal(make([]byte, 0, n), r)
}

// AppendMarshal appends the record's JSON to b. Fields are written in the
// native order by hand: the payloads are already compact JSON and going
// through encoding/json would validate and copy them again. A payload that
// Build left in parts is embedded here, as Marshal says.
func AppendMarshal(b []byte, r *Record) ([]byte, error) {
	start := len(b)
	b = appendHead(b, r)
	b, r.RequestPayload, r.RequestPayloadEncoding = appendPayload(b, r.RequestPayload, r.RequestPayloadEncoding, r.requestParts)
	b = appendMiddle(b, r)
	b, r.ResponsePayload, r.ResponsePayloadEncoding = appendPayload(b, r.ResponsePayload, r.ResponsePayloadEncoding, r.responseParts)
	r.requestParts, r.responseParts = nil, nil
	out, err := appendTail(b, r)
	if err != nil {
		return b[:start], err
	}
	return out, nil
}

// appendPayload embeds a payload: raw as it is, or the one Build left in
// parts, which then lands in b: what landed is the payload and its encoding.
func appendPayload(b []byte, raw json.RawMessage, encoding string, p *parts) ([]byte, json.RawMessage, string) {
	if p == nil {
		return appendRaw(b, raw), raw, encoding
	}
	s := len(b)
	b, encoding = appendParts(b, p)
	return b, b[s:len(b):len(b)], encoding
}

// appendHead writes the record up to the request payload.
func appendHead(b []byte, r *Record) []byte {
	b = append(b, `{"version":`...)
	b = AppendString(b, r.Version)
	b = append(b, `,"timestamp":`...)
	b = AppendString(b, r.Timestamp)
	b = append(b, `,"requestContext":{"requestId":`...)
	b = AppendString(b, r.RequestContext.RequestID)
	b = append(b, `,"functionArn":`...)
	b = AppendString(b, r.RequestContext.FunctionARN)
	b = append(b, `,"condition":`...)
	b = AppendString(b, r.RequestContext.Condition)
	b = append(b, `,"approximateInvokeCount":`...)
	b = strconv.AppendInt(b, int64(r.RequestContext.ApproximateInvokeCount), 10)
	return append(b, `},"requestPayload":`...)
}

// appendMiddle writes the record between the payloads.
func appendMiddle(b []byte, r *Record) []byte {
	b = append(b, `,"responseContext":{"statusCode":`...)
	b = strconv.AppendInt(b, int64(r.ResponseContext.StatusCode), 10)
	b = append(b, `,"executedVersion":`...)
	b = AppendString(b, r.ResponseContext.ExecutedVersion)
	if r.ResponseContext.FunctionError != "" {
		b = append(b, `,"functionError":`...)
		b = AppendString(b, r.ResponseContext.FunctionError)
	}
	return append(b, `},"responsePayload":`...)
}

// appendTail writes the record after the response payload.
func appendTail(b []byte, r *Record) ([]byte, error) {
	if r.Extra == (Extra{}) {
		return append(b, '}'), nil
	}
	// The fields beyond native are rare: encoding/json writes them.
	extra, err := json.Marshal(r.Extra) // a copy: r itself stays off the heap
	if err != nil {
		return nil, err
	}
	if len(extra) > 2 {
		b = append(b, ',')
		b = append(b, extra[1:len(extra)-1]...)
	}
	return append(b, '}'), nil
}

func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// AppendString appends s as a JSON string, leaving <, > and & as they are;
// bytes that are not UTF-8 become U+FFFD.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip to the next byte worth a look, eight at a time.
		if i+8 <= len(s) {
			m := jsonlex.SpecialBytes(load64(s, i))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// load64 reads eight bytes of s at i, little-endian (one load once compiled).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// Payload embeds captured bytes in the record: as JSON when they are valid
// JSON, else as a JSON string, or as a base64 string when they are not valid
// UTF-8. An empty body is null, and a truncated one of which nothing is
// kept the empty string. Only insignificant whitespace is changed.
func Payload(p invocation.Payload) (json.RawMessage, string, *Truncation) {
	b := p.Join()
	var trunc *Truncation
	if p.Truncated {
		b = trimPartialRune(b)
		trunc = &Truncation{Size: p.Size, Kept: len(b)}
	}
	if len(b) == 0 {
		return empty(trunc), "", trunc
	}
	if trunc == nil {
		switch valid, compacted := scan(b); {
		case valid && compacted:
			// Embedded as it is, without a copy: Marshal copies it once,
			// into the record. The full slice expression keeps an append
			// from writing into the capture beyond it.
			return json.RawMessage(b[:len(b):len(b)]), "", nil
		case valid:
			return compact(make([]byte, 0, len(b)), b), "", nil
		}
	}
	if !utf8.Valid(b) {
		return quote(base64.StdEncoding.EncodeToString(b)), "base64", trunc
	}
	// Read through a string view: a copy of a large body costs as much as
	// quoting it. b is not written while the view is in use.
	return quote(unsafe.String(unsafe.SliceData(b), len(b))), "", trunc
}

// appendParts embeds a payload captured in parts as Payload embeds one
// slice, and returns its encoding. The parts are appended as they are and
// the JSON checked (and compacted) where it lands in b: a valid JSON payload,
// the usual large one, is copied once. Any other goes the way of Payload
// from the parts joined.
func appendParts(b []byte, p *parts) ([]byte, string) {
	start := len(b)
	left := p.kept
	for _, part := range p.parts {
		if left == 0 {
			break
		}
		part = part[:min(len(part), left)]
		b = append(b, part...)
		left -= len(part)
	}
	if !p.truncated {
		in := b[start:]
		switch valid, compacted := scan(in); {
		case valid && compacted:
			return b, ""
		case valid:
			// In place: compacting only ever writes behind where it reads.
			return b[:start+len(compact(in[:0], in))], ""
		}
	}
	// Rare for a large payload: not JSON, or truncated. b[start:] may have
	// been written over, so the parts are joined again.
	joined := make([]byte, 0, p.kept)
	left = p.kept
	for _, part := range p.parts {
		part = part[:min(len(part), left)]
		joined = append(joined, part...)
		left -= len(part)
	}
	b = b[:start]
	if !utf8.Valid(joined) {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, joined)
		return append(b, '"'), "base64"
	}
	return AppendString(b, unsafe.String(unsafe.SliceData(joined), len(joined))), ""
}

// empty is a payload of no bytes: null when there were none, and the
// empty string when none were kept, as a truncated payload is the string
// of the bytes kept.
func empty(trunc *Truncation) json.RawMessage {
	if trunc != nil {
		return json.RawMessage(`""`)
	}
	return json.RawMessage("null")
}

func quote(s string) json.RawMessage {
	return AppendString(make([]byte, 0, len(s)+16), s)
}

// trimPartialRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
