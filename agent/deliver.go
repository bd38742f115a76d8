package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

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
				a.log.Warn("record not delivered", "destination", j.to.Name(), "requestId", j.msg.RequestID,
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
				errs[i] = fmt.Errorf("destination %s panicked: %v", jobs[0].to.Name(), p)
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
			errs[i] = fmt.Errorf("destination %s answered for %d of %d records", jobs[0].to.Name(), len(errs), len(jobs))
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
			a.log.Debug("record delivered", "destination", j.to.Name(), "requestId", j.msg.RequestID,
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
			a.log.Warn("record not delivered", "destination", j.to.Name(), "requestId", j.msg.RequestID,
				"attempts", j.attempts, "verdict", v.String(), "error", err)
			a.fallback(j, err)
			return true
		}
		wait := a.policy.Backoff(j.attempts+1, a.jitter())
		a.log.Debug("retrying delivery", "destination", j.to.Name(), "requestId", j.msg.RequestID,
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
			err = fmt.Errorf("destination %s panicked: %v", j.to.Name(), p)
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
		"destination", j.to.Name(), "reason", reason.Error(),
		"condition", j.msg.Condition, "requestId", j.msg.RequestID); err != nil {
		a.log.Error("cannot write undelivered record", "destination", j.to.Name(), "requestId", j.msg.RequestID, "error", err)
	}
}
