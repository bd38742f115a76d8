package replay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

// fakeInvoker answers by the event: an event holding "fail" makes the
// function fail, "throttle" is throttled once, "gone" is refused for good.
type fakeInvoker struct {
	mu       sync.Mutex
	calls    []awsdest.Invocation
	throttle map[string]bool
	inFlight int
	most     int // the most invocations at once
}

func (f *fakeInvoker) Invoke(ctx context.Context, in awsdest.Invocation) (awsdest.InvokeResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.inFlight++
	f.most = max(f.most, f.inFlight)
	ev := string(in.Payload)
	first := !f.throttle[ev]
	if f.throttle == nil {
		f.throttle = map[string]bool{}
	}
	f.throttle[ev] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	switch {
	case strings.Contains(ev, "throttle") && first:
		return awsdest.InvokeResult{}, &awsdest.APIError{Operation: "Invoke", StatusCode: 429, Code: "TooManyRequestsException"}
	case strings.Contains(ev, "private"):
		return awsdest.InvokeResult{}, &awsdest.APIError{Operation: "Invoke", StatusCode: 403, Code: "AccessDeniedException", Message: "not authorized to perform: lambda:InvokeFunction"}
	case strings.Contains(ev, "gone"):
		return awsdest.InvokeResult{}, &awsdest.APIError{Operation: "Invoke", StatusCode: 404, Code: "ResourceNotFoundException", Message: "Function not found"}
	case strings.Contains(ev, "fail"):
		return awsdest.InvokeResult{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorType":"OrderError","errorMessage":"still broken"}`)}, nil
	}
	return awsdest.InvokeResult{StatusCode: 202}, nil
}

func (f *fakeInvoker) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, string(c.Payload))
	}
	return out
}

// memSource gives its batches and keeps what it is told to settle.
type memSource struct {
	batches []Batch
	settled [][]bool
	closed  bool
}

func (m *memSource) Name() string { return "mem" }

func (m *memSource) Next(context.Context) (Batch, error) {
	if len(m.batches) == 0 {
		return Batch{}, io.EOF
	}
	b := m.batches[0]
	m.batches = m.batches[1:]
	return b, nil
}

func (m *memSource) Settle(_ context.Context, _ Batch, done []bool) (int, []error) {
	m.settled = append(m.settled, done)
	n := 0
	for _, d := range done {
		if d {
			n++
		}
	}
	return n, nil
}

func (m *memSource) Close(context.Context) error { m.closed = true; return nil }

// withEvent is a failure record of request id whose event is ev.
func withEvent(id, ev string) record.Record {
	r := rec(id, "Failure", "2024-05-01T12:00:00.000Z", `{"errorType":"OrderError"}`)
	r.RequestPayload = json.RawMessage(ev)
	return r
}

func fastRetry() retry.Policy {
	return retry.Policy{MaxAttempts: 3, Base: time.Millisecond, Cap: time.Millisecond}
}

// Each unit (a message) is settled as done only when all its records
// were re-driven successfully, here or as the duplicate of one that was.
func TestRunSettlesUnits(t *testing.T) {
	src := &memSource{batches: []Batch{{Units: 6, Found: []Found{
		{Where: "m0", Unit: 0, Record: withEvent("a", `{"n":"ok"}`)},
		{Where: "m1", Unit: 1, Record: withEvent("b", `{"n":"fail"}`)},
		{Where: "m2", Unit: 2, Record: withEvent("a", `{"n":"ok"}`)}, // a duplicate of m0
		{Where: "m3", Unit: 3, Record: func() record.Record {
			r := withEvent("c", `{"password":"[REDACTED]"}`)
			return r
		}()},
		{Where: "m4", Unit: 4, Err: errors.New("the message holds no execution record")},
		{Where: "m5", Unit: 5, Record: withEvent("d", `{"n":"throttle"}`)},
		{Where: "m5", Unit: 5, Record: rec("e", "Success", "2024-05-01T12:00:00.000Z", `{}`)}, // not selected: m5 stays
	}}, {Units: 2, Found: []Found{
		{Where: "m6", Unit: 0, Record: withEvent("a", `{"n":"ok"}`)},   // re-driven in the first batch
		{Where: "m7", Unit: 1, Record: withEvent("b", `{"n":"fail"}`)}, // whose re-drive failed
	}}}}
	inv := &fakeInvoker{}
	r := &Runner{Filter: Filter{Condition: "Failure"}, Target: Target{Type: "Event"}, Concurrency: 2, Invoker: inv, Retry: fastRetry()}
	s, err := r.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]bool{{true, false, true, false, false, false}, {true, false}}; !slices.EqualFunc(src.settled, want, slices.Equal) {
		t.Errorf("settled %v, want %v", src.settled, want)
	}
	if got := inv.events(); len(got) != 4 || !slices.Contains(got, `{"n":"ok"}`) || !slices.Contains(got, `{"n":"fail"}`) {
		t.Errorf("events %q: want ok, fail, throttle twice", got)
	}
	if s.Read != 9 || s.Selected != 8 || s.Redriven != 3 || s.Succeeded != 2 || s.FailedAgain != 1 || s.Skipped != 5 || s.Deleted != 3 || !src.closed {
		t.Errorf("summary %+v", s)
	}
	want := map[string]int{KindDuplicate: 3, KindRedacted: 1, KindUnreadable: 1}
	if !equalCounts(s.SkippedReasons, want) {
		t.Errorf("skipped %v, want %v", s.SkippedReasons, want)
	}
	for _, o := range s.Records {
		switch o.Where {
		case "m1":
			if o.Outcome != OutcomeFailedAgain || o.Detail != "function arn:aws:lambda:eu-west-1:123456789012:function:orders:live failed again (Unhandled): OrderError: still broken" || o.Attempts != 1 {
				t.Errorf("the failing function was retried or not named: %+v", o)
			}
		case "m5":
			if o.Outcome != OutcomeSucceeded || o.Attempts != 2 {
				t.Errorf("the throttled call: %+v", o)
			}
		}
	}
	if !s.Failed() {
		t.Error("a run with a failure did not fail")
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunDryRun(t *testing.T) {
	src := &memSource{batches: []Batch{{Units: 2, Found: []Found{
		{Where: "m0", Unit: 0, Record: withEvent("a", `{"n":1}`)},
		{Where: "m1", Unit: 1, Record: withEvent("b", `{"n":2}`)},
	}}}}
	inv := &fakeInvoker{}
	r := &Runner{Target: Target{Function: "other", Type: "RequestResponse"}, DryRun: true, Invoker: inv}
	s, err := r.Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.events()) != 0 || slices.Contains(src.settled[0], true) {
		t.Errorf("a dry run invoked %q or settled %v", inv.events(), src.settled)
	}
	if s.WouldRedrive != 2 || s.Redriven != 0 || s.Failed() || s.Records[0].Function != "other" || s.Records[0].Outcome != OutcomeWouldRedrive {
		t.Errorf("summary %+v", s)
	}
}

func TestRunRetries(t *testing.T) {
	tests := []struct {
		event        string
		wantOutcome  string
		wantAttempts int
	}{
		{`{"n":"ok"}`, OutcomeSucceeded, 1},
		{`{"n":"throttle"}`, OutcomeSucceeded, 2},
		{`{"n":"gone"}`, OutcomeFailedAgain, 1}, // permanent: not retried
		{`{"n":"fail"}`, OutcomeFailedAgain, 1}, // the function failed: not invoked again
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			src := &memSource{batches: []Batch{{Found: []Found{{Where: "line 1", Record: withEvent("a", tt.event)}}}}}
			s, err := (&Runner{Target: Target{Type: "Event"}, Invoker: &fakeInvoker{}, Retry: fastRetry()}).Run(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			if o := s.Records[0]; o.Outcome != tt.wantOutcome || o.Attempts != tt.wantAttempts {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// A re-drive refused for want of permission stops the run: the others
// would be refused too, and are not tried.
func TestRunStopsWhenDenied(t *testing.T) {
	src := &memSource{batches: []Batch{{Units: 3, Found: []Found{
		{Where: "m0", Unit: 0, Record: withEvent("a", `{"n":"private"}`)},
		{Where: "m1", Unit: 1, Record: withEvent("b", `{"n":"ok"}`)},
		{Where: "m2", Unit: 2, Record: withEvent("c", `{"n":"ok"}`)},
	}}, {Units: 1, Found: []Found{{Where: "m3", Unit: 0, Record: withEvent("d", `{"n":"ok"}`)}}}}}
	inv := &fakeInvoker{}
	s, err := (&Runner{Target: Target{Type: "Event"}, Invoker: inv}).Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.events()) != 1 || len(src.settled) != 1 || slices.Contains(src.settled[0], true) {
		t.Errorf("invoked %q, settled %v", inv.events(), src.settled)
	}
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "stopped: ") || !strings.Contains(s.Errors[0], "lambda:InvokeFunction") {
		t.Errorf("errors %q", s.Errors)
	}
	if s.FailedAgain != 3 || !strings.HasPrefix(s.Records[1].Detail, "not invoked: stopped: ") || !src.closed {
		t.Errorf("summary %+v", s)
	}
}

// No more re-drives run at once than Concurrency.
func TestRunConcurrency(t *testing.T) {
	var found []Found
	for i := range 20 {
		found = append(found, Found{Where: "line", Record: withEvent(string(rune('a'+i)), `{"n":1}`)})
	}
	inv := &fakeInvoker{}
	s, err := (&Runner{Target: Target{Type: "Event"}, Concurrency: 3, Invoker: inv}).Run(context.Background(), &memSource{batches: []Batch{{Found: found}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Succeeded != 20 || inv.most > 3 || inv.most < 1 {
		t.Errorf("%d succeeded, %d at most at once", s.Succeeded, inv.most)
	}
}

// A record left out for its size is re-driven from the overflow bucket's copy.
func TestRunOverflowCopy(t *testing.T) {
	shrunk := withEvent("a", `{"destinationsOmitted":true,"reason":"too large","size":9,"location":"s3://overflow/k"}`)
	lost := withEvent("b", `{"destinationsOmitted":true,"reason":"too large","size":9,"location":"s3://overflow/missing"}`)
	whole, _ := json.Marshal(withEvent("a", `{"big":"event"}`))
	fetch := func(_ context.Context, loc string) ([]byte, error) {
		if loc == "s3://overflow/k" {
			return whole, nil
		}
		return nil, errors.New("NoSuchKey")
	}
	inv := &fakeInvoker{}
	src := &memSource{batches: []Batch{{Found: []Found{{Where: "line 1", Record: shrunk}, {Where: "line 2", Record: lost}}}}}
	s, err := (&Runner{Target: Target{Type: "Event"}, Invoker: inv, Fetch: fetch}).Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.events(); !slices.Equal(got, []string{`{"big":"event"}`}) {
		t.Errorf("events %q", got)
	}
	if o := s.Records[1]; o.Reason != KindUnreadable || !strings.Contains(o.Detail, "s3://overflow/missing") || !strings.Contains(o.Detail, "NoSuchKey") {
		t.Errorf("the copy that cannot be read: %+v", o)
	}
	if o := s.Records[0]; o.Where != "line 1 (whole at s3://overflow/k)" {
		t.Errorf("where %q", o.Where)
	}
}

// An error before anything was read is the run's error; nothing is left
// half done.
func TestRunSourceError(t *testing.T) {
	src := &failingSource{err: errors.New("queue arn:aws:sqs:…: NonExistentQueue")}
	if _, err := (&Runner{Invoker: &fakeInvoker{}}).Run(context.Background(), src); err == nil || !strings.Contains(err.Error(), "NonExistentQueue") {
		t.Errorf("error %v", err)
	}
}

type failingSource struct {
	memSource
	err error
}

func (f *failingSource) Next(context.Context) (Batch, error) { return Batch{}, f.err }

// The emulator's log of the layer: each failure re-driven once with its
// event, the changed ones skipped and named.
func TestRunEmulatorLog(t *testing.T) {
	src, closeLog, err := OpenLog("log:emulator.log", filepath.Join("testdata", "emulator.log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	inv := &fakeInvoker{}
	s, err := (&Runner{Filter: Filter{Condition: "Failure"}, Target: Target{Type: "Event"}, Invoker: inv}).Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range s.Records {
		got = append(got, o.Where+" "+o.RequestID+" "+o.Outcome+" "+o.Reason)
	}
	want := []string{
		"line 18 req-fail succeeded ", "line 21 req-fail skipped duplicate",
		"line 28 req-secret skipped redacted", "line 30 req-secret skipped redacted",
		"line 38 req-long succeeded ", "line 42 req-long skipped duplicate",
		"line 54 req-crash succeeded ", "line 56 req-crash skipped duplicate",
		"line 67 req-after succeeded ", "line 70 req-after skipped duplicate", "line 72 req-after skipped duplicate",
		"line 79 req-cut skipped truncated", "line 82 req-cut skipped truncated",
	}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
	for _, c := range inv.calls {
		if c.Function != "arn:aws:lambda:us-east-1:012345678912:function:function" || c.Qualifier != "$LATEST" {
			t.Errorf("invoked %s:%s", c.Function, c.Qualifier)
		}
	}
	if evs := inv.events(); len(evs) != 4 || evs[0] != `{"Success":false,"n":1}` || evs[2] != `{"Crash":true}` {
		t.Errorf("events %q", evs)
	}
}
