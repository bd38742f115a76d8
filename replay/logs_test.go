package replay

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readAll reads a log and lists what was found, one line each:
// "WHERE REQUEST-ID CONDITION", or "WHERE unreadable" for a broken record.
func readAll(t *testing.T, text string) ([]string, int) {
	t.Helper()
	var got []string
	n, err := ReadLog(strings.NewReader(text), func(f Found) {
		if f.Err != nil {
			got = append(got, f.Where+" unreadable")
			return
		}
		got = append(got, f.Where+" "+f.Record.RequestContext.RequestID+" "+f.Record.RequestContext.Condition)
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, n
}

// One fixture per shape a function's log comes in.
func TestReadLogShapes(t *testing.T) {
	tests := []struct {
		fixture string
		lines   int
		want    []string
	}{
		{"emulator.log", 84, []string{
			"line 11 req-ok Success",
			"line 18 req-fail Failure", "line 21 req-fail Failure", // stdout, undelivered
			"line 28 req-secret Failure", "line 30 req-secret Failure",
			"line 38 req-long Failure", // in pieces around the emulator's lines, mended
			"line 42 req-long Failure",
			"line 54 req-crash Failure", "line 56 req-crash Failure",
			"line 67 req-after Failure", "line 70 req-after Failure", "line 72 req-after Failure", // oversize, stdout, undelivered
			"line 79 req-cut Failure", "line 82 req-cut Failure",
		}},
		{"sam-local.log", 17, []string{
			"line 9 e7c0f3c5-2d1b-4a9e-8f6d-3b2a1c0d9e8f Failure",
			"line 14 a2b4c6d8-1e3f-4a5b-9c7d-0e2f4a6b8c0d Success",
		}},
		{"sam-logs.txt", 6, []string{
			"line 2 c0e7c3f5-fail-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"line 3 c0e7c3f5-cras-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"line 6 unreadable", // cut as CloudWatch Logs cuts a long event
		}},
		{"aws-logs-tail.txt", 2, []string{
			"line 1 c0e7c3f5-fail-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"line 2 c0e7c3f5-ok00-4a1b-9c2d-5e6f7a8b9c0d Success",
		}},
		{"filter-log-events.json", 5, []string{
			"events[1] c0e7c3f5-fail-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"events[2] c0e7c3f5-secr-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"events[3] c0e7c3f5-ok00-4a1b-9c2d-5e6f7a8b9c0d Success",
			"events[4] c0e7c3f5-afte-4a1b-9c2d-5e6f7a8b9c0d Failure",
		}},
		{"cloudwatch-export.gz", 4, []string{
			"line 2 c0e7c3f5-fail-4a1b-9c2d-5e6f7a8b9c0d Failure",
			"line 3 c0e7c3f5-cras-4a1b-9c2d-5e6f7a8b9c0d Failure",
		}},
		{"native.log", 6, []string{
			"line 2 e4b46cbf-b738-xmpl-8880-a18cdf61200e RetriesExhausted", // in an EventBridge event a consumer logged
			"line 3 9f1d2c3b-xmpl-4e5f-8a9b-0c1d2e3f4a5b EventAgeExceeded", // in an SNS notification's Message
			"line 5 7a8b9c0d-xmpl-4e1f-8a2b-3c4d5e6f7a8b RetriesExhausted", // a record whose event is a record: the outer one
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			got, n := readAll(t, string(b))
			if !slices.Equal(got, tt.want) {
				t.Errorf("found\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(tt.want, "\n "))
			}
			if n != tt.lines {
				t.Errorf("%d lines (or events), want %d", n, tt.lines)
			}
		})
	}
}

// The record's fields come through as the layer wrote them.
func TestReadLogRecordFields(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "emulator.log"))
	if err != nil {
		t.Fatal(err)
	}
	var got []Found
	if _, err := ReadLog(strings.NewReader(string(b)), func(f Found) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	long := got[5].Record
	if long.RequestContext.FunctionARN != "arn:aws:lambda:us-east-1:012345678912:function:function:$LATEST" ||
		!strings.HasPrefix(string(long.RequestPayload), `{"Success":false,"pad":"xxx`) ||
		long.ResponseContext.FunctionError != "Unhandled" || long.Timestamp != "2026-12-02T15:54:45.007Z" {
		t.Errorf("the mended record: %+v", long)
	}
	cut := got[12].Record
	if cut.RequestPayloadTruncated == nil || cut.RequestPayloadTruncated.Size != 3028 {
		t.Errorf("the truncated record: %+v", cut)
	}
}

func TestReadLogEdges(t *testing.T) {
	rec := `{"version":"1.0","timestamp":"2024-05-01T12:00:00.000Z","requestContext":{"requestId":"r1","functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST","condition":"Failure","approximateInvokeCount":1},"requestPayload":{"a":1},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorType":"E"}}`
	line := `{"time":"t","level":"INFO","msg":"execution record","record":` + rec + `}`
	emu := "26 Nov 2026 22:42:04,141 [INFO] (rapid) INVOKE RTDONE(status: success)"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"CRLF line ends", "START\r\n" + line + "\r\n", []string{"line 2 r1 Failure"}},
		{"no end of line at the end", line, []string{"line 1 r1 Failure"}},
		{"a piece missing: unreadable, and the next line still read", line[:100] + "\n" + emu + "\n" + line + "\n", []string{"line 1 unreadable", "line 3 r1 Failure"}},
		{"two pieces and an END line between", line[:150] + "\nEND RequestId: r0\n" + line[150:] + "\n", []string{"line 1 r1 Failure"}},
		{"a JSON array of messages", "[\n  " + quote(line) + ",\n  \"START\"\n]\n", []string{"[0] r1 Failure"}},
		{"a record alone on a line", rec + "\n", []string{"line 1 r1 Failure"}},
		{"a log line that only mentions records", `{"msg":"record not delivered","requestPayload":"?"}` + "\n", nil},
		{"an object with record fields that is not one", `{"requestContext":{"requestId":"x"},"requestPayload":{}}` + "\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := readAll(t, tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
