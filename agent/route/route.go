// Package route decides, without any I/O, which records a completed
// invocation makes and which destinations each goes to.
package route

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Router holds the destinations of each condition, as indexes into the
// agent's list of destinations, and the rules that narrow them.
type Router struct {
	Success []int
	Failure []int
	Slow    []int

	// SampleSuccesses keeps only the share SuccessSampleRate (0 to 1) of
	// success records, chosen by request id (see Sampled); failures are all
	// kept. Unset, every success is kept.
	SampleSuccesses   bool
	SuccessSampleRate float64
	// FailureErrorTypes limits the failures routed to those whose error type
	// matches one of them; a trailing * matches a prefix. Empty means all.
	FailureErrorTypes []string
	// SlowThreshold: a success that took longer also goes to Slow.
	SlowThreshold time.Duration
}

// Delivery is one record to make and where it goes.
type Delivery struct {
	Condition string // the native condition: record.ConditionSuccess or ConditionFailure
	Slow      bool   // the record is the slow one: destinationsCondition Slow
	Dests     []int
}

// Route returns the records inv makes: none, one, or for a slow success
// the success record and the slow one. A destination that is both a
// success and a slow destination gets only the slow record, which is a
// success record too, so that it holds one record per invocation.
// sampledOut says that sampling kept the success record from its
// destinations.
func (r Router) Route(inv invocation.Invocation) (out []Delivery, sampledOut bool) {
	if inv.Outcome.Failed() {
		if len(r.Failure) == 0 || !MatchErrorType(r.FailureErrorTypes, inv) {
			return nil, false
		}
		return []Delivery{{Condition: record.ConditionFailure, Dests: r.Failure}}, false
	}
	slow := len(r.Slow) > 0 && r.IsSlow(inv)
	var success []int
	if len(r.Success) > 0 {
		sampledOut = r.SampleSuccesses && !Sampled(inv.RequestID, r.SuccessSampleRate)
		if !sampledOut {
			success = r.Success
		}
		if slow {
			success = without(success, r.Slow)
		}
	}
	if len(success) > 0 {
		out = append(out, Delivery{Condition: record.ConditionSuccess, Dests: success})
	}
	if slow {
		out = append(out, Delivery{Condition: record.ConditionSuccess, Slow: true, Dests: r.Slow})
	}
	return out, sampledOut
}

// IsSlow reports whether a success took longer than the threshold.
func (r Router) IsSlow(inv invocation.Invocation) bool {
	if r.SlowThreshold <= 0 || inv.Outcome.Failed() || inv.Start.IsZero() || inv.End.IsZero() {
		return false
	}
	return inv.End.Sub(inv.Start) > r.SlowThreshold
}

// Sampled reports whether the record of requestID is kept at rate: it is
// when the first 8 bytes of SHA-256(requestID), as a big-endian fraction
// of 2^64, are below rate. Retries of a request and every destination (and
// any other program using the same rule) make the same choice.
func Sampled(requestID string, rate float64) bool {
	switch {
	case rate >= 1:
		return true
	case !(rate > 0): // 0, negative or NaN
		return false
	}
	sum := sha256.Sum256([]byte(requestID))
	// The top 53 bits make an exact float64 in [0, 1).
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/(1<<53) < rate
}

// MatchErrorType reports whether a failure's error type matches one of
// patterns (exactly, or by prefix for a trailing *); no patterns match all.
// The error type is tried as the runtime sent it, without a Function<…>
// wrapper, and as the errorType field of a JSON error body, since runtimes
// put the function's own error type in one or the other.
func MatchErrorType(patterns []string, inv invocation.Invocation) bool {
	if len(patterns) == 0 {
		return true
	}
	t := inv.ErrorType
	if matchAny(patterns, t) {
		return true
	}
	if inner, ok := strings.CutPrefix(t, "Function<"); ok && strings.HasSuffix(inner, ">") {
		if matchAny(patterns, strings.TrimSuffix(inner, ">")) {
			return true
		}
	}
	if body := BodyErrorType(inv.Response.Join()); body != "" && body != t {
		return matchAny(patterns, body)
	}
	return false
}

// BodyErrorType is the errorType field of a JSON error body, if any.
func BodyErrorType(body []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if len(body) == 0 || json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.ErrorType
}

func matchAny(patterns []string, errorType string) bool {
	if errorType == "" {
		return false
	}
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(errorType, prefix) {
				return true
			}
		} else if p == errorType {
			return true
		}
	}
	return false
}

// without returns the elements of a not in b.
func without(a, b []int) []int {
	var out []int
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}
