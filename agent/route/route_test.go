package route

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Request ids on either side of a 0.5 sample rate (see TestSampledIDs).
const (
	keptAtHalf    = "req-kept-3"
	droppedAtHalf = "req-dropped"
)

func TestSampledIDs(t *testing.T) {
	if !Sampled(keptAtHalf, 0.5) || Sampled(droppedAtHalf, 0.5) {
		t.Fatalf("the fixture ids no longer straddle 0.5: kept %v, dropped %v", Sampled(keptAtHalf, 0.5), Sampled(droppedAtHalf, 0.5))
	}
}

// sampledOutCases are the cases of TestRoute whose success record sampling
// keeps from its destinations.
var sampledOutCases = map[string]bool{
	"sampled out":                         true,
	"rate 0 drops every success":          true,
	"slow success sampled out still slow": true,
}

func TestRoute(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	inv := func(id string, o invocation.Outcome, errType, body string, took time.Duration) invocation.Invocation {
		return invocation.Invocation{RequestID: id, Outcome: o, ErrorType: errType,
			Response: invocation.Payload{Bytes: []byte(body)}, Start: t0, End: t0.Add(took)}
	}
	base := Router{Success: []int{0}, Failure: []int{1}}
	with := func(f func(*Router)) Router { r := base; f(&r); return r }
	success := Delivery{Condition: record.ConditionSuccess, Dests: []int{0}}
	failure := Delivery{Condition: record.ConditionFailure, Dests: []int{1}}
	slowTo := func(d ...int) Delivery { return Delivery{Condition: record.ConditionSuccess, Slow: true, Dests: d} }
	filtered := func(types ...string) Router { return with(func(r *Router) { r.FailureErrorTypes = types }) }
	slowRouter := with(func(r *Router) { r.Slow, r.SlowThreshold = []int{2}, time.Second })

	tests := []struct {
		name   string
		router Router
		inv    invocation.Invocation
		want   []Delivery
	}{
		{"success", base, inv(keptAtHalf, invocation.Success, "", "", 0), []Delivery{success}},
		{"error", base, inv(keptAtHalf, invocation.Error, "SampleError", "", 0), []Delivery{failure}},
		{"timeout", base, inv(keptAtHalf, invocation.Timeout, "Sandbox.Timedout", "", 0), []Delivery{failure}},
		{"crash", base, inv(keptAtHalf, invocation.Crash, "Runtime.ExitError", "", 0), []Delivery{failure}},
		{"no success destinations", Router{Failure: []int{1}}, inv(keptAtHalf, invocation.Success, "", "", 0), nil},
		{"no failure destinations", Router{Success: []int{0}}, inv(keptAtHalf, invocation.Error, "E", "", 0), nil},

		{"sampled in", with(func(r *Router) { r.SampleSuccesses, r.SuccessSampleRate = true, 0.5 }), inv(keptAtHalf, invocation.Success, "", "", 0), []Delivery{success}},
		{"sampled out", with(func(r *Router) { r.SampleSuccesses, r.SuccessSampleRate = true, 0.5 }), inv(droppedAtHalf, invocation.Success, "", "", 0), nil},
		{"rate 1 keeps all", with(func(r *Router) { r.SampleSuccesses, r.SuccessSampleRate = true, 1 }), inv(droppedAtHalf, invocation.Success, "", "", 0), []Delivery{success}},
		{"rate 0 drops every success", with(func(r *Router) { r.SampleSuccesses, r.SuccessSampleRate = true, 0 }), inv(keptAtHalf, invocation.Success, "", "", 0), nil},
		{"failures are never sampled", with(func(r *Router) { r.SampleSuccesses, r.SuccessSampleRate = true, 0 }), inv(droppedAtHalf, invocation.Error, "E", "", 0), []Delivery{failure}},

		{"filter exact", filtered("SampleError"), inv("r", invocation.Error, "SampleError", "", 0), []Delivery{failure}},
		{"filter other type", filtered("SampleError"), inv("r", invocation.Error, "OtherError", "", 0), nil},
		{"filter is case-sensitive", filtered("sampleerror"), inv("r", invocation.Error, "SampleError", "", 0), nil},
		{"filter prefix", filtered("Sandbox.*"), inv("r", invocation.Timeout, "Sandbox.Timedout", "", 0), []Delivery{failure}},
		{"filter prefix no match", filtered("Runtime.*"), inv("r", invocation.Timeout, "Sandbox.Timedout", "", 0), nil},
		{"filter crash", filtered("Sandbox.Timedout", "Runtime.ExitError"), inv("r", invocation.Crash, "Runtime.ExitError", "", 0), []Delivery{failure}},
		{"filter Function<> wrapper", filtered("SampleError"), inv("r", invocation.Error, "Function<SampleError>", "", 0), []Delivery{failure}},
		{"filter matches the wrapper too", filtered("Function<*"), inv("r", invocation.Error, "Function<SampleError>", "", 0), []Delivery{failure}},
		{"filter body errorType", filtered("SampleError"), inv("r", invocation.Error, "Unhandled",
			`{"errorType":"SampleError","errorMessage":"boom"}`, 0), []Delivery{failure}},
		{"filter body without header", filtered("SampleError"), inv("r", invocation.Error, "",
			` {"errorMessage":"boom","errorType":"SampleError"}`, 0), []Delivery{failure}},
		{"filter body other type", filtered("SampleError"), inv("r", invocation.Error, "Unhandled", `{"errorType":"TypeError"}`, 0), nil},
		{"filter non-JSON body", filtered("SampleError"), inv("r", invocation.Error, "Unhandled", `SampleError`, 0), nil},
		{"filter star matches all", filtered("*"), inv("r", invocation.Error, "Anything", "", 0), []Delivery{failure}},
		{"filter needs a type", filtered("*"), inv("r", invocation.Error, "", "", 0), nil},
		{"filters leave successes alone", filtered("SampleError"), inv(keptAtHalf, invocation.Success, "", "", 0), []Delivery{success}},

		{"fast success", slowRouter, inv(keptAtHalf, invocation.Success, "", "", time.Second), []Delivery{success}},
		{"slow success", slowRouter, inv(keptAtHalf, invocation.Success, "", "", time.Second+time.Millisecond), []Delivery{success, slowTo(2)}},
		{"slow success sampled out still slow", with(func(r *Router) { r.Slow, r.SlowThreshold, r.SampleSuccesses = []int{2}, time.Second, true }),
			inv(droppedAtHalf, invocation.Success, "", "", 2*time.Second), []Delivery{slowTo(2)}},
		{"slow without success destinations", Router{Failure: []int{1}, Slow: []int{2}, SlowThreshold: time.Second},
			inv("r", invocation.Success, "", "", 2*time.Second), []Delivery{slowTo(2)}},
		{"slow failure is a failure only", slowRouter, inv("r", invocation.Timeout, "Sandbox.Timedout", "", time.Minute), []Delivery{failure}},
		{"destination in both gets the slow record only", with(func(r *Router) { r.Success, r.Slow, r.SlowThreshold = []int{0, 2}, []int{2}, time.Second }),
			inv(keptAtHalf, invocation.Success, "", "", 2*time.Second), []Delivery{success, slowTo(2)}},
		{"same destination in both", with(func(r *Router) { r.Slow, r.SlowThreshold = []int{0}, time.Second }),
			inv(keptAtHalf, invocation.Success, "", "", 2*time.Second), []Delivery{slowTo(0)}},
		{"no threshold no slow", with(func(r *Router) { r.Slow = []int{2} }), inv(keptAtHalf, invocation.Success, "", "", time.Hour), []Delivery{success}},
		{"unknown start not slow", slowRouter, invocation.Invocation{RequestID: keptAtHalf, End: t0}, []Delivery{success}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, sampledOut := tt.router.Route(tt.inv)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Route = %+v, want %+v", got, tt.want)
			}
			if want := sampledOutCases[tt.name]; sampledOut != want {
				t.Errorf("sampled out %v, want %v", sampledOut, want)
			}
		})
	}
}

func TestSampled(t *testing.T) {
	tests := []struct {
		rate float64
		want bool
	}{{1, true}, {1.5, true}, {0, false}, {-1, false}, {math.NaN(), false}}
	for _, tt := range tests {
		if got := Sampled("any", tt.rate); got != tt.want {
			t.Errorf("Sampled(any, %v) = %v, want %v", tt.rate, got, tt.want)
		}
	}
	// Deterministic, monotonic in the rate, and near the asked share.
	kept := 0
	const n = 20000
	for i := range n {
		id := fmt.Sprintf("8f3c2a1e-0000-4000-8000-%012d", i)
		if Sampled(id, 0.1) != Sampled(id, 0.1) {
			t.Fatalf("Sampled(%s) changed its mind", id)
		}
		if Sampled(id, 0.1) && !Sampled(id, 0.2) {
			t.Fatalf("%s kept at 0.1 but not at 0.2", id)
		}
		if Sampled(id, 0.1) {
			kept++
		}
	}
	if share := float64(kept) / n; share < 0.09 || share > 0.11 {
		t.Errorf("kept %.3f of successes at 0.1", share)
	}
}
