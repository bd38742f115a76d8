package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request (DESTINATIONS_WEBHOOK_SECRET).
const (
	HeaderTimestamp = "X-Destinations-Timestamp" // unix seconds when the request was signed
	HeaderSignature = "X-Destinations-Signature" // sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
)

// DefaultTolerance is the age Verify accepts when given none.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify, for receivers that answer them differently.
var (
	ErrSignature = errors.New("webhook signature does not match")
	ErrStale     = errors.New("webhook timestamp too far from now")
)

// Sign returns the signature header value of body sent at timestamp (unix
// seconds, as sent in the timestamp header). Signing the timestamp with the
// body lets a receiver refuse a replayed request.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signed request as its receiver: timestamp and signature
// are the two headers' values, body the raw request body. It refuses a
// timestamp further than tolerance from now (DefaultTolerance when
// tolerance <= 0); signature may hold several comma-separated values, as
// during a change of secret, and one must match.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return errors.New("webhook verification needs a secret")
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not unix seconds", ErrSignature, timestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if age := now.Sub(time.Unix(ts, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed %s ago, tolerance %s", ErrStale, age.Round(time.Second), tolerance)
	}
	want := []byte(Sign(secret, strings.TrimSpace(timestamp), body))
	for s := range strings.SplitSeq(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrSignature
}
