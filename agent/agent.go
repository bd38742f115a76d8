// Package agent turns completed invocations into execution records and
// delivers them to the configured destinations. It knows nothing of
// Lambda's local APIs: it is handed invocations and deadlines.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/stdout"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
	"github.com/lambda-destinations/lambda-destinations/agent/flush"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// Options configure an Agent.
type Options struct {
	Config *config.Config
	Stdout io.Writer // the function's log stream for stdout records and fallbacks
	Log    *slog.Logger
	// AWS makes the destinations of the AWS kinds; nil leaves them unsupported.
	AWS func(destination.Target) (destination.Destination, error)
	// AttemptTimeout bounds one delivery attempt (default: the configuration's).
	AttemptTimeout time.Duration
	// Overflow keeps whole records too large for their destination (the
	// DESTINATIONS_OVERFLOW_BUCKET claim check); nil writes them to the log.
	Overflow destination.Storer
}

// Agent builds and delivers records.
type Agent struct {
	cfg      *config.Config
	fn       record.Function
	dests    []*target
	router   route.Router
	lines    *stdout.Writer
	overflow destination.Storer
	log      *slog.Logger
	attempt  time.Duration

	strategy flush.Strategy
	policy   retry.Policy

	mu      sync.Mutex
	pending []*job
	rand    *rand.Rand

	flushing     sync.Mutex // one flush at a time
	workerMu     sync.Mutex
	workerCancel context.CancelFunc
	workerDone   chan struct{}
}

type target struct {
	destination.Target
	d destination.Destination
}

// job is one record for one destination.
type job struct {
	to       *target
	msg      destination.Message
	rec      *record.Record // to rebuild the message when it is too large
	fitted   bool           // msg.Record was already made to fit
	attempts int            // failed attempts so far
	lastErr  error          // the last attempt's error
}

// New makes an agent and its destinations.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = time.Duration(o.Config.AttemptTimeoutMs) * time.Millisecond
	}
	a := &Agent{
		cfg:      o.Config,
		overflow: o.Overflow,
		fn:       record.Function{Version: o.Config.FunctionVersion},
		lines:    stdout.NewWriter(o.Stdout),
		log:      o.Log,
		attempt:  o.AttemptTimeout,

		strategy: o.Config.Flush,
		policy:   retry.Policy{MaxAttempts: o.Config.MaxAttempts, Base: retry.Default.Base, Cap: retry.Default.Cap},
		rand:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	if a.strategy == "" {
		a.strategy = flush.End
	}
	if a.policy.MaxAttempts < 1 {
		a.policy.MaxAttempts = retry.Default.MaxAttempts
	}
	hooks := webhook.NewClient()
	seen := map[string]int{}
	add := func(variable string, ts []destination.Target) ([]int, error) {
		var idx []int
		for _, t := range ts {
			if i, ok := seen[t.Raw]; ok { // one client per destination, whatever its conditions
				idx = append(idx, i)
				continue
			}
			var d destination.Destination
			switch t.Kind {
			case destination.Stdout:
				d = stdout.New(a.lines)
			case destination.Webhook:
				d = webhook.NewSigned(t.URL, hooks, o.Config.WebhookSecret)
			default:
				if o.AWS == nil {
					return nil, &config.Error{Variable: variable, Value: t.Raw, Reason: "AWS destinations are not available in this build"}
				}
				var err error
				if d, err = o.AWS(t); err != nil {
					return nil, &config.Error{Variable: variable, Value: t.Raw, Reason: err.Error()}
				}
			}
			seen[t.Raw] = len(a.dests)
			idx = append(idx, len(a.dests))
			a.dests = append(a.dests, &target{Target: t, d: d})
		}
		return idx, nil
	}
	var err error
	if a.router.Success, err = add("DESTINATIONS_ON_SUCCESS", o.Config.Success); err != nil {
		return nil, err
	}
	if a.router.Failure, err = add("DESTINATIONS_ON_FAILURE", o.Config.Failure); err != nil {
		return nil, err
	}
	if a.router.Slow, err = add("DESTINATIONS_ON_SLOW", o.Config.Slow); err != nil {
		return nil, err
	}
	a.router.SampleSuccesses, a.router.SuccessSampleRate = o.Config.SampleSuccesses, o.Config.SampleRate
	a.router.FailureErrorTypes = o.Config.ErrorTypes
	a.router.SlowThreshold = o.Config.SlowThreshold
	return a, nil
}

// Invoked is called as an invocation starts: records left over from
// earlier invocations go out while the function runs.
func (a *Agent) Invoked(ctx context.Context, _ string, deadline time.Time) {
	if flush.Decide(a.strategy, flush.Invoked, a.Pending(), time.Until(deadline)) == flush.Async {
		a.startWorker()
	}
}

// Completed records an invocation and delivers its records as the flush
// strategy says: within ctx, or in the background.
func (a *Agent) Completed(ctx context.Context, inv invocation.Invocation) {
	defer a.recoverPanic("completed", inv.RequestID)
	a.Add(inv)
	budget := time.Duration(1<<63 - 1)
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	switch flush.Decide(a.strategy, flush.Completed, a.Pending(), budget) {
	case flush.Deliver:
		a.stopWorker()
		a.Flush(ctx)
	case flush.Async:
		a.startWorker()
	}
}

// Shutdown delivers what is pending within ctx and writes what is left to
// the log, so that nothing is lost silently.
func (a *Agent) Shutdown(ctx context.Context) {
	defer a.recoverPanic("shutdown", "")
	a.stopWorker()
	a.Flush(ctx)
	a.mu.Lock()
	left := a.pending
	a.pending = nil
	a.mu.Unlock()
	for _, j := range left {
		a.fallback(j, fmt.Errorf("not delivered before the shutdown deadline (%d attempts): %w", j.attempts, errOrNone(j.lastErr)))
	}
}

func errOrNone(err error) error {
	if err == nil {
		return errors.New("no attempt made")
	}
	return err
}

// recoverPanic keeps a bug in the agent from taking the extension down:
// the proxy must keep forwarding whatever happens here.
func (a *Agent) recoverPanic(where, requestID string) {
	if p := recover(); p != nil {
		a.log.Error("agent panic", "where", where, "requestId", requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
}

// Pending is the number of records waiting for delivery.
func (a *Agent) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// startWorker delivers the pending records on a goroutine. If Lambda
// freezes the environment meanwhile, the goroutine resumes at the thaw; the
// records stay in memory until they are delivered or logged.
func (a *Agent) startWorker() {
	a.workerMu.Lock()
	defer a.workerMu.Unlock()
	if a.workerDone != nil {
		select {
		case <-a.workerDone:
		default:
			return // already running
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.workerCancel, a.workerDone = cancel, done
	go func() {
		defer close(done)
		defer a.recoverPanic("worker", "")
		for a.Pending() > 0 && ctx.Err() == nil {
			a.Flush(ctx)
		}
	}()
}

// stopWorker ends a background delivery and waits for it: its records go
// back to the queue with their attempts counted.
func (a *Agent) stopWorker() {
	a.workerMu.Lock()
	cancel, done := a.workerCancel, a.workerDone
	a.workerMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Flush delivers the pending records, each destination on its own so a slow
// one does not hold the others. Records ctx leaves no time for stay pending.
func (a *Agent) Flush(ctx context.Context) {
	a.flushing.Lock()
	defer a.flushing.Unlock()
	a.mu.Lock()
	jobs := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	if ctx.Err() != nil {
		a.requeue(jobs)
		return
	}
	var order []*target
	byDest := map[*target][]*job{}
	for _, j := range jobs {
		if _, ok := byDest[j.to]; !ok {
			order = append(order, j.to)
		}
		byDest[j.to] = append(byDest[j.to], j)
	}
	if len(order) == 1 {
		a.deliver(ctx, byDest[order[0]]) // the common case: no goroutine to start and wait for
		return
	}
	var wg sync.WaitGroup
	for _, t := range order {
		wg.Go(func() { a.deliver(ctx, byDest[t]) })
	}
	wg.Wait()
}

func (a *Agent) requeue(jobs []*job) {
	a.mu.Lock()
	a.pending = append(jobs, a.pending...)
	a.mu.Unlock()
}

// deliver sends one destination's records in order, retrying each as the
// policy says; several at once where the destination takes batches.
func (a *Agent) deliver(ctx context.Context, jobs []*job) {
	for _, j := range jobs {
		a.fit(ctx, j)
	}
	if b, ok := jobs[0].to.d.(destination.Batcher); ok && len(jobs) > 1 {
		a.deliverBatch(ctx, b, jobs)
		return
	}
	for i, j := range jobs {
		if !a.deliverOne(ctx, j) {
			a.requeue(jobs[i:])
			return
		}
	}
}

// deliverBatch sends records in batches; only the entries that failed are
// sent again.
func (a *Agent) deliverBatch(ctx context.Context, b destination.Batcher, jobs []*job) {
	for len(jobs) > 0 {
		if ctx.Err() != nil {
			a.requeue(jobs)
			return
		}
		errs := a.sendBatch(ctx, b, jobs)
		var again, later []*job
		for i, j := range jobs {
			err := errs[i]
			if err == nil {
				continue
			}
			if retry.Cancelled(ctx, err) {
				later = append(later, j)
				continue
			}
			if errors.Is(err, destination.ErrTooLarge) && !j.fitted {
				a.fitRefused(ctx, j, err)
				again = append(again, j)
				continue
			}
			j.attempts++
			j.lastErr = err
			switch v := a.policy.Decide(err, j.attempts, ctx.Err() == nil); v {
			case retry.Retry:
				again = append(again, j)
			case retry.Later:
				later = append(later, j)
			default:
				a.log.Warn("record not delivered", "destination", j.to.Raw, "requestId", j.msg.RequestID,
					"attempts", j.attempts, "verdict", v.String(), "error", err)
				a.fallback(j, err)
			}
		}
		if len(later) > 0 {
			a.requeue(later)
		}
		if len(again) == 0 {
			return
		}
		wait := a.policy.Backoff(again[0].attempts+1, a.jitter())
		select {
		case <-ctx.Done():
			a.requeue(again)
			return
		case <-time.After(wait):
		}
		jobs = again
	}
}

// sendBatch makes one batch attempt, bounded by the attempt timeout; a
// panic in the destination fails every entry.
func (a *Agent) sendBatch(ctx context.Context, b destination.Batcher, jobs []*job) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			errs = make([]error, len(jobs))
			for i := range errs {
				errs[i] = fmt.Errorf("destination %s panicked: %v", jobs[0].to.Raw, p)
			}
		}
	}()
	msgs := make([]destination.Message, len(jobs))
	for i, j := range jobs {
		msgs[i] = j.msg
	}
	actx, cancel := context.WithTimeout(ctx, a.attempt)
	defer cancel()
	errs = b.SendBatch(actx, msgs)
	if len(errs) != len(jobs) {
		errs = make([]error, len(jobs))
		for i := range errs {
			errs[i] = fmt.Errorf("destination %s answered for %d of %d records", jobs[0].to.Raw, len(errs), len(jobs))
		}
	}
	return errs
}

// deliverOne makes the attempts one record gets in this flush. It returns
// false when ctx ended first and the record must wait for the next flush.
func (a *Agent) deliverOne(ctx context.Context, j *job) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		err := a.send(ctx, j)
		if err == nil {
			a.log.Debug("record delivered", "destination", j.to.Raw, "requestId", j.msg.RequestID,
				"condition", j.msg.Condition, "attempts", j.attempts+1)
			return true
		}
		if retry.Cancelled(ctx, err) {
			return false // the flush was cut short, not the destination's doing
		}
		if errors.Is(err, destination.ErrTooLarge) && !j.fitted {
			a.fitRefused(ctx, j, err) // the service counts differently: shrink and go again
			continue
		}
		j.attempts++
		j.lastErr = err
		switch v := a.policy.Decide(err, j.attempts, ctx.Err() == nil); v {
		case retry.Later:
			return false
		case retry.Permanent, retry.GiveUp:
			a.log.Warn("record not delivered", "destination", j.to.Raw, "requestId", j.msg.RequestID,
				"attempts", j.attempts, "verdict", v.String(), "error", err)
			a.fallback(j, err)
			return true
		}
		wait := a.policy.Backoff(j.attempts+1, a.jitter())
		a.log.Debug("retrying delivery", "destination", j.to.Raw, "requestId", j.msg.RequestID,
			"attempts", j.attempts, "backoff", wait, "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

func (a *Agent) jitter() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rand.Float64()
}

// send makes one attempt, bounded by the attempt timeout, and turns a panic
// in a destination into an error: the extension must keep running.
func (a *Agent) send(ctx context.Context, j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("destination %s panicked: %v", j.to.Raw, p)
		}
	}()
	actx, cancel := context.WithTimeout(ctx, a.attempt)
	defer cancel()
	return j.to.d.Send(actx, j.msg)
}

// fallback writes an undelivered record to the log, whole, with the reason,
// so it can be recovered from CloudWatch Logs.
func (a *Agent) fallback(j *job, reason error) {
	if err := a.lines.Line("ERROR", "undelivered record", j.msg.Record,
		"destination", j.to.Raw, "reason", reason.Error(),
		"condition", j.msg.Condition, "requestId", j.msg.RequestID); err != nil {
		a.log.Error("cannot write undelivered record", "destination", j.to.Raw, "requestId", j.msg.RequestID, "error", err)
	}
}
