// Package retry decides, without any I/O, whether and when a failed
// delivery is tried again.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// Policy is capped exponential backoff with full jitter.
type Policy struct {
	MaxAttempts int           // attempts in all, the first included
	Base        time.Duration // the first backoff's ceiling
	Cap         time.Duration // no backoff is longer
}

// Default keeps retries short: in the `end` strategy they add to the
// function's billed time (and, under the emulator, to the caller's wait).
var Default = Policy{Base: 25 * time.Millisecond, Cap: 500 * time.Millisecond} // attempts: DESTINATIONS_MAX_ATTEMPTS

// Backoff is the wait before attempt number next (2 for the first retry);
// jitter is a random number in [0, 1).
func (p Policy) Backoff(next int, jitter float64) time.Duration {
	ceiling := p.Base
	for i := 2; i < next && ceiling < p.Cap; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.Cap)
	return time.Duration(jitter * float64(ceiling))
}

// Verdict is what to do after a failed attempt.
type Verdict int

const (
	Retry     Verdict = iota // try again after the backoff
	GiveUp                   // retries are exhausted: write the record to the log
	Permanent                // retrying cannot help: write the record to the log
	Later                    // the budget ended the attempt: keep the record for the next flush
)

func (v Verdict) String() string {
	return [...]string{"retry", "give up", "permanent", "later"}[v]
}

// Decide classifies a failed attempt. failures counts the attempts that
// failed so far, this one included; budgetLeft is whether the flush's
// budget was still open after it.
func (p Policy) Decide(err error, failures int, budgetLeft bool) Verdict {
	switch {
	case errors.Is(err, destination.ErrPermanent), CertificateError(err):
		return Permanent
	case !budgetLeft:
		// Cut short by the budget (a freeze, the deadline), not by the
		// destination: it does not count against the record.
		return Later
	case failures >= p.MaxAttempts:
		return GiveUp
	}
	return Retry
}

// CertificateError reports a TLS certificate that the client refused: an
// unknown authority (a self-signed certificate), another host's name, an
// expired or otherwise invalid one. The next handshake would be refused
// the same way.
func CertificateError(err error) bool {
	var verification *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verification) || errors.As(err, &authority) || errors.As(err, &host) || errors.As(err, &invalid)
}

// Cancelled reports whether err comes from the caller's context ending
// rather than from the destination.
func Cancelled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
