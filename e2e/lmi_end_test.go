package e2e

// How invocations and environments end under Lambda Managed Instances:
// a timeout fails the caller while the code runs on, and the environment
// ends at SIGTERM or when its runtime crashes.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// holder answers GETs once released: an {"Await": URL} invocation runs on
// past its deadline until then.
func holder(t *testing.T) (url string, release func()) {
	released := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-released:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		release()
		srv.Close()
	})
	return srv.URL, release
}

// lmiTimeout is the function timeout of TestLMITimeout. The LMI emulator
// gives the init the same time, which Node.js with its worker threads needs
// more than a second of on a busy machine.
const lmiTimeout = 5 * time.Second

// TestLMITimeout: a timed-out invocation gives exactly one Sandbox.Timedout
// record, the result its code posts later none, and the invocations after
// it are recorded. The layer subscribes to the LMI emulator's Telemetry API,
// whose platform.report tells the timeout too.
func TestLMITimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime func(*testing.T, map[string]string, time.Duration) lmiRuntime
	}{
		{"go", goLMI},
		{"nodejs", nodeLMI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newReceiver(t)
			rt := tc.runtime(t, destinations(hook), lmiTimeout)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()

			// Without the layer first: what callers get.
			alone := timeoutSequence(ctx, t, riet.StartT(t, rt.without), rt, func([]timedCall) {})
			for _, c := range alone.calls {
				a := alone.answers[c.id]
				if failed := a.Header.Get("Error-Type") != ""; failed != (c.condition == "Failure") {
					t.Errorf("%s without the layer: %d %v %s", c.id, a.Status, a.Header, a.Body)
				}
			}

			with := riet.StartT(t, rt.with)
			got := timeoutSequence(ctx, t, with, rt, func(calls []timedCall) {
				// Recorded before the late result, which may end the environment.
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				defer wcancel()
				if _, err := hook.Wait(wctx, len(calls)); err != nil {
					t.Error(err)
				}
			})
			byID := recordsByID(t, hook, len(got.calls))
			for _, c := range got.calls {
				if diff := sameAnswer(got.answers[c.id], alone.answers[c.id]); diff != "" {
					t.Errorf("%s: caller got %s", c.id, diff)
				}
				r, ok := checkOne(t, c.id, byID[c.id], c.condition)
				if !ok {
					continue
				}
				response := asPayload(t, alone.answers[c.id].Body)
				if c.id == "req-timeout" {
					var e struct{ ErrorType, ErrorMessage string }
					if err := json.Unmarshal(r.ResponsePayload, &e); err != nil || e.ErrorType != "Sandbox.Timedout" ||
						!strings.HasSuffix(e.ErrorMessage, fmt.Sprintf("Task timed out after %.2f seconds", lmiTimeout.Seconds())) {
						t.Errorf("req-timeout: responsePayload %s, want the Sandbox.Timedout error", r.ResponsePayload)
					}
					response = string(r.ResponsePayload) // checked above
				}
				checkRecord(t, c.id, r, c.condition, compactJSON(t, c.event), response)
			}
			if n := len(hook.Received()); n != len(got.calls) {
				t.Errorf("%d records for %d invocations", n, len(got.calls))
			}

			out := with.Output()
			if !strings.Contains(out, `msg="Telemetry subscription created" agentName=destinations`) {
				t.Error("the layer did not subscribe to the Telemetry API")
			}
			if strings.Contains(out, "could not send batch to telemetry api Subscriber Subscriber=destinations") {
				t.Error("the layer's Telemetry listener refused events")
			}
		})
	}
}

type timedCall struct{ id, event, condition string }

type timedRun struct {
	calls   []timedCall
	answers map[string]*rie.Response
}

// timeoutSequence invokes e with an invocation held past its deadline and
// five after it; calls beforeRelease with those, lets the held one answer,
// waits until the emulator has refused that late result and, where the
// runtime survives that, invokes three more.
func timeoutSequence(ctx context.Context, t *testing.T, e *rie.Emulator, rt lmiRuntime, beforeRelease func([]timedCall)) timedRun {
	t.Helper()
	url, release := holder(t)
	run := timedRun{answers: map[string]*rie.Response{}}
	call := func(c timedCall) {
		resp, err := e.InvokeRetry(ctx, []byte(c.event), http.Header{"X-Amzn-Requestid": {c.id}})
		if err != nil {
			t.Fatal(err)
		}
		run.calls = append(run.calls, c)
		run.answers[c.id] = resp
	}
	call(timedCall{"req-timeout", fmt.Sprintf(`{"Await":%q}`, url), "Failure"})
	for i := range 5 {
		call(timedCall{fmt.Sprintf("req-after-timeout-%d", i), fmt.Sprintf(`{"Success":true,"n":%d}`, i), "Success"})
	}
	beforeRelease(run.calls)
	release()
	// "response is too late for timed out invoke", or "error is…"
	if err := e.WaitOutput(ctx, "is too late for timed out invoke"); err != nil {
		t.Fatal(err)
	}
	if rt.survivesLateResult {
		for i := range 3 {
			call(timedCall{fmt.Sprintf("req-after-late-result-%d", i), fmt.Sprintf(`{"Success":true,"n":%d}`, 10+i), "Success"})
		}
	}
	return run
}

// TestLMIShutdownWithRecordsPending: records still going out when the
// environment ends (SIGTERM, on which the LMI emulator sends SHUTDOWN; or
// the runtime crashing, which ends the whole environment) are all
// delivered or written to the log before the emulator exits.
func TestLMIShutdownWithRecordsPending(t *testing.T) {
	for _, end := range []string{"sigterm", "crash"} {
		t.Run(end, func(t *testing.T) {
			hook := newReceiver(t)
			hook.SetDelay(300 * time.Millisecond) // slower than the invocations
			rt := goLMI(t, destinations(hook), 30*time.Second)
			e := riet.StartT(t, rt.with)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			calls := make([]rie.Call, 40)
			var ids []string
			for i := range calls {
				id := fmt.Sprintf("req-%02d", i)
				ids = append(ids, id)
				calls[i] = rie.Call{Body: fmt.Appendf(nil, `{"n":%d}`, i), Header: http.Header{"X-Amzn-Requestid": {id}}}
			}
			for i, r := range e.Load(ctx, len(calls), calls).Results {
				if r.Err != nil || r.Response.Status != http.StatusOK {
					t.Fatalf("call %d: %+v %v", i, r.Response, r.Err)
				}
			}

			switch end {
			case "sigterm":
				if err := e.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
			case "crash":
				ids = append(ids, "req-crash")
				resp, err := e.Invoke(ctx, []byte(`{"Crash":true}`), http.Header{"X-Amzn-Requestid": {"req-crash"}})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("the crashing invocation's caller got %d %s", resp.Status, resp.Body)
				select {
				case <-e.Done():
				case <-ctx.Done():
					t.Fatal("the emulator did not end after the crash")
				}
			}

			if !strings.Contains(e.Output(), "ShutdownContext shutdown() initiated") {
				t.Error("the emulator did not go through its shutdown")
			}
			logged, delivered := stdoutRecords(t, e.Output(), "undelivered record"), recordsOf(hook)
			lost := slices.DeleteFunc(ids, func(id string) bool {
				_, ok := logged[id]
				return ok || len(delivered[id]) > 0
			})
			if len(lost) > 0 {
				t.Errorf("records of %v neither delivered nor logged", lost)
			}
			t.Logf("%d delivered, %d written to the log", len(delivered), len(logged))
		})
	}
}
