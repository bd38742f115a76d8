package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// Lambda Managed Instances (LMI) under the emulator's LMI mode: one
// environment serves many invocations at once, is never frozen, and ends
// when its runtime crashes.

// lmiFunctionPkg is the Go function of the LMI tests (see its doc comment
// for what its events do).
const lmiFunctionPkg = "./internal/rie/testdata/lmi/function"

// lmiAccount makes the emulator's function ARN the one checkRecord expects.
const lmiAccount = "012345678912"

// lmiRuntime is a function under the emulator's LMI mode, as started with
// the layer (webhook destinations on hook) and without it.
type lmiRuntime struct {
	name          string
	with, without rie.Options
	// survivesLateResult: the runtime goes on when the emulator refuses a
	// result that came after the timeout (410). aws-lambda-go v1.55.1 exits
	// then, which ends the environment; aws-lambda-ric 4 logs it and goes on.
	survivesLateResult bool
	// text: the runtime can answer a body that is not JSON (Node.js
	// serialises what a buffered handler returns).
	text bool
}

// destinations points both conditions at hook, by path.
func destinations(hook *receiver.Receiver) map[string]string {
	return map[string]string{
		"DESTINATIONS_ON_SUCCESS": hook.URL() + "/success",
		"DESTINATIONS_ON_FAILURE": hook.URL() + "/failure",
	}
}

// goLMI is the aws-lambda-go function at 8 workers: through the layer's
// /opt/bootstrap it ships under its handler's name, alone as bootstrap.
func goLMI(t *testing.T, env map[string]string, timeout time.Duration) lmiRuntime {
	t.Helper()
	fn := riet.FunctionT(t, lmiFunctionPkg, "function")
	alone := riet.FunctionT(t, lmiFunctionPkg, "bootstrap")
	base := map[string]string{"AWS_ACCOUNT_ID": lmiAccount}
	return lmiRuntime{
		name: "go",
		with: rie.Options{MaxConcurrency: 8, LayerDir: layerDir, TaskRoot: filepath.Dir(fn), Handler: "function",
			Env: merge(base, env), Timeout: timeout},
		without: rie.Options{MaxConcurrency: 8, TaskRoot: filepath.Dir(alone), Env: base, Timeout: timeout},
		text:    true,
	}
}

// nodeLMI is the walkthrough's handler under aws-lambda-ric 4 at 4
// workers, behind the layer's exec wrapper as Lambda's Node.js images run it.
func nodeLMI(t *testing.T, env map[string]string, timeout time.Duration) lmiRuntime {
	t.Helper()
	runtime := nodeRuntime(t, "index.handler")
	root, err := rie.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	task := t.TempDir()
	for dst, src := range map[string]string{
		"index.mjs":       filepath.Join("testdata", "lmi", "nodejs", "index.mjs"),
		"package.json":    filepath.Join("testdata", "lmi", "nodejs", "package.json"),
		"walkthrough.mjs": filepath.Join(root, "sam", "nodejs", "index.mjs"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(task, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Four worker threads, each taking invocations as they come.
	base := map[string]string{"AWS_ACCOUNT_ID": lmiAccount, "AWS_LAMBDA_NODEJS_WORKER_COUNT": "4"}
	o := rie.Options{MaxConcurrency: 4, TaskRoot: task, Command: runtime[:2], Handler: runtime[2], Env: base, Timeout: timeout}
	with := o
	with.LayerDir = layerDir
	with.Env = merge(base, env, map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/opt/destinations-wrapper"})
	return lmiRuntime{name: "nodejs", with: with, without: o, survivesLateResult: true}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// lmiCase is one kind of invocation of the load; event is a format for the
// invocation's number, so that every event is its own.
type lmiCase struct{ kind, event, condition string }

func lmiCases(rt lmiRuntime) []lmiCase {
	cases := []lmiCase{
		{"success", `{"Success":true,"n":%d}`, "Success"},
		{"handler error", `{"Fail":"failure %d"}`, "Failure"},
		{"20 KB response", `{"Bytes":20480,"n":%d}`, "Success"},
		{"sleeping success", `{"Sleep":200,"Success":true,"n":%d}`, "Success"},
		{"sleeping error", `{"Sleep":100,"Fail":"late failure %d"}`, "Failure"},
	}
	if rt.text {
		return append(cases, lmiCase{"not JSON", `{"Text":"plain text %d"}`, "Success"})
	}
	return append(cases, lmiCase{"walkthrough failure", `{"Success":false,"n":%d}`, "Failure"})
}

// sameAnswer reports how a and b differ to their callers, or "".
func sameAnswer(a, b *rie.Response) string {
	for _, h := range []string{"Content-Type", "Error-Type"} {
		if a.Header.Get(h) != b.Header.Get(h) {
			return fmt.Sprintf("%s %q, without the layer %q", h, a.Header.Get(h), b.Header.Get(h))
		}
	}
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		return fmt.Sprintf("%d %.100q, without the layer %d %.100q", a.Status, a.Body, b.Status, b.Body)
	}
	return ""
}

// asPayload is how a record embeds body: as JSON when it is JSON, else as
// a JSON string.
func asPayload(t *testing.T, body []byte) string {
	t.Helper()
	if json.Valid(body) {
		return compactJSON(t, string(body))
	}
	b, err := json.Marshal(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordsByID waits until hook holds n records, gives a duplicate time to
// come, and returns them by request id.
func recordsByID(t *testing.T, hook *receiver.Receiver, n int) map[string][]receiver.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := hook.Wait(ctx, n); err != nil {
		t.Error(err) // the checks of the caller tell which are missing
	} else {
		time.Sleep(300 * time.Millisecond) // a duplicate would come now
	}
	return recordsOf(hook)
}

// recordsOf groups the records hook received by request id.
func recordsOf(hook *receiver.Receiver) map[string][]receiver.Request {
	out := map[string][]receiver.Request{}
	for _, r := range hook.Received() {
		id := r.Header.Get("X-Destinations-Request-Id")
		out[id] = append(out[id], r)
	}
	return out
}

// checkOne checks that reqs is exactly one record of condition for id and
// returns it.
func checkOne(t *testing.T, what string, reqs []receiver.Request, condition string) (record.Record, bool) {
	t.Helper()
	var r record.Record
	if len(reqs) != 1 {
		t.Errorf("%s: %d records, want 1", what, len(reqs))
		return r, false
	}
	req := reqs[0]
	if want := "/" + strings.ToLower(condition); req.Path != want || req.Header.Get("X-Destinations-Condition") != condition {
		t.Errorf("%s: record posted to %s with condition %q, want %s", what, req.Path, req.Header.Get("X-Destinations-Condition"), want)
	}
	if err := json.Unmarshal(req.Body, &r); err != nil {
		t.Errorf("%s: webhook body is not a record: %v: %.200s", what, err, req.Body)
		return r, false
	}
	return r, true
}

// TestLMIConcurrentInvocations: several hundred overlapping invocations
// from as many callers, of every kind: each caller gets what it gets
// without the layer, and each invocation gives exactly one record, at the
// destination of its condition, with its own request and response.
func TestLMIConcurrentInvocations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime func(*testing.T, map[string]string, time.Duration) lmiRuntime
		calls   int
	}{
		{"go", goLMI, 300},
		{"nodejs", nodeLMI, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newReceiver(t)
			rt := tc.runtime(t, destinations(hook), 30*time.Second)
			cases := lmiCases(rt)
			calls := make([]rie.Call, tc.calls)
			for i := range calls {
				c := cases[i%len(cases)]
				calls[i] = rie.Call{
					Body:   fmt.Appendf(nil, c.event, i),
					Header: http.Header{"X-Amzn-Requestid": {fmt.Sprintf("lmi-%s-%03d", rt.name, i)}},
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			// Without the layer first: what callers get.
			withoutLoad := riet.StartT(t, rt.without).Load(ctx, len(calls), calls)
			t.Logf("%d calls from as many callers without the layer: %.0f/s", len(calls), withoutLoad.Throughput())
			for i, r := range withoutLoad.Results {
				c := cases[i%len(cases)]
				if r.Err != nil || r.Response.Status != http.StatusOK || (r.Response.Header.Get("Error-Type") != "") != (c.condition == "Failure") {
					t.Fatalf("call %d (%s) without the layer: %+v %v", i, c.kind, r.Response, r.Err)
				}
			}
			withLoad := riet.StartT(t, rt.with).Load(ctx, len(calls), calls)
			t.Logf("with the layer: %.0f/s", withLoad.Throughput())

			byID := recordsByID(t, hook, len(calls))
			for i, call := range calls {
				c := cases[i%len(cases)]
				id := call.Header.Get("X-Amzn-Requestid")
				what := id + " (" + c.kind + ")"
				a, b := withLoad.Results[i], withoutLoad.Results[i]
				if a.Err != nil || b.Err != nil {
					t.Errorf("%s: %v; without the layer %v", what, a.Err, b.Err)
					continue
				}
				if diff := sameAnswer(a.Response, b.Response); diff != "" {
					t.Errorf("%s: caller got %s", what, diff)
				}
				if r, ok := checkOne(t, what, byID[id], c.condition); ok {
					checkRecord(t, what, r, c.condition, compactJSON(t, string(call.Body)), asPayload(t, b.Response.Body))
				}
			}
			if n := len(hook.Received()); n != len(calls) {
				t.Errorf("%d records for %d invocations", n, len(calls))
			}
		})
	}
}
