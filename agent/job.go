package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

// job is one record for one destination.
type job struct {
	to  *target
	msg destination.Message
	// short rebuilds msg shortened when it is too large for the
	// destination: nil once it was, and for destinations that take records
	// of any size.
	short    *shortenable
	weight   int   // bytes counted against the pending cap
	attempts int   // attempts made
	failures int   // of them, those the destination failed: what the retry policy counts
	lastErr  error // the error of the last attempt
	// ended is when the invocation ended, in Unix nanoseconds (0 when not
	// known), for the delivery's latency: a time.Time would make every job
	// a size class larger.
	ended int64
}

// verdict is what becomes of a job after an attempt.
type verdict int

const (
	delivered  verdict = iota
	retryLater         // send it again after the backoff
	shorten            // refused for its size: shorten it and send it again
	nextFlush          // the flush ended first: keep it for the next one
	giveUp             // its attempts are spent: write it to the log
	permanent          // retrying cannot help: write it to the log
)

// endedAt is when the invocation ended; the zero time when not known.
func (j *job) endedAt() time.Time {
	if j.ended == 0 {
		return time.Time{}
	}
	return time.Unix(0, j.ended)
}

func (v verdict) String() string {
	return [...]string{"delivered", "retry", "shorten", "next flush", "give up", "permanent"}[v]
}

// after counts an attempt that ended with err and says what comes next.
// The retry decision itself is the policy's.
func (j *job) after(ctx context.Context, err error, p retry.Policy) verdict {
	if errors.Is(err, destination.ErrTooLarge) && j.short != nil {
		return shorten // the service counts sizes its own way
	}
	j.attempts++
	j.lastErr = err
	switch {
	case err == nil:
		return delivered
	case retry.Cancelled(ctx, err):
		// The flush was cut short, which is not the destination's doing:
		// the attempt is not held against the record.
		return nextFlush
	}
	j.failures++
	switch p.Decide(err, j.failures, ctx.Err() == nil) {
	case retry.Retry:
		return retryLater
	case retry.Later:
		return nextFlush
	case retry.Permanent:
		return permanent
	}
	return giveUp
}

// unsent is why a job is written to the log when the shutdown deadline
// comes first. An attempt that ended without an answer, cut short or timed
// out, may have reached the destination all the same.
func (j *job) unsent() error {
	const head = "not delivered before the shutdown deadline"
	switch {
	case j.attempts == 0:
		return errors.New(head + ": no attempt made")
	case errors.Is(j.lastErr, context.Canceled), errors.Is(j.lastErr, context.DeadlineExceeded):
		return fmt.Errorf("%s (%s): the last one had no answer, and the record may have been delivered: %w", head, plural(j.attempts, "attempt"), j.lastErr)
	}
	return fmt.Errorf("%s (%s): %w", head, plural(j.attempts, "attempt"), j.lastErr)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
