package replay

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// Filter selects the records to re-drive. The zero Filter selects all.
type Filter struct {
	// Condition is record.ConditionFailure (any condition but Success:
	// native records say RetriesExhausted or EventAgeExceeded),
	// record.ConditionSuccess, or "" for both.
	Condition string
	// ErrorTypes keeps the records whose error type matches one, as
	// DESTINATIONS_FAILURE_ERROR_TYPES does: exactly, or by prefix with a
	// trailing *. Empty keeps all.
	ErrorTypes []string
	// Since and Until bound the record's timestamp, Until excluded; zero
	// is no bound.
	Since, Until time.Time
	// RequestIDs keeps only these requests; nil keeps all.
	RequestIDs map[string]bool
	// Function keeps the records of one function: of any version or alias
	// when it has no qualifier, else of that one only. Zero keeps all.
	Function arn.ARN
}

// matchContext tells whether the record's context (everything but its
// payloads) is selected.
func (f Filter) matchContext(r record.Record) bool {
	c := r.RequestContext
	if f.Condition != "" && failed(r) != (f.Condition == record.ConditionFailure) {
		return false
	}
	if f.RequestIDs != nil && !f.RequestIDs[c.RequestID] {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, r.Timestamp)
		if err != nil || (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
			return false
		}
	}
	if f.Function != (arn.ARN{}) {
		fn, err := arn.Parse(c.FunctionARN)
		if err != nil || fn.Unqualified() != f.Function.Unqualified() {
			return false
		}
		if q := f.Function.Qualifier(); q != "" && fn.Qualifier() != q {
			return false
		}
	}
	return true
}

// failed tells a failure record: ours say Failure, native ones
// RetriesExhausted or EventAgeExceeded.
func failed(r record.Record) bool { return r.RequestContext.Condition != record.ConditionSuccess }

// matchError tells whether the record's error type is selected, with the
// layer's own matcher. A response left out for its size cannot tell: the
// record is kept, for Event to name why it cannot be re-driven.
func (f Filter) matchError(r record.Record) bool {
	if len(f.ErrorTypes) == 0 {
		return true
	}
	if _, ok := omitted(bytes.TrimSpace(r.ResponsePayload)); ok {
		return true
	}
	inv := invocation.Invocation{Response: invocation.Payload{Bytes: r.ResponsePayload}}
	return route.MatchErrorType(f.ErrorTypes, inv)
}

// ParseCondition reads --condition: Failure, Success or any, in any case.
func ParseCondition(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "failure":
		return record.ConditionFailure, nil
	case "success":
		return record.ConditionSuccess, nil
	case "any", "all":
		return "", nil
	}
	return "", fmt.Errorf("--condition %q: want Failure, Success or any", s)
}

// ParseTime reads --since and --until: an RFC 3339 time
// (2024-05-01T12:00:00Z), a date (2024-05-01, midnight UTC), or a duration
// before now (90m, 2h, 7d).
func ParseTime(flag, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := time.ParseDuration(days + "h"); err == nil && d >= 0 {
			return now.Add(-24 * d), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want an RFC 3339 time (2024-05-01T12:00:00Z), a date (2024-05-01) or a duration before now (90m, 2h, 7d)", flag, s)
}

// ParseFunctionARN reads --function-arn: a Lambda function's ARN, with or
// without a version or alias.
func ParseFunctionARN(s string) (arn.ARN, error) {
	a, err := lambdaARN(strings.TrimSpace(s))
	if err != nil {
		return arn.ARN{}, fmt.Errorf("--function-arn: %w", err)
	}
	return a, nil
}

// List splits a comma-separated flag value, dropping empty items.
func List(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
