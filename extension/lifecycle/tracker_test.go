package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
)

// Steps of a scenario: what one source tells the tracker.

type step func(t *testing.T, tr *Tracker)

var t0 = time.Unix(1000, 0)

func event(id string) step { return eventAt(id, t0, t0.Add(3*time.Second)) }

// live is an event whose deadline is far ahead, for scenarios on the real clock.
func live(id string) step { return eventAt(id, time.Now(), time.Now().Add(time.Hour)) }

func eventAt(id string, at, deadline time.Time) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Event(proxy.Event{RequestID: id, At: at, Deadline: deadline, Body: payload(`{"in":"` + id + `"}`)})
	}
}

func respond(id, body string) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: id, Status: 202, Body: payload(body), At: t0.Add(time.Second)})
	}
}

func postError(id, errorType, body string) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Result(proxy.Result{Call: proxy.CallError, RequestID: id, Status: 202, Failed: true, ErrorType: errorType, Body: payload(body)})
	}
}

func refuse(id string, status int, answer string) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: id, Status: status, Answer: []byte(answer), Body: payload(`"big"`)})
	}
}

func postInitError(errorType, body string) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Result(proxy.Result{Call: proxy.CallInitError, Status: 202, Failed: true, ErrorType: errorType, Body: payload(body)})
	}
}

func invoked(id string) step {
	return func(_ *testing.T, tr *Tracker) {
		tr.Invoked(Known{RequestID: id, Received: t0, Deadline: t0.Add(3 * time.Second), InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn"})
	}
}

func polled(_ *testing.T, tr *Tracker)            { tr.Polled() }
func exited(_ *testing.T, tr *Tracker)            { tr.RuntimeExited() }
func connectionsClosed(_ *testing.T, tr *Tracker) { tr.RuntimeGone() }
func shutdown(reason string) step                 { return func(_ *testing.T, tr *Tracker) { tr.Shutdown(reason) } }
func platform(id, status, errorType string) step {
	return func(_ *testing.T, tr *Tracker) { tr.PlatformDone(id, status, errorType) }
}
func platformStart(id string) step { return func(_ *testing.T, tr *Tracker) { tr.PlatformStart(id) } }
func at(now time.Time) step {
	return func(_ *testing.T, tr *Tracker) { tr.now = func() time.Time { return now } }
}
func payload(s string) invocation.Payload {
	return invocation.Payload{Bytes: []byte(s), Size: int64(len(s))}
}
func waitSettled(t *testing.T, tr *Tracker) { waitFor(t, tr) }

func waitFor(t *testing.T, tr *Tracker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if !tr.WaitSettled(ctx) {
		t.Fatal("nothing settled")
	}
}

// want is one record the scenario must give.
type want struct {
	id        string
	outcome   invocation.Outcome
	errorType string
	response  string // a part of the response payload
	unknownID bool
}

func TestTrackerScenarios(t *testing.T) {
	past := time.Now().Add(-10 * time.Second)
	tests := []struct {
		name    string
		managed bool
		steps   []step
		want    []want
	}{
		{"success", false, []step{polled, event("a"), respond("a", `{"ok":1}`)},
			[]want{{id: "a", outcome: invocation.Success, response: `{"ok":1}`}}},
		{"a result told before its event", false, []step{polled, respond("a", `"A"`), event("a")},
			[]want{{id: "a", outcome: invocation.Success, response: `"A"`}}},
		{"handler error", false, []step{polled, event("a"), postError("a", "Function<E>", `{"errorType":"E"}`)},
			[]want{{id: "a", outcome: invocation.Error, errorType: "Function<E>", response: `{"errorType":"E"}`}}},
		{"only the first result counts", false, []step{polled, event("a"), respond("a", `1`), postError("a", "E", `2`), respond("a", `3`)},
			[]want{{id: "a", outcome: invocation.Success, response: `1`}}},
		{"a response over 6 MB refused", false, []step{polled, event("a"), refuse("a", 413, `{"errorType":"RequestEntityTooLarge"}`)},
			[]want{{id: "a", outcome: invocation.Error, errorType: "Function.ResponseSizeTooLarge", response: "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}}},
		{"a refusal that leaves the invocation running", false, []step{polled, event("a"), refuse("a", 400, `{"errorType":"InvalidRequestID"}`), respond("a", `"ok"`)},
			[]want{{id: "a", outcome: invocation.Success, response: `"ok"`}}},
		{"telemetry error does not settle before the proxy's result", false, []step{polled, event("a"), platform("a", "error", "E"), postError("a", "E", `{"body":1}`), platform("a", "error", "E")},
			[]want{{id: "a", outcome: invocation.Error, errorType: "E", response: `{"body":1}`}}},
		{"telemetry timeout, then a late result", false, []step{polled, event("a"), platform("a", "timeout", ""), respond("a", `"late"`)},
			[]want{{id: "a", outcome: invocation.Timeout, errorType: "Sandbox.Timedout", response: "RequestId: a Error: Task timed out after 3.00 seconds"}}},
		{"crash told by SHUTDOWN", false, []step{polled, event("a"), exited, shutdown("ReleaseFail")},
			[]want{{id: "a", outcome: invocation.Crash, errorType: "Runtime.ExitError", response: "RequestId: a Error: Runtime exited without providing a reason"}}},
		{"out of memory told by telemetry", false, []step{polled, event("a"), exited, platform("a", "failure", "Runtime.OutOfMemory"), shutdown("failure")},
			[]want{{id: "a", outcome: invocation.Crash, errorType: "Runtime.OutOfMemory", response: "signal: killed"}}},
		{"runtime stopped at the deadline", false, []step{polled, event("a"), at(t0.Add(3 * time.Second)), exited},
			[]want{{id: "a", outcome: invocation.Timeout, errorType: "Sandbox.Timedout"}}},
		{"timeout told by SHUTDOWN", false, []step{polled, event("a"), shutdown("Timeout")},
			[]want{{id: "a", outcome: invocation.Timeout, errorType: "Sandbox.Timedout", response: "Task timed out after 3.00 seconds"}}},
		{"unknown shutdown reason during an invocation", false, []step{polled, event("a"), shutdown("spindown")},
			[]want{{id: "a", outcome: invocation.Crash, errorType: "Runtime.ExitError"}}},
		{"closed connections tell nothing while the process is watched", false, []step{watched, polled, event("a"), connectionsClosed, respond("a", `"ok"`)},
			[]want{{id: "a", outcome: invocation.Success, response: `"ok"`}}},
		{"closed connections tell a crash where no process is watched", false, []step{polled, event("a"), connectionsClosed, shutdown("ReleaseFail")},
			[]want{{id: "a", outcome: invocation.Crash, errorType: "Runtime.ExitError"}}},
		{"INVOKE and the proxy's event in any order", false, []step{polled, event("a"), invoked("a"), respond("a", `"ok"`)},
			[]want{{id: "a", outcome: invocation.Success}}},
		{"INVOKE for a runtime not behind the proxy", false, []step{invoked("a"), shutdown("spindown")}, nil},
		{"init error posted", false, []step{postInitError("Runtime.ImportModuleError", `{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module"}`), exited, shutdown("spindown")},
			[]want{{id: "", unknownID: true, outcome: invocation.Crash, errorType: "Runtime.ImportModuleError", response: "Cannot find module"}}},
		{"init exit not yet told at SHUTDOWN", false, []step{ended, shutdown("spindown")},
			[]want{{id: "", unknownID: true, outcome: invocation.Crash, errorType: "Runtime.ExitError"}}},
		{"a runtime that polled and ended is no init failure", false, []step{ended, polled, shutdown("spindown")}, nil},
		{"init exit with nothing posted", false, []step{exited, shutdown("spindown")},
			[]want{{id: "", unknownID: true, outcome: invocation.Crash, errorType: "Runtime.ExitError", response: `"errorMessage":"Error: Runtime exited without providing a reason"`}}},
		{"init failure with the request id from the Telemetry API", false, []step{postInitError("Runtime.Unknown", `{"errorMessage":"x"}`), platformStart("r-1"), shutdown("failure")},
			[]want{{id: "r-1", outcome: invocation.Crash, errorType: "Runtime.Unknown", response: `"x"`}}},
		{"init failure with the request id from INVOKE", false, []step{exited, invoked("r-2"), shutdown("failure")},
			[]want{{id: "r-2", outcome: invocation.Crash, errorType: "Runtime.ExitError", response: "RequestId: r-2 Error: Runtime exited"}}},
		{"a quiet shutdown records nothing", false, []step{polled, shutdown("spindown")}, nil},
		{"managed: invocations settle in any order", true, []step{polled, live("a"), live("b"), live("c"), respond("c", `"C"`), postError("a", "E", `"A"`), respond("b", `"B"`)},
			[]want{{id: "c", outcome: invocation.Success}, {id: "a", outcome: invocation.Error}, {id: "b", outcome: invocation.Success}}},
		{"managed: timed out at the deadline, its late result dropped", true, []step{polled, eventAt("a", past, past.Add(time.Second)), waitSettled, respond("a", `"late"`), refuse("a", 410, `{"errorType":"InvokeTimeout"}`), live("b"), respond("b", `"B"`)},
			[]want{{id: "a", outcome: invocation.Timeout, errorType: "Sandbox.Timedout", response: `"errorMessage":"Task timed out after 1.00 seconds"`}, {id: "b", outcome: invocation.Success}}},
		{"managed: a late result refused as timed out settles it", true, []step{polled, live("a"), refuse("a", 410, `{"errorMessage":"Invoke timeout","errorType":"InvokeTimeout"}`)},
			[]want{{id: "a", outcome: invocation.Timeout, errorType: "Sandbox.Timedout"}}},
		{"managed: the runtime's exit ends every invocation", true, []step{polled, live("a"), live("b"), respond("b", `"B"`), exited},
			[]want{{id: "b", outcome: invocation.Success}, {id: "a", outcome: invocation.Crash, errorType: "Runtime.ExitError"}}},
		{"managed: SHUTDOWN settles what is left", true, []step{polled, live("a"), shutdown("spindown")},
			[]want{{id: "a", outcome: invocation.Crash}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerOptions{Managed: tt.managed, Log: slog.New(slog.DiscardHandler)})
			tr.now = func() time.Time { return t0.Add(time.Second) }
			if tt.managed {
				tr.now = time.Now
			}
			for _, s := range tt.steps {
				s(t, tr)
			}
			got := tr.Take()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d: %s", len(got), len(tt.want), describe(got))
			}
			for i, w := range tt.want {
				g := got[i]
				resp := string(g.Response.Join())
				if g.RequestID != w.id || g.Outcome != w.outcome || (w.errorType != "" && g.ErrorType != w.errorType) ||
					!strings.Contains(resp, w.response) || g.RequestIDUnknown != w.unknownID {
					t.Errorf("record %d = %s, want %+v", i, describe(got[i:i+1]), w)
				}
			}
			if again := tr.Take(); len(again) != 0 {
				t.Errorf("taken twice: %s", describe(again))
			}
		})
	}
}

// watched makes the tracker's runtime process watched.
func watched(_ *testing.T, tr *Tracker) { tr.runtime = fakeRuntime{} }

type fakeRuntime struct{}

func (fakeRuntime) Polled()       {}
func (fakeRuntime) Watched() bool { return true }
func (fakeRuntime) Ended() bool   { return false }

// endedRuntime is a runtime that ended before its watch told it.
type endedRuntime struct{}

func (endedRuntime) Polled()       {}
func (endedRuntime) Watched() bool { return false }
func (endedRuntime) Ended() bool   { return true }

func ended(_ *testing.T, tr *Tracker) { tr.runtime = endedRuntime{} }

func describe(invs []invocation.Invocation) string {
	var b strings.Builder
	for _, inv := range invs {
		fmt.Fprintf(&b, "[%q %v %q %s unknownID=%v] ", inv.RequestID, inv.Outcome, inv.ErrorType, inv.Response.Join(), inv.RequestIDUnknown)
	}
	return b.String()
}

func TestTrackerRecordsWhatTheSourcesSaw(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	tr.Polled()
	tr.Invoked(Known{RequestID: "a", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn:live", TraceID: "Root=1"})
	tr.Event(proxy.Event{RequestID: "a", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn:live", TraceID: "Root=1",
		ClientContext: "cc", CognitoIdentity: "ci", Body: payload(`{"x":1}`), At: t0, Deadline: t0.Add(time.Second)})
	tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: "a", Status: 202, Body: payload(`"r"`), At: t0.Add(time.Millisecond)})
	tr.Event(proxy.Event{RequestID: "b"})
	tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: "b", Status: 202})
	got := tr.Take()
	if len(got) != 2 {
		t.Fatalf("got %s", describe(got))
	}
	a := got[0]
	if a.InvokedFunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:fn:live" || a.TraceID != "Root=1" || a.ClientContext != "cc" ||
		a.CognitoIdentity != "ci" || string(a.Request.Bytes) != `{"x":1}` || !a.Start.Equal(t0) || !a.End.Equal(t0.Add(time.Millisecond)) ||
		!a.Deadline.Equal(t0.Add(time.Second)) || a.Attempt != 1 || !a.ColdStart {
		t.Errorf("a = %+v", a)
	}
	if got[1].ColdStart {
		t.Error("only the environment's first invocation is a cold start")
	}
}

func TestAttemptsCountRetriesOfARequest(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	for i := 1; i <= 3; i++ {
		tr.Event(proxy.Event{RequestID: "r"})
		tr.Result(proxy.Result{Call: proxy.CallError, RequestID: "r", Status: 202, Failed: true})
		got := tr.Take()
		if len(got) != 1 || got[0].Attempt != i {
			t.Fatalf("attempt %d: %s", i, describe(got))
		}
	}
	var r recent
	r.seen = map[string]recentID{}
	for i := range 10 * len(r.ring) {
		r.attempt(fmt.Sprint("id-", i))
	}
	if len(r.seen) > len(r.ring) {
		t.Errorf("remembers %d ids, bound is %d", len(r.seen), len(r.ring))
	}
}

func TestTrackerForgetsRecordedBodies(t *testing.T) {
	tr := NewTracker(TrackerOptions{Managed: true})
	for i := range 100 {
		id := fmt.Sprint("r", i)
		tr.Event(proxy.Event{RequestID: id, Deadline: time.Now().Add(time.Hour)})
		tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: id, Status: 202})
	}
	tr.Take()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.entries) != 0 || len(tr.settled) != 0 {
		t.Errorf("%d entries and %d settled kept after Take", len(tr.entries), len(tr.settled))
	}
}

func TestEarlyResultsAreBounded(t *testing.T) {
	tr := NewTracker(TrackerOptions{Log: slog.New(slog.DiscardHandler)})
	for i := range 10 * earlyLimit {
		tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: fmt.Sprint("stray-", i), Status: 202})
	}
	tr.mu.Lock()
	n := len(tr.early)
	tr.mu.Unlock()
	if n > earlyLimit {
		t.Errorf("%d early results kept, bound is %d", n, earlyLimit)
	}
	tr.Shutdown("spindown")
	if got := tr.Take(); len(got) != 0 {
		t.Errorf("stray results made records: %s", describe(got))
	}
}

func TestAwait(t *testing.T) {
	tests := []struct {
		name string
		act  func(tr *Tracker)
		want Wait
	}{
		{"result", func(tr *Tracker) { tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: "x", Status: 202}) }, Done},
		{"runtime exit", func(tr *Tracker) { tr.RuntimeExited() }, Gone},
		{"another invocation's result", func(tr *Tracker) { tr.Result(proxy.Result{Call: proxy.CallResponse, RequestID: "y", Status: 202}) }, Deadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerOptions{Log: slog.New(slog.DiscardHandler)})
			tr.Polled()
			tr.Event(proxy.Event{RequestID: "x"})
			tr.Event(proxy.Event{RequestID: "y"})
			go tt.act(tr)
			if got := tr.Await(t.Context(), "x", time.Now().Add(300*time.Millisecond)); got != tt.want {
				t.Errorf("Await = %v, want %v", got, tt.want)
			}
		})
	}
}
