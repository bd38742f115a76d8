// Package lifecycle follows each invocation from the Lambda side (the
// proxy, the Extensions and Telemetry APIs, the runtime's process) to its
// outcome, and hands settled invocations to a Listener: before asking for
// the next event on classic Lambda, as they settle under Lambda Managed
// Instances.
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
	// Invoked is called when an invocation starts, before its outcome is
	// known (classic Lambda only: Managed Instances send no INVOKE).
	Invoked(ctx context.Context, requestID string, deadline time.Time)
	// Completed is called once per invocation whose outcome is known; ctx
	// ends where the work must stop so the extension can ask for its next
	// event in time. It is called from one goroutine at a time.
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
	Mode     Mode

	// InvokeMargin is kept free before an invocation's deadline.
	InvokeMargin time.Duration
	// ShutdownMargin is kept free before the shutdown deadline.
	ShutdownMargin time.Duration

	warned bool
}

// Run loops until SHUTDOWN (nil) or until the Extensions API fails.
func (l *Loop) Run(ctx context.Context) error {
	if l.Mode == Managed {
		return l.runManaged(ctx)
	}
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

// runManaged serves Lambda Managed Instances: invocations are recorded as
// they settle, on a goroutine of their own, while the loop waits for
// SHUTDOWN. Nothing paces the work but the invocations themselves, and the
// environment is never frozen.
func (l *Loop) runManaged(ctx context.Context) error {
	rctx, stop := context.WithCancel(ctx)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for l.Tracker.WaitSettled(rctx) {
			l.complete(context.WithoutCancel(rctx), l.Tracker.Take())
		}
	}()
	defer func() { stop(); <-recorded }()
	for {
		ev, err := l.Client.Next(ctx)
		if err != nil {
			return err
		}
		if ev.EventType == extapi.Shutdown {
			stop()
			<-recorded
			l.shutdown(ctx, ev, time.Now())
			return nil
		}
		l.Log.Warn("unknown event", "eventType", ev.EventType)
	}
}

func (l *Loop) invoke(ctx context.Context, ev *extapi.Event, now time.Time) {
	deadline := ev.Deadline()
	l.Tracker.Invoked(Known{
		RequestID:          ev.RequestID,
		InvokedFunctionARN: ev.InvokedFunctionArn,
		Deadline:           deadline,
		TraceID:            ev.Tracing.Value,
		Received:           now,
	})
	budget, cancel := context.WithDeadline(ctx, deadline.Add(-l.InvokeMargin))
	defer cancel()
	// Invocations settled after an earlier wait gave up go out first; the
	// runtime may even have answered this one already.
	done := false
	for _, inv := range l.Tracker.Take() {
		done = done || inv.RequestID == ev.RequestID
		l.complete(budget, []invocation.Invocation{inv})
	}
	l.Listener.Invoked(budget, ev.RequestID, deadline)
	if done {
		return
	}
	if !l.Tracker.Proxied() {
		if !l.warned {
			l.warned = true
			l.Log.Error("the runtime does not go through the destinations proxy, so no records can be made: set AWS_LAMBDA_EXEC_WRAPPER=/opt/destinations-wrapper, or use the layer's bootstrap on provided runtimes")
		}
		return
	}
	switch l.Tracker.Await(ctx, ev.RequestID, deadline) {
	case Done:
		l.complete(budget, l.Tracker.Take())
	case Gone:
		// Ask for the next event at once: after a crash Lambda resets the
		// environment and kills extensions that are not waiting for
		// SHUTDOWN, whose reason then settles the invocation.
		l.Log.Debug("runtime exited during an invocation", "requestId", ev.RequestID)
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
	// memory; give its word a moment to arrive.
	wait, cancelWait := context.WithTimeout(budget, 250*time.Millisecond)
	l.Tracker.AwaitPlatform(wait)
	cancelWait()
	l.Tracker.Shutdown(ev.ShutdownReason)
	l.complete(budget, l.Tracker.Take())
	l.Listener.Shutdown(budget)
}

func (l *Loop) complete(ctx context.Context, invs []invocation.Invocation) {
	for _, inv := range invs {
		l.Listener.Completed(ctx, inv)
	}
}
