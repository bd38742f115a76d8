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
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/stdout"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// Options configure an Agent.
type Options struct {
	Config *config.Config
	Stdout io.Writer // the function's log stream for stdout records and fallbacks
	Log    *slog.Logger
	// AWS makes the destinations of the AWS kinds; nil leaves them unsupported.
	AWS func(destination.Target) (destination.Destination, error)
	// AttemptTimeout bounds one delivery attempt (default 2s).
	AttemptTimeout time.Duration
}

// Agent builds and delivers records.
type Agent struct {
	cfg     *config.Config
	fn      record.Function
	dests   []*target
	router  route.Router
	lines   *stdout.Writer
	log     *slog.Logger
	attempt time.Duration

	mu      sync.Mutex
	pending []job
}

type target struct {
	destination.Target
	d destination.Destination
}

// job is one record for one destination.
type job struct {
	to  *target
	msg destination.Message
}

// New makes an agent and its destinations.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	a := &Agent{
		cfg:     o.Config,
		fn:      record.Function{Version: o.Config.FunctionVersion},
		lines:   stdout.NewWriter(o.Stdout),
		log:     o.Log,
		attempt: o.AttemptTimeout,
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
				d = webhook.New(t.URL, hooks)
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
	return a, nil
}

// Invoked is called as an invocation starts.
func (a *Agent) Invoked(context.Context, string, time.Time) {}

// Completed records an invocation and delivers its records within ctx;
// what ctx leaves no time for stays pending for the next flush.
func (a *Agent) Completed(ctx context.Context, inv invocation.Invocation) {
	a.Add(inv)
	a.Flush(ctx)
}

// Shutdown delivers what is pending within ctx and writes what is left to
// the log, so that nothing is lost silently.
func (a *Agent) Shutdown(ctx context.Context) {
	a.Flush(ctx)
	a.mu.Lock()
	left := a.pending
	a.pending = nil
	a.mu.Unlock()
	for _, j := range left {
		a.fallback(j, errors.New("not delivered before the shutdown deadline"))
	}
}

// Pending is the number of records waiting for delivery.
func (a *Agent) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// Flush delivers the pending records, each destination on its own so a slow
// one does not hold the others. Records ctx leaves no time for stay pending.
func (a *Agent) Flush(ctx context.Context) {
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
	byDest := map[*target][]job{}
	for _, j := range jobs {
		byDest[j.to] = append(byDest[j.to], j)
	}
	var wg sync.WaitGroup
	for _, js := range byDest {
		wg.Go(func() { a.deliver(ctx, js) })
	}
	wg.Wait()
}

func (a *Agent) requeue(jobs []job) {
	a.mu.Lock()
	a.pending = append(jobs, a.pending...)
	a.mu.Unlock()
}

// deliver sends one destination's records in order.
func (a *Agent) deliver(ctx context.Context, jobs []job) {
	for i, j := range jobs {
		if ctx.Err() != nil {
			a.requeue(jobs[i:])
			return
		}
		err := a.send(ctx, j)
		if err == nil {
			a.log.Debug("record delivered", "destination", j.to.Raw, "requestId", j.msg.RequestID, "condition", j.msg.Condition)
			continue
		}
		a.log.Warn("record not delivered", "destination", j.to.Raw, "requestId", j.msg.RequestID, "error", err)
		a.fallback(j, err)
	}
}

// send makes one attempt, bounded by the attempt timeout, and turns a panic
// in a destination into an error: the extension must keep running.
func (a *Agent) send(ctx context.Context, j job) (err error) {
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
func (a *Agent) fallback(j job, reason error) {
	if err := a.lines.Line("ERROR", "undelivered record", j.msg.Record,
		"destination", j.to.Raw, "reason", reason.Error(),
		"condition", j.msg.Condition, "requestId", j.msg.RequestID); err != nil {
		a.log.Error("cannot write undelivered record", "destination", j.to.Raw, "requestId", j.msg.RequestID, "error", err)
	}
}
