package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

// Invoker invokes functions: *awsdest.Invoker.
type Invoker interface {
	Invoke(ctx context.Context, in awsdest.Invocation) (awsdest.InvokeResult, error)
}

// Fetcher reads the object at an s3://BUCKET/KEY location: the whole
// record the overflow bucket keeps.
type Fetcher func(ctx context.Context, location string) ([]byte, error)

// Observer is told how the run goes, from the goroutine that called Run.
type Observer interface {
	Read(n int)        // n more records were read
	Done(o Outcome)    // a selected record's fate
	NotSelected(n int) // n more records were left out by the filters
}

// Runner re-drives the records of a source.
type Runner struct {
	Filter      Filter
	Target      Target
	DryRun      bool    // decide and report, but invoke and delete nothing
	Rate        float64 // re-drives started a second at most; 0 for no limit
	Concurrency int     // re-drives at once, at least 1
	Invoker     Invoker
	Fetch       Fetcher  // nil: the overflow bucket's copies are not read
	Observer    Observer // nil: none
	// Retry retries invocations that Lambda throttled or could not take
	// (not a function that failed). Zero: 4 attempts, backing off from
	// 200 ms up to 5 s, which a throttled function recovers in.
	Retry retry.Policy
}

// Run reads the source to its end, re-drives what the plan says, tells the
// source which of its units were wholly re-driven, and returns the
// account. An error of the source before it gave anything (nothing to
// read, no permission) is returned as the error; later ones are in the
// summary.
func (r *Runner) Run(ctx context.Context, src Source) (*Summary, error) {
	s := newSummary(src.Name(), r.Target.Type, r.DryRun)
	h := newHistory()
	pace := newPacer(r.Rate)
	for batches := 0; ; batches++ {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if batches == 0 {
				return s, err
			}
			s.Errors = append(s.Errors, err.Error())
			break
		}
		s.Read += len(b.Found)
		r.observe(func(o Observer) { o.Read(len(b.Found)) })
		r.resolve(ctx, b.Found)
		ds := plan(b.Found, r.Filter, r.Target, h)
		results, stopped := r.execute(ctx, pace, ds)
		done := r.account(s, h, b, ds, results)
		deleted, errs := src.Settle(ctx, b, done)
		s.Deleted += deleted
		for _, err := range errs {
			s.Errors = append(s.Errors, err.Error())
		}
		if stopped != nil {
			s.Errors = append(s.Errors, stopped.Error())
			break
		}
		if ctx.Err() != nil {
			s.Errors = append(s.Errors, "interrupted: "+context.Cause(ctx).Error())
			break
		}
	}
	if err := src.Close(context.WithoutCancel(ctx)); err != nil {
		s.Errors = append(s.Errors, err.Error())
	}
	return s, nil
}

func (r *Runner) observe(f func(Observer)) {
	if r.Observer != nil {
		f(r.Observer)
	}
}

// resolve replaces a selected record whose payloads were left out for
// its size by the whole record the overflow bucket keeps at its location.
func (r *Runner) resolve(ctx context.Context, batch []Found) {
	for i, fd := range batch {
		loc := overflow(fd.Record)
		if fd.Err != nil || loc == "" || r.Fetch == nil || !r.Filter.matchContext(fd.Record) {
			continue
		}
		body, err := r.Fetch(ctx, loc)
		if err != nil {
			batch[i].Err = fmt.Errorf("the whole record of request %s at %s cannot be read: %w", fd.Record.RequestContext.RequestID, loc, err)
			continue
		}
		recs, _ := findRecords(body)
		if len(recs) != 1 || recs[0].RequestContext.RequestID != fd.Record.RequestContext.RequestID {
			batch[i].Err = fmt.Errorf("%s does not hold the record of request %s", loc, fd.Record.RequestContext.RequestID)
			continue
		}
		batch[i].Record = recs[0]
		batch[i].Where = fd.Where + " (whole at " + loc + ")"
	}
}

// result is how one re-drive went.
type result struct {
	ok       bool
	detail   string // how it failed
	attempts int
	denied   bool // refused for the credentials or their permissions
}

// execute re-drives the records the plan says, Concurrency at a time,
// paced; a dry run re-drives nothing. A re-drive refused for the
// credentials or their permissions stops the others, which would be
// refused too: stopped then says why.
func (r *Runner) execute(parent context.Context, pace *pacer, ds []Decision) (results []result, stopped error) {
	results = make([]result, len(ds))
	if r.DryRun {
		return results, nil
	}
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	todo := make(chan int)
	var wg sync.WaitGroup
	for range max(r.Concurrency, 1) {
		wg.Go(func() {
			for i := range todo {
				if err := pace.wait(ctx); err != nil {
					results[i] = result{detail: "not invoked: " + context.Cause(ctx).Error()}
					continue
				}
				results[i] = r.redrive(ctx, ds[i].Invocation)
				if results[i].denied {
					stop(errors.New("stopped: " + results[i].detail))
				}
			}
		})
	}
	for i, d := range ds {
		if d.Action == Redrive {
			todo <- i
		}
	}
	close(todo)
	wg.Wait()
	if parent.Err() == nil && ctx.Err() != nil {
		return results, context.Cause(ctx)
	}
	return results, nil
}

// redrive invokes once, and again while Lambda throttles or cannot take
// the call. A function that ran and failed is not invoked again.
func (r *Runner) redrive(ctx context.Context, in awsdest.Invocation) result {
	policy := r.Retry
	if policy.MaxAttempts == 0 {
		policy = retry.Policy{MaxAttempts: 4, Base: 200 * time.Millisecond, Cap: 5 * time.Second}
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout(in.Type))
		res, err := r.Invoker.Invoke(actx, in)
		cancel()
		switch {
		case err == nil && res.FunctionError == "":
			return result{ok: true, attempts: attempt}
		case err == nil:
			return result{detail: functionFailed(in, res), attempts: attempt}
		case ctx.Err() != nil || !awsdest.Retryable(err) || attempt >= policy.MaxAttempts:
			return result{detail: err.Error(), attempts: attempt, denied: awsdest.Denied(err)}
		}
		t := time.NewTimer(policy.Backoff(attempt+1, rand.Float64()))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return result{detail: err.Error(), attempts: attempt}
		}
	}
}

// attemptTimeout bounds one invocation: an Event call is queued at once,
// a RequestResponse call runs the function, up to 15 minutes.
func attemptTimeout(invocationType string) time.Duration {
	if invocationType == awsdest.InvocationRequestResponse {
		return 16 * time.Minute
	}
	return 30 * time.Second
}

// functionFailed says how the function failed, from its error body.
func functionFailed(in awsdest.Invocation, res awsdest.InvokeResult) string {
	var e struct{ ErrorType, ErrorMessage string }
	_ = json.Unmarshal(res.Payload, &e)
	msg := "function " + functionName(in) + " failed again (" + res.FunctionError + ")"
	if e.ErrorType != "" {
		msg += ": " + e.ErrorType
	}
	if e.ErrorMessage != "" {
		msg += ": " + truncate(e.ErrorMessage, 300)
	}
	return msg
}

// functionName is the function invoked, with its qualifier.
func functionName(in awsdest.Invocation) string {
	if in.Qualifier != "" {
		return in.Function + ":" + in.Qualifier
	}
	return in.Function
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// account adds the batch's outcomes to the summary and the history, and
// returns for each unit of the batch whether all it holds was re-driven
// successfully: a unit holding something else, or nothing, is not done.
func (r *Runner) account(s *Summary, h *history, b Batch, ds []Decision, results []result) []bool {
	done := make([]bool, b.Units)
	held := make([]bool, b.Units) // the unit holds records
	notSelected := 0
	for i, fd := range b.Found {
		d := ds[i]
		ok := false
		switch {
		case d.Action == Redrive:
			ok = results[i].ok
			h.redriven[fd.Record.RequestContext.RequestID] = earlier{where: fd.Where, ok: ok}
		case d.Reason.Kind == KindDuplicate && d.Of >= 0:
			ok = results[d.Of].ok
		case d.Reason.Kind == KindDuplicate:
			ok = h.redriven[fd.Record.RequestContext.RequestID].ok
		}
		if fd.Unit >= 0 && fd.Unit < b.Units {
			if !held[fd.Unit] {
				held[fd.Unit], done[fd.Unit] = true, true
			}
			done[fd.Unit] = done[fd.Unit] && ok && !r.DryRun
		}
		if d.Action == NotSelected {
			notSelected++
			continue
		}
		o := outcome(fd, d, results[i], r.DryRun)
		s.add(o)
		r.observe(func(obs Observer) { obs.Done(o) })
	}
	if notSelected > 0 {
		r.observe(func(obs Observer) { obs.NotSelected(notSelected) })
	}
	return done
}

// outcome is the account of one selected record.
func outcome(fd Found, d Decision, res result, dryRun bool) Outcome {
	o := Outcome{RequestID: fd.Record.RequestContext.RequestID, Condition: fd.Record.RequestContext.Condition, Where: fd.Where}
	if d.Action != Redrive {
		o.Outcome, o.Reason, o.Detail = OutcomeSkipped, d.Reason.Kind, d.Reason.Text
		return o
	}
	o.Function = functionName(d.Invocation)
	switch {
	case dryRun:
		o.Outcome = OutcomeWouldRedrive
	case res.ok:
		o.Outcome, o.Attempts = OutcomeSucceeded, res.attempts
	default:
		o.Outcome, o.Detail, o.Attempts = OutcomeFailedAgain, res.detail, res.attempts
	}
	return o
}
