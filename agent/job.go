package agent

import (
	"context"
	"errors"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

// job is one record for one destination.
type job struct {
	to  *target
	msg destination.Message
	// rec rebuilds msg shortened when it is too large for the destination:
	// nil once it was, and for destinations that take records of any size.
	rec      *record.Record
	attempts int   // attempts the destination failed
	lastErr  error // the error of the last of them
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

func (v verdict) String() string {
	return [...]string{"delivered", "retry", "shorten", "next flush", "give up", "permanent"}[v]
}

// after counts an attempt that ended with err and says what comes next.
// The retry decision itself is the policy's.
func (j *job) after(ctx context.Context, err error, p retry.Policy) verdict {
	switch {
	case err == nil:
		return delivered
	case retry.Cancelled(ctx, err):
		return nextFlush // the flush was cut short: not the destination's doing
	case errors.Is(err, destination.ErrTooLarge) && j.rec != nil:
		return shorten // the service counts sizes its own way
	}
	j.attempts++
	j.lastErr = err
	switch p.Decide(err, j.attempts, ctx.Err() == nil) {
	case retry.Retry:
		return retryLater
	case retry.Later:
		return nextFlush
	case retry.Permanent:
		return permanent
	}
	return giveUp
}
