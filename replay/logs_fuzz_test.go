package replay

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A log is whatever the user gives: reading it never panics or hangs, and
// each record it yields names a request, a function and a condition, or
// says why it could not be read.
func FuzzReadLog(f *testing.F) {
	for _, name := range []string{"emulator.log", "sam-logs.txt", "filter-log-events.json", "native.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\n"))
	f.Add([]byte(`[{"message":"{\"requestPayload\":1"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ReadLog(bytes.NewReader(b), func(fd Found) {
			c := fd.Record.RequestContext
			if fd.Err == nil && (c.RequestID == "" || c.FunctionARN == "" || c.Condition == "") {
				t.Errorf("a record without its context: %+v", fd.Record)
			}
			if fd.Err == nil {
				event(fd.Record) // decides, whatever the payload
			}
		})
		_ = err // a document that is not JSON is an error, not a panic
	})
}

// The log of many invocations: the emulator's fixture, again and again.
func manyInvocations(b *testing.B) []byte {
	b.Helper()
	one, err := os.ReadFile(filepath.Join("testdata", "emulator.log"))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Repeat(append(one, '\n'), 200)
}

// BenchmarkReadLog reads a log of the emulator's output; BenchmarkScanLines,
// the floor, only splits the same bytes into lines.
func BenchmarkReadLog(b *testing.B) {
	log := manyInvocations(b)
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		n := 0
		if _, err := ReadLog(bytes.NewReader(log), func(Found) { n++ }); err != nil || n != 14*200 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}

func BenchmarkScanLines(b *testing.B) {
	log := manyInvocations(b)
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		s := bufio.NewScanner(bytes.NewReader(log))
		s.Buffer(make([]byte, 64<<10), maxLineBytes)
		for s.Scan() {
		}
	}
}

// BenchmarkReadLogLargeRecord reads one stdout line holding a record of a
// 1 MiB event.
func BenchmarkReadLogLargeRecord(b *testing.B) {
	rec := `{"version":"1.0","timestamp":"2024-05-01T12:00:00.000Z","requestContext":{"requestId":"r1","functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST","condition":"Failure","approximateInvokeCount":1},"requestPayload":{"items":[` +
		strings.Repeat(`{"id":1,"name":"item","price":12.5},`, 1<<20/36) + `{}]},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorType":"E"}}`
	line := []byte(`{"time":"t","level":"INFO","msg":"execution record","destination":"stdout","record":` + rec + "}\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		n := 0
		if _, err := ReadLog(bytes.NewReader(line), func(Found) { n++ }); err != nil || n != 1 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}
