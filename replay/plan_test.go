package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// found is a Found at line n.
func found(n int, r record.Record) Found {
	return Found{Where: fmt.Sprint("line ", n), Unit: n, Record: r}
}

// decisions names each decision: "redrive", "not selected", "KIND", or
// "duplicate of N" for a duplicate of the record at index N.
func decisions(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		switch {
		case d.Action == Redrive:
			out = append(out, "redrive")
		case d.Action == NotSelected:
			out = append(out, "not selected")
		case d.Reason.Kind == KindDuplicate && d.Of >= 0:
			out = append(out, fmt.Sprint("duplicate of ", d.Of))
		default:
			out = append(out, d.Reason.Kind)
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	const t0, t1 = "2024-05-01T12:00:00.000Z", "2024-05-01T12:01:00.000Z"
	fail := func(id, ts string) record.Record { return rec(id, "Failure", ts, `{"errorType":"E"}`) }
	success := func(id, ts string) record.Record { return rec(id, "Success", ts, `{"ok":true}`) }
	truncated := func(id string) record.Record {
		r := fail(id, t0)
		r.RequestPayloadTruncated = &record.Truncation{Size: 9000, Kept: 100}
		return r
	}
	redactedRec := func(id string) record.Record {
		r := fail(id, t0)
		r.RequestPayload = json.RawMessage(`{"password":"[REDACTED]"}`)
		return r
	}
	failures := Filter{Condition: "Failure"}
	tests := []struct {
		name    string
		batch   []Found
		filter  Filter
		history func(h *history)
		want    []string
	}{
		{"failures by default, successes left out", []Found{found(1, fail("a", t0)), found(2, success("b", t0))}, failures, nil,
			[]string{"redrive", "not selected"}},
		{"copies of one record: the first re-driven", []Found{found(1, fail("a", t0)), found(2, fail("a", t0)), found(3, fail("b", t0))}, failures, nil,
			[]string{"redrive", "duplicate of 0", "redrive"}},
		{"a changed copy before a whole one: the whole one re-driven", []Found{found(1, truncated("a")), found(2, fail("a", t0))}, failures, nil,
			[]string{"duplicate of 1", "redrive"}},
		{"changed records with no whole copy: each skipped", []Found{found(1, truncated("a")), found(2, redactedRec("b")), found(3, redactedRec("b"))}, failures, nil,
			[]string{KindTruncated, KindRedacted, KindRedacted}},
		{"a failure, then a later success of its request", []Found{found(1, fail("a", t0)), found(2, success("a", t1))}, failures, nil,
			[]string{KindSucceeded, "not selected"}},
		{"a success before a later failure: the failure re-driven", []Found{found(1, success("a", t0)), found(2, fail("a", t1))}, failures, nil,
			[]string{"not selected", "redrive"}},
		{"a success in an earlier batch", []Found{found(1, fail("a", t0))}, failures,
			func(h *history) { h.succeeded["a"] = successAt{t: recordTime(success("a", t1)), where: "message m1"} },
			[]string{KindSucceeded}},
		{"a request re-driven in an earlier batch", []Found{found(1, fail("a", t0)), found(2, truncated("a"))}, failures,
			func(h *history) { h.redriven["a"] = earlier{where: "message m1", ok: true} },
			[]string{KindDuplicate, KindDuplicate}},
		{"unreadable", []Found{{Where: "line 1", Err: errors.New("cut")}}, failures, nil, []string{KindUnreadable}},
		{"a record of a function it cannot invoke", []Found{found(1, func() record.Record {
			r := fail("a", t0)
			r.RequestContext.FunctionARN = "arn:aws:lambda:eu-west-1:1:function:f"
			return r
		}())}, failures, nil, []string{KindBadFunction}},
		{"any condition: one re-drive per request", []Found{found(1, success("a", t0)), found(2, fail("b", t0)), found(3, success("b", t1)), found(4, success("a", t0))}, Filter{}, nil,
			[]string{"redrive", KindSucceeded, "redrive", "duplicate of 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistory()
			if tt.history != nil {
				tt.history(h)
			}
			ds := plan(tt.batch, tt.filter, Target{Type: "Event"}, h)
			if got := decisions(ds); !slices.Equal(got, tt.want) {
				t.Errorf("decisions %q, want %q", got, tt.want)
			}
			for i, d := range ds {
				if d.Action == Skip && d.Reason.Text == "" {
					t.Errorf("record %d skipped without a sentence", i)
				}
				if d.Action == Redrive && string(d.Invocation.Payload) != string(tt.batch[i].Record.RequestPayload) {
					t.Errorf("record %d: event %s, want its requestPayload", i, d.Invocation.Payload)
				}
			}
		})
	}
}
