package rie_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// The fixtures of the LMI tests, relative to the module root.
const (
	lmiFunctionPkg  = "./internal/rie/testdata/lmi/function"
	lmiTelemetryPkg = "./internal/rie/testdata/lmi/telemetry"
)

// lmiFunction builds the LMI fixture function into a new task root under
// the executable name name, and returns the task root.
func lmiFunction(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := rie.BuildFunction(ctx, lmiFunctionPkg, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// holder answers GETs only once released: the fixture's {"Await": URL}
// invocations stay running until then.
type holder struct {
	srv      *httptest.Server
	mu       sync.Mutex
	waiting  int
	arrived  chan struct{} // receives one value per GET
	released chan struct{}
	once     sync.Once
}

func newHolder(t *testing.T) *holder {
	h := &holder{arrived: make(chan struct{}, 1024), released: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.arrived <- struct{}{}
		select {
		case <-h.released:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		h.release()
		h.srv.Close()
	})
	return h
}

func (h *holder) release() { h.once.Do(func() { close(h.released) }) }

// await waits until n invocations are held.
func (h *holder) await(ctx context.Context, n int) error {
	for range n {
		select {
		case <-h.arrived:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d held invocations: %w", n, ctx.Err())
		}
	}
	return nil
}

// waitCount waits until the emulator's output holds substr n times.
func waitCount(ctx context.Context, e *rie.Emulator, substr string, n int) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for strings.Count(e.Output(), substr) < n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d times %q in the output: %w", n, substr, ctx.Err())
		}
	}
	return nil
}

// At 8 workers the aws-lambda-go function runs 8 invocations at once; a
// ninth is refused with Runtime.Unavailable while they run, and InvokeRetry
// gets it through once one of them ends.
func TestLMIRunsInvocationsConcurrently(t *testing.T) {
	const workers = 8
	e := riet.StartT(t, rie.Options{MaxConcurrency: workers, TaskRoot: lmiFunction(t, "bootstrap"), Timeout: 30 * time.Second})
	h := newHolder(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	held := make([]rie.Call, workers)
	for i := range held {
		held[i] = rie.Call{Body: fmt.Appendf(nil, `{"Await":%q}`, h.srv.URL)}
	}
	loaded := make(chan rie.LoadResult, 1)
	go func() { loaded <- e.Load(ctx, workers, held) }()
	// All of them are running at once, or the holder would not see them all.
	if err := h.await(ctx, workers); err != nil {
		t.Fatal(err)
	}

	resp, err := e.Invoke(ctx, []byte(`{"one":"too many"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Unavailable() {
		t.Errorf("with every worker busy: %d %s, want 400 Runtime.Unavailable", resp.Status, resp.Body)
	}
	retried := make(chan *rie.Response, 1)
	go func() {
		resp, err := e.InvokeRetry(ctx, []byte(`{"one":"more"}`), nil)
		if err != nil {
			t.Error(err)
		}
		retried <- resp
	}()
	// Release the held invocations only once the emulator has refused the
	// retried one too, as it did the first.
	if err := waitCount(ctx, e, "InvokeRouter: no ready runtimes", 2); err != nil {
		t.Fatal(err)
	}
	h.release()

	for i, r := range (<-loaded).Results {
		if r.Err != nil || r.Response.Status != http.StatusOK || string(r.Response.Body) != `{"awaited":true}` {
			t.Errorf("held invocation %d: %+v %v", i, r.Response, r.Err)
		}
	}
	if resp := <-retried; resp != nil && (resp.Status != http.StatusOK || string(resp.Body) != `{"one":"more"}` || resp.Retries == 0) {
		t.Errorf("retried invocation: %d %s after %d retries, want 200 with its event, retried", resp.Status, resp.Body, resp.Retries)
	}
}

// Load's callers keep every worker busy and each caller gets its own answer.
func TestLMILoad(t *testing.T) {
	e := riet.StartT(t, rie.Options{MaxConcurrency: 4, TaskRoot: lmiFunction(t, "bootstrap"), Timeout: 30 * time.Second})
	calls := make([]rie.Call, 40)
	for i := range calls {
		calls[i] = rie.Call{
			Body:   fmt.Appendf(nil, `{"Sleep":20,"n":%d}`, i),
			Header: http.Header{"X-Amzn-Requestid": {fmt.Sprintf("load-%02d", i)}},
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got := e.Load(ctx, 12, calls)
	retries := 0
	for i, r := range got.Results {
		if r.Err != nil {
			t.Errorf("call %d: %v", i, r.Err)
			continue
		}
		if r.Response.Status != http.StatusOK || string(r.Response.Body) != string(calls[i].Body) {
			t.Errorf("call %d: %d %s, want 200 %s", i, r.Response.Status, r.Response.Body, calls[i].Body)
		}
		if r.Elapsed < r.Response.Latency {
			t.Errorf("call %d: elapsed %s shorter than its accepted attempt's %s", i, r.Elapsed, r.Response.Latency)
		}
		retries += r.Response.Retries
	}
	if got.Throughput() <= 0 {
		t.Errorf("throughput %f", got.Throughput())
	}
	t.Logf("%d calls, 12 callers, 4 workers: %.0f/s, %d Runtime.Unavailable retries", len(calls), got.Throughput(), retries)
}

// The runtime of a managed-runtime image: /var/runtime/bootstrap runs the
// command through AWS_LAMBDA_EXEC_WRAPPER, in /var/task, with _HANDLER.
func TestLMIManagedRuntime(t *testing.T) {
	task := lmiFunction(t, "runtime")
	layer := t.TempDir()
	wrapper := "#!/bin/sh\necho \"wrapper: $* in $(pwd) handler $_HANDLER task root $LAMBDA_TASK_ROOT\"\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(layer, "wrapper"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	e := riet.StartT(t, rie.Options{
		MaxConcurrency: 2,
		LayerDir:       layer,
		TaskRoot:       task,
		// A path as the runtime sees it: in the function's folder.
		Command: []string{"/var/task/runtime"},
		Handler: "index.handler",
		Env:     map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper"},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := e.InvokeRetry(ctx, []byte(`{"managed":true}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != `{"managed":true}` {
		t.Errorf("got %d %s", resp.Status, resp.Body)
	}
	want := "wrapper: /var/task/runtime in /var/task handler index.handler task root /var/task"
	if err := e.WaitOutput(ctx, want); err != nil {
		t.Error(err)
	}
}

// An OS-only function ships its executable under its handler name: the
// layer's /opt/bootstrap finds it in /var/task through _HANDLER.
func TestLMILayerBootstrap(t *testing.T) {
	root, err := rie.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	layer := t.TempDir()
	bootstrap, err := os.ReadFile(filepath.Join(root, "layer", "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "bootstrap"), bootstrap, 0o755); err != nil {
		t.Fatal(err)
	}
	// The real wrapper points the runtime at the extension's proxy; without
	// the extension, this one only runs the function.
	if err := os.WriteFile(filepath.Join(layer, "destinations-wrapper"), []byte("#!/bin/sh\necho \"wrapping $1\"\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := riet.StartT(t, rie.Options{MaxConcurrency: 2, LayerDir: layer, TaskRoot: lmiFunction(t, "function"), Handler: "function"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := e.InvokeRetry(ctx, []byte(`{"Text":"through /opt/bootstrap"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != "through /opt/bootstrap" {
		t.Errorf("got %d %q", resp.Status, resp.Body)
	}
	if err := e.WaitOutput(ctx, "wrapping /var/task/function"); err != nil {
		t.Error(err)
	}
}

// telemetryEvent is an event of the Telemetry API as the fixture extension
// prints it.
type telemetryEvent struct {
	Time   string `json:"time"`
	Type   string `json:"type"`
	Record struct {
		RequestID string `json:"requestId"`
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Metrics   struct {
			DurationMs float64 `json:"durationMs"`
		} `json:"metrics"`
	} `json:"record"`
	raw string
}

// telemetryEvents reads the events the fixture extension printed.
func telemetryEvents(t *testing.T, output string) []telemetryEvent {
	t.Helper()
	var out []telemetryEvent
	for _, line := range strings.Split(output, "\n") {
		raw, ok := strings.CutPrefix(line, "telemetry event: ")
		if !ok {
			continue
		}
		ev := telemetryEvent{raw: raw}
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Errorf("telemetry event %q: %v", raw, err)
			continue
		}
		out = append(out, ev)
	}
	return out
}

// The LMI emulator has a real Telemetry API: an extension registered for
// SHUTDOWN (all LMI allows) subscribes and gets platform.start and
// platform.report for each invocation, with the outcome in the report;
// SIGTERM then gives it its SHUTDOWN.
func TestLMITelemetry(t *testing.T) {
	layer := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := rie.BuildFunction(ctx, lmiTelemetryPkg, filepath.Join(layer, "extensions", "telemetry")); err != nil {
		t.Fatal(err)
	}
	e := riet.StartT(t, rie.Options{MaxConcurrency: 8, LayerDir: layer, TaskRoot: lmiFunction(t, "bootstrap"), Timeout: time.Second})

	invocations := []struct {
		id, event         string
		status, errorType string // of the invocation's platform.report
	}{
		{"req-success", `{"ok":1}`, "success", ""},
		{"req-error", `{"Fail":"handler error"}`, "error", "Runtime.Unknown"},
		// Sleeps on past the deadline and the end of the test.
		{"req-timeout", `{"Sleep":600000}`, "timeout", "Sandbox.Timedout"},
		{"req-after-timeout", `{"ok":2}`, "success", ""},
	}
	for _, inv := range invocations {
		resp, err := e.InvokeRetry(ctx, []byte(inv.event), http.Header{"X-Amzn-Requestid": {inv.id}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: caller got %d %v %s", inv.id, resp.Status, resp.Header, resp.Body)
	}
	if err := e.WaitOutput(ctx, `"type":"platform.report","record":{"requestId":"req-after-timeout"`); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitOutput(ctx, "telemetry subscribed: 200"); err != nil {
		t.Error(err)
	}

	byID := map[string]map[string][]telemetryEvent{}
	for _, ev := range telemetryEvents(t, e.Output()) {
		if ev.Record.RequestID == "" {
			continue
		}
		if byID[ev.Record.RequestID] == nil {
			byID[ev.Record.RequestID] = map[string][]telemetryEvent{}
		}
		byID[ev.Record.RequestID][ev.Type] = append(byID[ev.Record.RequestID][ev.Type], ev)
	}
	for _, inv := range invocations {
		evs := byID[inv.id]
		if n := len(evs["platform.start"]); n != 1 {
			t.Errorf("%s: %d platform.start events, want 1", inv.id, n)
		}
		reports := evs["platform.report"]
		if len(reports) != 1 {
			t.Errorf("%s: %d platform.report events, want 1", inv.id, len(reports))
			continue
		}
		if r := reports[0].Record; r.Status != inv.status || r.ErrorType != inv.errorType || r.Metrics.DurationMs <= 0 {
			t.Errorf("%s: platform.report %s, want status %q errorType %q", inv.id, reports[0].raw, inv.status, inv.errorType)
		}
		for _, ev := range append(evs["platform.start"], reports...) {
			t.Logf("%s: %s", inv.id, ev.raw)
		}
		if n := len(evs["platform.runtimeDone"]); n != 0 {
			t.Errorf("%s: %d platform.runtimeDone events; LMI has none", inv.id, n)
		}
	}

	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, reason, ok := strings.Cut(e.Output(), "telemetry shutdown: ")
	if reason, _, _ = strings.Cut(reason, "\n"); !ok || reason == "" {
		t.Errorf("the extension got no SHUTDOWN, or one without a reason")
	}
	t.Logf("SIGTERM gave the extension SHUTDOWN with reason %q", reason)
}
