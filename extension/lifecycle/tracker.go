package lifecycle

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
)

// Tracker holds every invocation the extension knows of and moves each
// through its states (state.go) as its sources tell: the proxy (it
// implements proxy.Observer), the Extensions API's INVOKE and SHUTDOWN, the
// Telemetry API, the runtime's process and, under Managed Instances, the
// deadline. Settled invocations are taken, once, to be recorded.
type Tracker struct {
	mu      sync.Mutex
	managed bool
	timeout time.Duration // the function's timeout where known
	runtime Runtime
	log     *slog.Logger
	now     func() time.Time

	polled    bool // the runtime goes through the proxy
	telemetry bool // the Telemetry API is subscribed
	seq       uint64
	entries   map[string]*entry // by request id, until recorded
	settled   []*entry          // settled and not yet taken, in the order they settled
	recent    recent
	exits     uint64 // how often the runtime's process ended
	changed   chan struct{}
	// Results told before the event they answer: the proxy tells each
	// connection's calls in order, but two connections race.
	early map[string]early

	// What is known of a failed init: the error the runtime posted, or its
	// exit before it ever asked for an event; and the request id of the
	// invocation it failed, where a source told it.
	initErr       *initError
	initExited    bool
	initRequestID string
}

// entry is one invocation (one attempt of a request id).
type entry struct {
	id        string
	seq       uint64 // creation order
	state     State
	attempt   int
	coldStart bool

	known   *Known        // what INVOKE said
	event   *proxy.Event  // what the runtime received
	result  *proxy.Result // the accepted result
	failure *failure      // how it ended where no accepted result says
	end     time.Time
	// platformErrorType is the error type the Telemetry API last told, for
	// a crash that SHUTDOWN settles (Runtime.OutOfMemory, say).
	platformErrorType string
	timer             *time.Timer // Managed Instances: times the invocation out
}

type early struct {
	result proxy.Result
	at     time.Time
}

// earlyLimit bounds the results kept for an event not seen yet, and
// earlyFor how long each is kept: the event, if it comes, comes at once.
const (
	earlyLimit = 64
	earlyFor   = 2 * time.Second
)

type initError struct {
	errorType string
	body      invocation.Payload
}

// Known is what the Extensions API's INVOKE told of an invocation.
type Known struct {
	RequestID          string
	InvokedFunctionARN string
	Deadline           time.Time
	TraceID            string
	Received           time.Time
}

// Runtime is the runtime's process as the extension watches it, where the
// wrapper told its PID.
type Runtime interface {
	// Polled is told each time the runtime asks for an event: the moment
	// to look for a new runtime process.
	Polled()
	// Watched reports whether the process is watched: its end, rather than
	// closed connections, then tells that the runtime is gone.
	Watched() bool
	// Ended reports, as of now, whether a runtime process was seen and
	// has ended.
	Ended() bool
}

// TrackerOptions configure a Tracker.
type TrackerOptions struct {
	// Managed is set under Lambda Managed Instances: no INVOKE comes, so
	// the deadline the runtime received settles a timeout.
	Managed bool
	// Timeout is the function's timeout where the environment tells it.
	Timeout time.Duration
	// Runtime, where set, is told of polls and says whether the runtime's
	// process is watched.
	Runtime Runtime
	Log     *slog.Logger
}

// NewTracker returns an empty tracker.
func NewTracker(o TrackerOptions) *Tracker {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Tracker{
		managed: o.Managed,
		timeout: o.Timeout,
		runtime: o.Runtime,
		log:     o.Log,
		now:     time.Now,
		entries: map[string]*entry{},
		early:   map[string]early{},
		recent:  recent{seen: map[string]recentID{}},
		changed: make(chan struct{}),
	}
}

// Timeouts under Managed Instances are settled this long after the deadline
// when no word came first: the Runtime API's own clock decides, and a
// result just before it is accepted. The Telemetry API's report says so
// sooner; with it, the wait is longer, as it is only a fallback.
const (
	overdueGrace          = 200 * time.Millisecond
	overdueGraceTelemetry = time.Second
)

// notify wakes every waiter; callers hold mu.
func (t *Tracker) notify() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// add starts a new entry for id; callers hold mu.
func (t *Tracker) add(id string) *entry {
	t.seq++
	e := &entry{id: id, seq: t.seq, state: Invoked, attempt: t.recent.attempt(id), coldStart: t.seq == 1}
	t.entries[id] = e
	return e
}

// move takes e to state to if that transition is allowed, and queues it to
// be recorded when to settles it; callers hold mu.
func (t *Tracker) move(e *entry, to State, why string) bool {
	if !CanMove(e.state, to) {
		t.log.Debug("dropped: the invocation is already "+e.state.String(), "requestId", e.id, "word", why)
		return false
	}
	e.state = to
	if to.Settled() {
		t.log.Debug("invocation settled", "requestId", e.id, "state", to.String(), "by", why)
		if e.end.IsZero() {
			e.end = t.now()
		}
		if e.timer != nil {
			e.timer.Stop()
		}
		t.settled = append(t.settled, e)
	}
	t.notify()
	return true
}

// fail settles e with f; callers hold mu.
func (t *Tracker) fail(e *entry, f failure, why string) {
	if CanMove(e.state, f.state) {
		e.failure = &f
	}
	t.move(e, f.state, why)
}

// Polled implements proxy.Observer.
func (t *Tracker) Polled() {
	t.mu.Lock()
	t.polled = true
	t.mu.Unlock()
	if t.runtime != nil {
		t.runtime.Polled()
	}
}

// Event implements proxy.Observer.
func (t *Tracker) Event(ev proxy.Event) {
	if ev.RequestID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[ev.RequestID]
	switch {
	case e == nil || e.state.Settled():
		e = t.add(ev.RequestID) // a settled one is an earlier attempt of the same request
	case e.state != Invoked:
		t.log.Warn("the Runtime API handed out a request id that is still running", "requestId", ev.RequestID)
		return
	}
	e.event = &ev
	t.move(e, Running, "event")
	if r, ok := t.early[ev.RequestID]; ok {
		delete(t.early, ev.RequestID)
		t.settle(e, r.result)
	}
	if t.managed && !ev.Deadline.IsZero() {
		grace := overdueGrace
		if t.telemetry {
			grace = overdueGraceTelemetry
		}
		e.timer = time.AfterFunc(ev.Deadline.Sub(t.now())+grace, func() { t.overdue(e) })
	}
}

// overdue times out e if nothing settled it by its deadline and the grace.
func (t *Tracker) overdue(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.state == Running || e.state == Exited {
		t.fail(e, t.timedOut(e), "deadline")
	}
}

func (t *Tracker) timedOut(e *entry) failure {
	start, deadline := e.started()
	return timedOut(e.id, start, deadline, t.timeout, t.managed)
}

// Result implements proxy.Observer: the Runtime API's answer settles the
// invocation, whether it accepted the result or refused it.
func (t *Tracker) Result(r proxy.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r.Call {
	case proxy.CallInitError:
		if r.Status/100 == 2 {
			t.initErr = &initError{errorType: r.ErrorType, body: r.Body}
			t.notify()
		}
		return
	case proxy.CallResponse, proxy.CallError:
	default:
		return
	}
	e := t.entries[r.RequestID]
	switch {
	case e == nil && t.recent.recorded(r.RequestID):
		t.log.Debug("dropped: the invocation is already recorded", "requestId", r.RequestID, "word", "result")
	case e == nil || e.state == Invoked:
		t.keepEarly(r)
	default:
		t.settle(e, r)
	}
}

// keepEarly keeps a result until its event is told; callers hold mu.
func (t *Tracker) keepEarly(r proxy.Result) {
	now := t.now()
	for id, x := range t.early {
		if now.Sub(x.at) > earlyFor || len(t.early) >= earlyLimit {
			delete(t.early, id)
			t.log.Debug("dropped: a result for an invocation never seen", "requestId", id)
		}
	}
	t.early[r.RequestID] = early{r, now}
}

// settle applies the Runtime API's answer to a result; callers hold mu.
func (t *Tracker) settle(e *entry, r proxy.Result) {
	if r.Status/100 == 2 {
		to := Succeeded
		if r.Failed || r.Call == proxy.CallError {
			to = Errored
		}
		if CanMove(e.state, to) {
			e.result, e.end = &r, r.At
		}
		t.move(e, to, "result")
		return
	}
	start, deadline := e.started()
	f, ends := refused(e.id, r.Status, r.Answer, start, deadline, t.timeout, t.managed)
	if !ends {
		t.log.Debug("the Runtime API refused a result; the invocation goes on", "requestId", e.id, "status", r.Status)
		return
	}
	if CanMove(e.state, f.state) {
		e.end = r.At
	}
	t.fail(e, f, "refused result")
}

// RuntimeGone implements proxy.Observer. It tells that the runtime is gone
// only where its process is not watched: runtimes that open a connection
// per call (curl, urllib) close their last one in every invocation.
func (t *Tracker) RuntimeGone() {
	if t.runtime != nil && t.runtime.Watched() {
		return
	}
	t.RuntimeExited()
}

// RuntimeExited is told when the runtime's process ended. Under Managed
// Instances that ends the environment, and its invocations with it; on
// classic Lambda SHUTDOWN follows and its reason tells a crash from a
// timeout, which the Telemetry API may tell first.
func (t *Tracker) RuntimeExited() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exits++
	if !t.polled {
		t.initExited = true
	}
	now := t.now()
	for _, e := range t.sorted(func(e *entry) bool { return e.state == Running }) {
		_, deadline := e.started()
		switch {
		case !deadline.IsZero() && !now.Before(deadline):
			t.fail(e, t.timedOut(e), "runtime exit after the deadline")
		case t.managed:
			t.fail(e, crashed(e.id, ""), "runtime exit")
		default:
			t.move(e, Exited, "runtime exit")
		}
	}
	t.notify()
}

// UseTelemetry says the Telemetry API is subscribed.
func (t *Tracker) UseTelemetry() {
	t.mu.Lock()
	t.telemetry = true
	t.mu.Unlock()
}

// PlatformDone is told by the Telemetry API how an invocation ended
// (platform.runtimeDone, or platform.report under Managed Instances). A
// timeout or a failure settles it; a success or an error is the proxy's to
// settle, with the body the runtime posted.
func (t *Tracker) PlatformDone(requestID, status, errorType string) {
	if requestID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[requestID]
	if e == nil {
		t.initFailedFor(requestID)
		return
	}
	e.platformErrorType = errorType
	switch status {
	case "timeout":
		t.fail(e, t.timedOut(e), "platform timeout")
	case "failure":
		if e.state == Invoked && !t.polled && t.initFailed() {
			t.fail(e, initFailed(e.id, t.initErr), "platform failure")
			return
		}
		t.fail(e, crashed(e.id, errorType), "platform failure")
	default:
		t.notify()
	}
}

// PlatformStart is told by the Telemetry API that an invocation started.
func (t *Tracker) PlatformStart(requestID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries[requestID] == nil {
		t.initFailedFor(requestID)
	}
}

// initFailedFor remembers, after a failed init, the request id of the
// invocation it failed, which no INVOKE tells; callers hold mu.
func (t *Tracker) initFailedFor(requestID string) {
	if t.initFailed() && requestID != "" {
		t.initRequestID = requestID
	}
}

func (t *Tracker) initFailed() bool { return t.initErr != nil || t.initExited }

// Invoked records what the Extensions API's INVOKE said. An invocation the
// runtime does not go through the proxy for is not kept, as no result will
// ever come for it, unless the init failed, which it then failed.
func (t *Tracker) Invoked(k Known) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.polled && !t.initFailed() {
		return
	}
	e := t.entries[k.RequestID]
	if e == nil {
		e = t.add(k.RequestID)
	}
	e.known = &k // the proxy may have seen it, and its result, first
	t.notify()
}

// Proxied reports whether the runtime has ever asked the proxy for an event.
func (t *Tracker) Proxied() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.polled
}

// Shutdown settles every invocation still unfinished at SHUTDOWN: by its
// reason (timeout, compared case-insensitively as the emulator says
// "Timeout"; a crash for any other), or by what the Telemetry API told. An
// init that failed before any invocation was seen makes one failed
// invocation, whose request id is not known unless a source told it.
func (t *Tracker) Shutdown(reason string) {
	// A runtime that failed its init may have ended a moment ago, before
	// its watch could tell: asked now, not waited for.
	ended := t.runtime != nil && t.runtime.Ended()
	t.mu.Lock()
	defer t.mu.Unlock()
	if ended && !t.polled {
		t.initExited = true
	}
	timeout := strings.EqualFold(reason, "timeout")
	if t.seq == 0 && t.initFailed() {
		t.add(t.initRequestID)
	}
	for _, e := range t.sorted(func(e *entry) bool { return !e.state.Settled() }) {
		switch {
		case e.state == Invoked && !t.polled && t.initFailed():
			t.fail(e, initFailed(e.id, t.initErr), "shutdown after a failed init")
		case e.state == Invoked && !t.polled:
			delete(t.entries, e.id) // the runtime never went through the proxy
		case timeout:
			t.fail(e, t.timedOut(e), "shutdown: "+reason)
		default:
			t.fail(e, crashed(e.id, e.platformErrorType), "shutdown: "+reason)
		}
	}
}

// sorted returns the entries f selects, oldest first; callers hold mu.
func (t *Tracker) sorted(f func(*entry) bool) []*entry {
	var out []*entry
	for _, e := range t.entries {
		if f(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// Take returns every settled invocation not taken yet, in the order they
// settled, and forgets them: their bodies are the records' now.
func (t *Tracker) Take() []invocation.Invocation {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.settled) == 0 {
		return nil
	}
	out := make([]invocation.Invocation, 0, len(t.settled))
	for _, e := range t.settled {
		out = append(out, e.invocation())
		t.move(e, Recorded, "taken")
		if t.entries[e.id] == e {
			delete(t.entries, e.id)
		}
		t.recent.record(e.id)
	}
	clear(t.settled)
	t.settled = t.settled[:0]
	return out
}

// WaitSettled waits until an invocation is settled and not taken, or ctx
// ends; it reports which.
func (t *Tracker) WaitSettled(ctx context.Context) bool {
	for {
		t.mu.Lock()
		n, ch := len(t.settled), t.changed
		t.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Wait is how waiting for an invocation's outcome ended.
type Wait int

const (
	Done      Wait = iota // the invocation is settled
	Gone                  // the runtime's process ended before it was
	Deadline              // the deadline passed first
	Cancelled             // ctx ended
)

// Await waits until the invocation id is settled, the runtime goes away, or
// the deadline passes.
func (t *Tracker) Await(ctx context.Context, id string, deadline time.Time) Wait {
	t.mu.Lock()
	exits := t.exits
	t.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		t.mu.Lock()
		e := t.entries[id]
		done := e == nil || e.state.Settled()
		gone := t.exits != exits || e.state == Exited
		ch := t.changed
		t.mu.Unlock()
		switch {
		case done:
			return Done
		case gone:
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

// AwaitPlatform waits, where the Telemetry API is subscribed, until every
// invocation is settled or ctx ends: at SHUTDOWN its word tells a crash
// from running out of memory.
func (t *Tracker) AwaitPlatform(ctx context.Context) {
	for {
		t.mu.Lock()
		waiting := false
		for _, e := range t.entries {
			waiting = waiting || !e.state.Settled()
		}
		use, ch := t.telemetry, t.changed
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

// started is when the invocation began and its deadline, from the proxy or
// else from INVOKE.
func (e *entry) started() (start, deadline time.Time) {
	if e.event != nil {
		return e.event.At, e.event.Deadline
	}
	if e.known != nil {
		return e.known.Received, e.known.Deadline
	}
	return time.Time{}, time.Time{}
}

// invocation is what is recorded of a settled entry.
func (e *entry) invocation() invocation.Invocation {
	inv := invocation.Invocation{
		RequestID: e.id,
		Attempt:   e.attempt,
		ColdStart: e.coldStart,
		End:       e.end,
		// An init that failed before any invocation was seen leaves its
		// request id untold.
		RequestIDUnknown: e.id == "",
	}
	if k := e.known; k != nil {
		inv.InvokedFunctionARN, inv.Deadline, inv.TraceID, inv.Start = k.InvokedFunctionARN, k.Deadline, k.TraceID, k.Received
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
	switch {
	case e.result != nil:
		inv.Response = e.result.Body
		inv.Outcome = invocation.Success
		if e.state == Errored {
			inv.Outcome, inv.ErrorType = invocation.Error, e.result.ErrorType
		}
	case e.failure != nil:
		inv.Response, inv.ErrorType = e.failure.body, e.failure.errorType
		switch e.failure.state {
		case TimedOut:
			inv.Outcome = invocation.Timeout
		case Refused:
			inv.Outcome = invocation.Error
		default:
			inv.Outcome = invocation.Crash
		}
	}
	return inv
}

// recent remembers the request ids recorded lately, a bounded number of
// them: to count the attempts of a request (retries come within minutes)
// and to drop what comes late for a recorded invocation.
type recent struct {
	seen map[string]recentID
	ring [4096]string
	next int
}

type recentID struct {
	attempts int
	recorded bool
}

// attempt counts a new attempt of id and returns its number.
func (r *recent) attempt(id string) int {
	if s, ok := r.seen[id]; ok {
		s.attempts++
		s.recorded = false
		r.seen[id] = s
		return s.attempts
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.seen, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.seen[id] = recentID{attempts: 1}
	return 1
}

func (r *recent) record(id string) {
	if s, ok := r.seen[id]; ok {
		s.recorded = true
		r.seen[id] = s
	}
}

func (r *recent) recorded(id string) bool { return r.seen[id].recorded }
