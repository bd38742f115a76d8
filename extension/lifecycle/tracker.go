package lifecycle

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
)

// Tracker joins what the proxy sees of each request id (event, result) and
// lets the loop wait for an invocation's outcome. It implements proxy.Observer.
type Tracker struct {
	mu       sync.Mutex
	polled   bool // the runtime goes through the proxy
	platform bool // the Telemetry API reports runtimeDone
	entries  map[string]*entry
	order    []string // request ids in arrival order
	gone     uint64   // counts RuntimeGone calls
	changed  chan struct{}
	attempts attempts
	now      func() time.Time
}

type entry struct {
	known    *Known // what the Extensions API's INVOKE said
	event    *proxy.Event
	result   *proxy.Result
	platform *platformDone // from the Telemetry API, where it exists
}

type platformDone struct {
	status, errorType string
}

// finished reports whether the invocation's outcome is known.
func (e *entry) finished() bool { return e.result != nil || e.platform != nil }

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{
		entries:  map[string]*entry{},
		changed:  make(chan struct{}),
		attempts: attempts{seen: map[string]int{}},
		now:      time.Now,
	}
}

// notify wakes every waiter; callers hold mu.
func (t *Tracker) notify() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Tracker) get(id string) *entry {
	e := t.entries[id]
	if e == nil {
		e = &entry{}
		t.entries[id] = e
		t.order = append(t.order, id)
	}
	return e
}

// Polled implements proxy.Observer.
func (t *Tracker) Polled() {
	t.mu.Lock()
	t.polled = true
	t.mu.Unlock()
}

// Event implements proxy.Observer.
func (t *Tracker) Event(ev proxy.Event) {
	if ev.RequestID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(ev.RequestID).event = &ev
	t.notify()
}

// Result implements proxy.Observer. Only results the Runtime API accepted
// for an invocation count.
func (t *Tracker) Result(r proxy.Result) {
	if r.Status/100 != 2 || (r.Call != proxy.CallResponse && r.Call != proxy.CallError) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.get(r.RequestID)
	if e.result == nil { // the first accepted result is the one Lambda kept
		e.result = &r
	}
	t.notify()
}

// RuntimeGone implements proxy.Observer.
func (t *Tracker) RuntimeGone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gone++
	t.notify()
}

// RuntimeDone is told by the Telemetry API how an invocation's runtime
// phase ended. A success is left to the proxy, which has its body; a
// timeout or failure with no result settles the invocation.
func (t *Tracker) RuntimeDone(requestID, status, errorType string) {
	if requestID == "" || status == "success" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(requestID).platform = &platformDone{status: status, errorType: errorType}
	t.notify()
}

// UseTelemetry says the Telemetry API is subscribed: at SHUTDOWN, its word
// on unfinished invocations is worth a short wait.
func (t *Tracker) UseTelemetry() {
	t.mu.Lock()
	t.platform = true
	t.mu.Unlock()
}

// AwaitPlatform waits, when the Telemetry API is in use, until every
// invocation has an outcome or ctx ends.
func (t *Tracker) AwaitPlatform(ctx context.Context) {
	for {
		t.mu.Lock()
		waiting := false
		for _, e := range t.entries {
			waiting = waiting || !e.finished()
		}
		use, ch := t.platform, t.changed
		t.mu.Unlock()
		if !use || !waiting {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Proxied reports whether the runtime has ever called the proxy.
func (t *Tracker) Proxied() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.polled
}

// Wait is how waiting for an outcome ended.
type Wait int

const (
	Done      Wait = iota // the runtime posted a result
	Gone                  // the runtime's connection closed with no result
	Deadline              // the deadline passed with no result
	Cancelled             // ctx ended
)

// Await waits until the result for id is in, the runtime goes away, or the
// deadline passes.
func (t *Tracker) Await(ctx context.Context, id string, deadline time.Time) Wait {
	t.mu.Lock()
	gone := t.gone
	t.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		t.mu.Lock()
		e := t.entries[id]
		done := e != nil && e.finished()
		lost := t.gone != gone
		ch := t.changed
		t.mu.Unlock()
		switch {
		case done:
			return Done
		case lost:
			return Gone
		}
		select {
		case <-ch:
		case <-timer.C:
			return Deadline
		case <-ctx.Done():
			return Cancelled
		}
	}
}

// Known is what the Extensions API told of an invocation, used where the
// proxy missed something: Invoked records it.
type Known struct {
	RequestID          string
	InvokedFunctionARN string
	Deadline           time.Time
	TraceID            string
	Received           time.Time
}

// Invoked records what the INVOKE event said of an invocation.
func (t *Tracker) Invoked(k Known) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(k.RequestID).known = &k
}

// TakeCompleted removes and returns every invocation whose outcome is
// known, oldest first.
func (t *Tracker) TakeCompleted(timeout time.Duration) []invocation.Invocation {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []invocation.Invocation
	t.take(func(id string, e *entry) bool {
		if !e.finished() {
			return false
		}
		if e.result == nil && e.event == nil && e.known == nil {
			return true // a platform event for an invocation nobody saw start
		}
		inv := t.build(id, e)
		if e.result == nil {
			inv.End = t.now()
			inv.Outcome, inv.ErrorType, inv.Response = platformOutcome(*e.platform, id, inv.Start, inv.Deadline, timeout)
		}
		out = append(out, inv)
		return true
	})
	return out
}

// platformOutcome turns a runtimeDone status with no result into the
// failure Lambda reports for it.
func platformOutcome(p platformDone, requestID string, start, deadline time.Time, timeout time.Duration) (invocation.Outcome, string, invocation.Payload) {
	if p.status == "timeout" {
		return Unfinished("timeout", requestID, start, deadline, timeout)
	}
	outcome, errorType, body := Unfinished("failure", requestID, start, deadline, timeout)
	if p.errorType != "" && p.errorType != errorType {
		what := "Runtime exited without providing a reason"
		if strings.Contains(p.errorType, "OutOfMemory") {
			what = "Runtime exited with error: signal: killed"
		}
		errorType, body = p.errorType, errorBody(p.errorType, requestID, what)
	}
	return outcome, errorType, body
}

// TakeUnfinished removes every invocation still waiting for a result and
// returns it as failed by the shutdown reason: timeout, or a crash for any
// other reason (compared case-insensitively, as the emulator says "Timeout").
func (t *Tracker) TakeUnfinished(reason string, timeout time.Duration) []invocation.Invocation {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var out []invocation.Invocation
	t.take(func(id string, e *entry) bool {
		if e.finished() {
			return false
		}
		if e.event == nil && e.known == nil {
			return true // neither side saw it start: nothing to report
		}
		inv := t.build(id, e)
		inv.End = now
		inv.Outcome, inv.ErrorType, inv.Response = Unfinished(reason, id, inv.Start, inv.Deadline, timeout)
		out = append(out, inv)
		return true
	})
	return out
}

// take removes the entries keep says to take, preserving order; callers hold mu.
func (t *Tracker) take(f func(id string, e *entry) bool) {
	kept := t.order[:0]
	for _, id := range t.order {
		if e := t.entries[id]; e != nil && f(id, e) {
			delete(t.entries, id)
			continue
		}
		kept = append(kept, id)
	}
	clear(t.order[len(kept):])
	t.order = kept
}

func (t *Tracker) build(id string, e *entry) invocation.Invocation {
	var k Known
	if e.known != nil {
		k = *e.known
	}
	inv := invocation.Invocation{
		RequestID:          id,
		InvokedFunctionARN: k.InvokedFunctionARN,
		Deadline:           k.Deadline,
		TraceID:            k.TraceID,
		Start:              k.Received,
	}
	if ev := e.event; ev != nil {
		inv.InvokedFunctionARN = ev.InvokedFunctionARN
		inv.Deadline = ev.Deadline
		inv.TraceID = ev.TraceID
		inv.ClientContext = ev.ClientContext
		inv.CognitoIdentity = ev.CognitoIdentity
		inv.Request = ev.Body
		inv.Start = ev.At
	}
	if r := e.result; r != nil {
		inv.Response = r.Body
		inv.End = r.At
		inv.Outcome = invocation.Success
		if r.Failed {
			inv.Outcome, inv.ErrorType = invocation.Error, r.ErrorType
		}
	}
	inv.Attempt = t.attempts.count(id)
	return inv
}

// Unfinished decides the outcome of an invocation that posted nothing before
// a SHUTDOWN with the given reason, and the error payload Lambda gives it.
func Unfinished(reason, requestID string, start, deadline time.Time, timeout time.Duration) (invocation.Outcome, string, invocation.Payload) {
	if strings.EqualFold(reason, "timeout") {
		if timeout <= 0 && !start.IsZero() && !deadline.IsZero() {
			// Lambda timeouts are whole seconds; the event left a little after the start.
			timeout = time.Duration(math.Round(deadline.Sub(start).Seconds())) * time.Second
		}
		return invocation.Timeout, "Sandbox.Timedout",
			errorBody("Sandbox.Timedout", requestID, fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds()))
	}
	return invocation.Crash, "Runtime.ExitError", errorBody("Runtime.ExitError", requestID, "Runtime exited without providing a reason")
}

// errorBody is the error payload Lambda gives an invocation that posted none.
func errorBody(errorType, requestID, what string) invocation.Payload {
	b := []byte(`{"errorType":`)
	b = record.AppendString(b, errorType)
	b = append(b, `,"errorMessage":`...)
	b = record.AppendString(b, "RequestId: "+requestID+" Error: "+what)
	b = append(b, '}')
	return invocation.Payload{Bytes: b, Size: int64(len(b))}
}

// attempts counts how often each request id was seen, remembering a bounded
// number of ids (retries of a request come within minutes).
type attempts struct {
	seen map[string]int
	ring [256]string
	next int
}

func (a *attempts) count(id string) int {
	if n, ok := a.seen[id]; ok {
		a.seen[id] = n + 1
		return n + 1
	}
	if old := a.ring[a.next]; old != "" {
		delete(a.seen, old)
	}
	a.ring[a.next] = id
	a.next = (a.next + 1) % len(a.ring)
	a.seen[id] = 1
	return 1
}
