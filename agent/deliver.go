package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/flush"
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
	quit, done := make(chan struct{}), make(chan struct{})
	a.workerCancel, a.workerQuit, a.workerDone = cancel, quit, done
	go func() {
		defer close(done)
		defer a.recoverPanic("worker", "")
		// In the end strategy, the metrics of an invocation go out with its
		// own flush, so that it makes one document at most.
		for a.Pending() > 0 && ctx.Err() == nil && !closed(quit) {
			a.flush(ctx, a.strategy == flush.Background)
		}
	}()
}

// stopWorker ends a background delivery and waits for it. The worker ends
// its flush first: an attempt cut short in flight may have reached its
// destination, which would then get the record again. Only when ctx ends
// first is the flush cut short; its records go back to the queue with
// their attempts counted.
func (a *Agent) stopWorker(ctx context.Context) {
	a.workerMu.Lock()
	cancel, quit, done := a.workerCancel, a.workerQuit, a.workerDone
	a.workerMu.Unlock()
	if cancel == nil {
		return
	}
	if !closed(quit) {
		close(quit)
	}
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		<-done
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Flush delivers the pending records, each destination on its own so that
// a slow one does not hold the others back, then writes the metrics. The
// records that ctx ends before are delivered stay pending for the next
// flush, and so do the metrics.
func (a *Agent) Flush(ctx context.Context) { a.flush(ctx, true) }

func (a *Agent) flush(ctx context.Context, withMetrics bool) {
	a.flushing.Lock()
	defer a.flushing.Unlock()
	a.deliverPending(ctx)
	if withMetrics {
		a.writeMetrics(ctx)
	}
}

// deliverPending takes the pending jobs and delivers them by destination.
func (a *Agent) deliverPending(ctx context.Context) {
	jobs := a.take()
	var order []*target
	byDest := map[*target][]*job{}
	for _, j := range jobs {
		if _, ok := byDest[j.to]; !ok {
			order = append(order, j.to)
		}
		byDest[j.to] = append(byDest[j.to], j)
	}
	if len(order) == 1 {
		a.deliver(ctx, order[0], jobs) // the common case: no goroutine to start and wait for
		return
	}
	var wg sync.WaitGroup
	for _, t := range order {
		wg.Go(func() { a.deliver(ctx, t, byDest[t]) })
	}
	wg.Wait()
}

// deliver sends one destination's jobs until each is delivered or written
// to the log, or ctx ends and the rest wait for the next flush. A
// destination that takes batches gets the jobs in batches of its size, any
// other one at a time. Each round sends every job once; those that failed
// go again in the next round, after the backoff.
func (a *Agent) deliver(ctx context.Context, t *target, jobs []*job) {
	size := 1
	if b, ok := t.d.(destination.Batcher); ok {
		size = max(b.MaxBatch(), 1)
	}
	var later []*job
	for len(jobs) > 0 && ctx.Err() == nil {
		var again []*job
		failures := 0 // the most failed attempts of a job sent again
		for len(jobs) > 0 && ctx.Err() == nil {
			batch := jobs[:min(size, len(jobs))]
			jobs = jobs[len(batch):]
			for _, j := range batch {
				a.fit(ctx, j)
				a.metrics.Attempted(t.metric, j.attempts)
			}
			errs := a.attempt(ctx, t, batch)
			for i, j := range batch {
				switch v := j.after(ctx, errs[i], a.policy); v {
				case delivered:
					a.log.Debug("record delivered", "destination", t.Name(), "requestId", j.msg.RequestID,
						"condition", j.msg.Condition, "attempts", j.attempts)
					a.metrics.Delivered(t.metric, j.endedAt())
					a.done(j)
				case shorten:
					a.fitRefused(ctx, j, errs[i])
					again = append(again, j)
				case retryLater:
					a.log.Debug("retrying delivery", "destination", t.Name(), "requestId", j.msg.RequestID,
						"attempts", j.attempts, "error", errs[i])
					again = append(again, j)
					failures = max(failures, j.failures)
				case nextFlush:
					later = append(later, j)
				default:
					a.notDelivered(t, j, v, errs[i])
					a.fallback(j, errs[i])
					a.done(j)
				}
			}
			// The batch's slots are the only hold on a record done with
			// until this flush ends: let go of them now.
			clear(batch)
		}
		// Those not sent when ctx ended keep their place behind the failed ones.
		jobs = append(again, jobs...)
		if failures > 0 && !sleep(ctx, a.policy.Backoff(failures+1, a.jitter())) {
			break
		}
	}
	a.requeue(append(later, jobs...))
}

// attempt makes one attempt at a batch, bounded by the attempt timeout, and
// returns one error per job. A batch of one goes through Send. A panic in
// the destination fails the attempt: the extension must keep running.
func (a *Agent) attempt(ctx context.Context, t *target, batch []*job) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			errs = slices.Repeat([]error{fmt.Errorf("destination %s panicked: %v", t.Name(), p)}, len(batch))
		}
	}()
	actx, cancel := context.WithTimeout(ctx, a.attemptTimeout)
	defer cancel()
	b, ok := t.d.(destination.Batcher)
	if !ok || len(batch) == 1 {
		return []error{t.d.Send(actx, batch[0].msg)}
	}
	msgs := make([]destination.Message, len(batch))
	for i, j := range batch {
		msgs[i] = j.msg
	}
	if errs = b.SendBatch(actx, msgs); len(errs) != len(batch) {
		err := fmt.Errorf("destination %s answered for %d of %d records", t.Name(), len(errs), len(batch))
		errs = slices.Repeat([]error{err}, len(batch))
	}
	return errs
}

// sleep waits for d, and reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (a *Agent) jitter() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rand.Float64()
}

// notDelivered warns of a record given up. A refused TLS certificate is
// told once per destination: every record to it fails the same way until
// the certificate is mended, and each is on the log as undelivered.
func (a *Agent) notDelivered(t *target, j *job, v verdict, err error) {
	if !retry.CertificateError(err) {
		a.log.Warn("record not delivered", "destination", t.Name(), "requestId", j.msg.RequestID,
			"attempts", j.attempts, "verdict", v.String(), "error", err)
		return
	}
	if t.certificateRefused.CompareAndSwap(false, true) {
		a.log.Error("TLS certificate refused: records to this destination are not retried, and go to the log until it is mended",
			"destination", t.Name(), "requestId", j.msg.RequestID, "error", err)
	}
}

// fallback writes an undelivered record to the log, whole, with the reason,
// so that it can be recovered from CloudWatch Logs.
func (a *Agent) fallback(j *job, reason error) {
	err := a.lines.Line("ERROR", "undelivered record", j.msg.Record,
		"destination", j.to.Name(), "reason", reason.Error(),
		"condition", j.msg.Condition, "requestId", j.msg.RequestID)
	if err != nil {
		a.log.Error("cannot write undelivered record", "destination", j.to.Name(), "requestId", j.msg.RequestID, "error", err)
	}
	a.metrics.Undelivered(j.to.metric, err == nil)
}
