package retry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

func TestBackoff(t *testing.T) {
	p := Policy{MaxAttempts: 10, Base: 100 * time.Millisecond, Cap: time.Second}
	tests := []struct {
		next   int
		jitter float64
		want   time.Duration
	}{
		{2, 0.999999, 100 * time.Millisecond},
		{2, 0.5, 50 * time.Millisecond},
		{3, 0.5, 100 * time.Millisecond},
		{4, 0.5, 200 * time.Millisecond},
		{5, 0.5, 400 * time.Millisecond},
		{6, 0.5, 500 * time.Millisecond}, // capped at 1s
		{60, 0.5, 500 * time.Millisecond},
		{3, 0, 0},
	}
	for _, tt := range tests {
		got := p.Backoff(tt.next, tt.jitter)
		if d := got - tt.want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.next, tt.jitter, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	p := Policy{MaxAttempts: 3}
	retryable := errors.New("webhook answered 503")
	permanent := fmt.Errorf("%w: webhook answered 403", destination.ErrPermanent)
	// As the webhook and AWS clients wrap what http.Client.Do returns.
	handshake := func(err error) error {
		return fmt.Errorf("webhook https://example.com: %w", &url.Error{Op: "Post", URL: "https://example.com", Err: err})
	}
	cert := &x509.Certificate{DNSNames: []string{"example.com"}}
	tests := []struct {
		name       string
		err        error
		failures   int
		budgetLeft bool
		want       Verdict
	}{
		{"self-signed certificate", handshake(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: cert}}), 1, true, Permanent},
		{"unknown authority", handshake(x509.UnknownAuthorityError{Cert: cert}), 1, true, Permanent},
		{"another host's certificate", handshake(&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: cert, Host: "127.0.0.1"}}), 1, true, Permanent},
		{"expired certificate", handshake(x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}), 1, true, Permanent},
		{"not TLS at all", handshake(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), 1, true, Retry},
		{"first 5xx", retryable, 1, true, Retry},
		{"second 5xx", retryable, 2, true, Retry},
		{"attempts exhausted", retryable, 3, true, GiveUp},
		{"permanent at once", permanent, 1, true, Permanent},
		{"permanent even without budget", permanent, 1, false, Permanent},
		{"budget ended", retryable, 1, false, Later},
		{"budget ended on the last attempt", retryable, 3, false, Later},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.err, tt.failures, tt.budgetLeft); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}
