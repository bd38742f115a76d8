// Package agent turns completed invocations into execution records and
// delivers them to the configured destinations. It knows nothing of
// Lambda's local APIs: it is handed invocations and deadlines.
package agent

import (
	"context"
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
	"github.com/lambda-destinations/lambda-destinations/agent/flush"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
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
	// Overflow keeps whole records too large for their destination (the
	// DESTINATIONS_OVERFLOW_BUCKET claim check); nil writes them to the log.
	Overflow destination.Storer
	// FunctionARN is the function's own unqualified ARN, for the records
	// of invocations whose invoked ARN is not known (a failed init).
	FunctionARN string
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
	metrics  *metrics.Recorder // nil when DESTINATIONS_METRICS is off
	emf      metrics.Format

	attemptTimeout time.Duration

	strategy flush.Strategy
	policy   retry.Policy

	mu         sync.Mutex
	pending    []*job // waiting for a flush: pending.go
	held       int    // bytes of the jobs waiting and on their way
	peak       int    // the most held since it was last nothing
	maxPending int    // DESTINATIONS_MAX_PENDING_BYTES
	rand       *rand.Rand

	flushing     sync.Mutex // one flush at a time
	workerMu     sync.Mutex
	workerCancel context.CancelFunc
	workerQuit   chan struct{} // closed to stop the worker after its flush
	workerDone   chan struct{}
}

// New makes an agent and its destinations. The configuration is one
// config.Parse has checked.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &Agent{
		cfg:      o.Config,
		overflow: o.Overflow,
		fn:       record.Function{ARN: o.FunctionARN, Version: o.Config.FunctionVersion},
		lines:    stdout.NewWriter(o.Stdout),
		log:      o.Log,

		attemptTimeout: o.Config.AttemptTimeout,

		strategy: o.Config.Flush,
		policy:   retry.Policy{MaxAttempts: o.Config.MaxAttempts, Base: retry.Default.Base, Cap: retry.Default.Cap},
		rand:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),

		maxPending: o.Config.MaxPendingBytes,
	}
	if err := a.addTargets(o); err != nil {
		return nil, err
	}
	if o.Config.Metrics.EMF {
		a.metrics = metrics.NewRecorder()
		a.emf = metrics.Format{Namespace: o.Config.Metrics.Namespace, Function: o.Config.FunctionName}
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
		a.stopWorker(ctx)
		a.Flush(ctx)
	case flush.Async:
		a.startWorker()
	case flush.Nothing:
		// In the end strategy each invocation ends with its metrics, those
		// of an invocation that made no record to deliver too.
		if a.strategy == flush.End {
			a.writeMetrics(ctx)
		}
	}
}

// Shutdown delivers what is pending within ctx and writes what is left to
// the log, so that nothing is lost silently. The last metrics follow,
// whatever time is left: nothing comes after them.
func (a *Agent) Shutdown(ctx context.Context) {
	defer a.recoverPanic("shutdown", "")
	a.stopWorker(ctx)
	a.flush(ctx, false)
	for _, j := range a.take() {
		a.fallback(j, j.unsent())
		a.done(j)
	}
	a.writeMetrics(context.WithoutCancel(ctx))
}

// recoverPanic keeps a bug in the agent from taking the extension down:
// the proxy must keep forwarding whatever happens here.
func (a *Agent) recoverPanic(where, requestID string) {
	if p := recover(); p != nil {
		a.log.Error("agent panic", "where", where, "requestId", requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
}
