// Package lifecycle runs the extension's event loop: it waits for each
// invocation's outcome through the Tracker and hands completed invocations
// to a Listener before asking Lambda for the next event.
package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
)

// Listener is the work side of the lifecycle.
type Listener interface {
	// Invoked is called when an invocation starts, before its outcome is known.
	Invoked(ctx context.Context, requestID string, deadline time.Time)
	// Completed is called once per invocation whose outcome is known; ctx
	// ends where the work must stop so the extension can ask for its next
	// event in time.
	Completed(ctx context.Context, inv invocation.Invocation)
	// Shutdown is called last; ctx ends before the shutdown deadline.
	Shutdown(ctx context.Context)
}

// Loop runs the Extensions API event loop.
type Loop struct {
	Client   *extapi.Client
	Tracker  *Tracker
	Listener Listener
	Log      *slog.Logger

	// FunctionTimeout is the function's timeout where it is known (the
	// emulator sets AWS_LAMBDA_FUNCTION_TIMEOUT); else it is derived.
	FunctionTimeout time.Duration
	// InvokeMargin is kept free before an invocation's deadline.
	InvokeMargin time.Duration
	// ShutdownMargin is kept free before the shutdown deadline.
	ShutdownMargin time.Duration

	warned  bool
	started bool
}

// Run loops until SHUTDOWN (nil) or until the Extensions API fails.
func (l *Loop) Run(ctx context.Context) error {
	for {
		ev, err := l.Client.Next(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		switch ev.EventType {
		case extapi.Invoke:
			l.invoke(ctx, ev, now)
		case extapi.Shutdown:
			l.shutdown(ctx, ev, now)
			return nil
		default:
			l.Log.Warn("unknown event", "eventType", ev.EventType)
		}
	}
}

func (l *Loop) invoke(ctx context.Context, ev *extapi.Event, now time.Time) {
	deadline := ev.Deadline()
	// What INVOKE says is kept only for a runtime that goes through the
	// proxy: for another, no result will ever come.
	proxied := l.Tracker.Proxied()
	if proxied {
		l.Tracker.Invoked(Known{
			RequestID:          ev.RequestID,
			InvokedFunctionARN: ev.InvokedFunctionArn,
			Deadline:           deadline,
			TraceID:            ev.Tracing.Value,
			Received:           now,
		})
	}
	budget, cancel := context.WithDeadline(ctx, deadline.Add(-l.InvokeMargin))
	defer cancel()
	// Results that came in after an earlier wait gave up go out first; the
	// runtime may even have answered this invocation already.
	done := false
	for _, inv := range l.Tracker.TakeCompleted(l.FunctionTimeout) {
		done = done || inv.RequestID == ev.RequestID
		l.complete(budget, []invocation.Invocation{inv})
	}
	l.Listener.Invoked(budget, ev.RequestID, deadline)
	if done {
		return
	}

	if !proxied {
		if !l.warned {
			l.warned = true
			l.Log.Error("the runtime does not go through the destinations proxy, so no records can be made: set AWS_LAMBDA_EXEC_WRAPPER=/opt/destinations-wrapper, or use the layer's bootstrap on provided runtimes")
		}
		return
	}
	switch l.Tracker.Await(ctx, ev.RequestID, deadline) {
	case Done:
		l.complete(budget, l.Tracker.TakeCompleted(l.FunctionTimeout))
	case Gone:
		// Ask for the next event at once: after a crash Lambda resets the
		// environment and kills extensions that are not waiting for SHUTDOWN.
		l.Log.Debug("runtime connection closed during an invocation", "requestId", ev.RequestID)
	case Deadline:
		l.Log.Debug("deadline passed with no result", "requestId", ev.RequestID)
	}
}

func (l *Loop) shutdown(ctx context.Context, ev *extapi.Event, now time.Time) {
	deadline := ev.Deadline()
	if ev.DeadlineMs == 0 || deadline.Before(now) {
		deadline = now.Add(2 * time.Second)
	}
	budget, cancel := context.WithDeadline(ctx, deadline.Add(-l.ShutdownMargin))
	defer cancel()
	l.Log.Debug("shutdown", "reason", ev.ShutdownReason)
	// The Telemetry API, where it exists, tells a crash from running out of
	// memory; give its runtimeDone a moment to arrive.
	wait, cancelWait := context.WithTimeout(budget, 250*time.Millisecond)
	l.Tracker.AwaitPlatform(wait)
	cancelWait()
	l.complete(budget, l.Tracker.TakeCompleted(l.FunctionTimeout))
	l.complete(budget, l.Tracker.TakeUnfinished(ev.ShutdownReason, l.FunctionTimeout))
	l.Listener.Shutdown(budget)
}

func (l *Loop) complete(ctx context.Context, invs []invocation.Invocation) {
	for _, inv := range invs {
		inv.ColdStart = !l.started
		l.started = true
		l.Listener.Completed(ctx, inv)
	}
}
