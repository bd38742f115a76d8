package replay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// rec is a record of request id, condition and time, whose response is
// the error body (or a success body).
func rec(id, condition, timestamp, response string) record.Record {
	var r record.Record
	r.Version, r.Timestamp = "1.0", timestamp
	r.RequestContext = record.RequestContext{RequestID: id, FunctionARN: "arn:aws:lambda:eu-west-1:123456789012:function:orders:live", Condition: condition, ApproximateInvokeCount: 1}
	r.RequestPayload = json.RawMessage(`{"id":"` + id + `"}`)
	r.ResponseContext = record.ResponseContext{StatusCode: 200, ExecutedVersion: "3"}
	r.ResponsePayload = json.RawMessage(response)
	return r
}

func TestFilter(t *testing.T) {
	const t0 = "2024-05-01T12:00:00.000Z"
	failure := rec("r1", "Failure", t0, `{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"}`)
	native := rec("r2", "RetriesExhausted", t0, `{"errorType":"OrderError","errorMessage":"no"}`)
	success := rec("r3", "Success", t0, `{"ok":true}`)
	shrunk := rec("r4", "Failure", t0, `{"destinationsOmitted":true,"reason":"too large","size":300000}`)
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	fn := func(s string) Filter {
		a, err := ParseFunctionARN(s)
		if err != nil {
			t.Fatal(err)
		}
		return Filter{Function: a}
	}
	tests := []struct {
		name   string
		f      Filter
		record record.Record
		want   bool
	}{
		{"no filter", Filter{}, success, true},
		{"failures: ours", Filter{Condition: "Failure"}, failure, true},
		{"failures: native RetriesExhausted", Filter{Condition: "Failure"}, native, true},
		{"failures: not a success", Filter{Condition: "Failure"}, success, false},
		{"successes", Filter{Condition: "Success"}, success, true},
		{"successes: not a failure", Filter{Condition: "Success"}, native, false},
		{"error type exact", Filter{ErrorTypes: []string{"Sandbox.Timedout"}}, failure, true},
		{"error type prefix", Filter{ErrorTypes: []string{"Sandbox.*"}}, failure, true},
		{"error type other", Filter{ErrorTypes: []string{"Runtime.*", "OrderError"}}, failure, false},
		{"error type of a native record", Filter{ErrorTypes: []string{"Order*"}}, native, true},
		{"error type of a success", Filter{ErrorTypes: []string{"*"}}, success, false},
		{"error type of a response left out: kept, to be named", Filter{ErrorTypes: []string{"OrderError"}}, shrunk, true},
		{"since, at the bound", Filter{Since: at("2024-05-01T12:00:00Z")}, failure, true},
		{"since, before", Filter{Since: at("2024-05-01T12:00:01Z")}, failure, false},
		{"until excludes its bound", Filter{Until: at("2024-05-01T12:00:00Z")}, failure, false},
		{"until, after", Filter{Until: at("2024-05-01T12:00:01Z")}, failure, true},
		{"no timestamp with a time bound", Filter{Since: at("2000-01-01T00:00:00Z")}, rec("r5", "Failure", "", `{}`), false},
		{"request id", Filter{RequestIDs: map[string]bool{"r1": true}}, failure, true},
		{"another request id", Filter{RequestIDs: map[string]bool{"r9": true}}, failure, false},
		{"function, any qualifier", fn("arn:aws:lambda:eu-west-1:123456789012:function:orders"), failure, true},
		{"function, its qualifier", fn("arn:aws:lambda:eu-west-1:123456789012:function:orders:live"), failure, true},
		{"function, another qualifier", fn("arn:aws:lambda:eu-west-1:123456789012:function:orders:3"), failure, false},
		{"another function", fn("arn:aws:lambda:eu-west-1:123456789012:function:order"), failure, false},
		{"another account", fn("arn:aws:lambda:eu-west-1:210987654321:function:orders"), failure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.matchContext(tt.record) && tt.f.matchError(tt.record); got != tt.want {
				t.Errorf("selected %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	now := time.Date(2024, 5, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		parse   func() (any, error)
		want    any
		wantErr string
	}{
		{"condition", func() (any, error) { return ParseCondition("failure") }, "Failure", ""},
		{"condition Success", func() (any, error) { return ParseCondition(" Success ") }, "Success", ""},
		{"condition any", func() (any, error) { return ParseCondition("ANY") }, "", ""},
		{"condition unknown", func() (any, error) { return ParseCondition("RetriesExhausted") }, "", "want Failure, Success or any"},
		{"time RFC 3339", func() (any, error) { return ParseTime("--since", "2024-05-01T12:30:00+02:00", now) }, time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC), ""},
		{"time date", func() (any, error) { return ParseTime("--since", "2024-05-01", now) }, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), ""},
		{"time hours ago", func() (any, error) { return ParseTime("--since", "2h", now) }, time.Date(2024, 5, 10, 6, 0, 0, 0, time.UTC), ""},
		{"time days ago", func() (any, error) { return ParseTime("--until", "7d", now) }, time.Date(2024, 5, 3, 8, 0, 0, 0, time.UTC), ""},
		{"time malformed", func() (any, error) { return ParseTime("--until", "yesterday", now) }, time.Time{}, "--until \"yesterday\": want an RFC 3339 time"},
		{"time negative", func() (any, error) { return ParseTime("--since", "-2h", now) }, time.Time{}, "want an RFC 3339 time"},
		{"function ARN malformed", func() (any, error) { return ParseFunctionARN("arn:aws:lambda:eu-west-1:123:function:f") }, nil, "--function-arn: malformed lambda ARN"},
		{"function ARN of a queue", func() (any, error) { return ParseFunctionARN("arn:aws:sqs:eu-west-1:123456789012:q") }, nil, "not a Lambda function ARN"},
		{"list", func() (any, error) { return strings.Join(List(" a, ,b,"), "|"), nil }, "a|b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tm, ok := got.(time.Time); ok {
				if !tm.Equal(tt.want.(time.Time)) {
					t.Errorf("%v, want %v", tm, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}
