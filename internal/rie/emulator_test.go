// The emulator's own tests are an external package, so that they can use
// riet, which imports rie.
package rie_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

var (
	functionOnce sync.Once
	functionBin  string
	functionErr  error
)

// sampleFunction builds ./sam/function once for the package's tests.
func sampleFunction(t *testing.T) string {
	t.Helper()
	functionOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rie-test-function-")
		if err != nil {
			functionErr = err
			return
		}
		functionBin = filepath.Join(dir, "bootstrap")
		functionErr = rie.BuildFunction(context.Background(), "./sam/function", functionBin)
	})
	if functionErr != nil {
		t.Fatal(functionErr)
	}
	return functionBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if functionBin != "" {
		os.RemoveAll(filepath.Dir(functionBin))
	}
	os.Exit(code)
}

// processesRunning lists the processes whose executable or first argument is path.
func processesRunning(path string) []int {
	var out []int
	for _, pid := range rie.Pids() {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		arg0, _, _ := strings.Cut(string(cmdline), "\x00")
		if strings.TrimSuffix(exe, " (deleted)") == path || arg0 == path {
			out = append(out, pid)
		}
	}
	return out
}

type lambdaError struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

func invoke(t *testing.T, e *rie.Emulator, event string) *rie.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	resp, err := e.Invoke(ctx, []byte(event), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: status %d, latency %s, body %.200s", event, resp.Status, resp.Latency, resp.Body)
	return resp
}

// Without an extension a timeout is a 200 with a plain-text body, and the
// next invocation starts a new runtime.
func TestEmulatorTimeout(t *testing.T) {
	bin := sampleFunction(t)
	e := riet.StartT(t, rie.Options{TaskRoot: filepath.Dir(bin), Command: []string{bin}, Timeout: 2 * time.Second})
	resp := invoke(t, e, `{"Timeout": true}`)
	if resp.Status != http.StatusOK || string(resp.Body) != "Task timed out after 2.00 seconds" {
		t.Errorf("timeout: got %d %q", resp.Status, resp.Body)
	}
	if resp.Latency < 2*time.Second {
		t.Errorf("timeout answered after %s, before the 2s deadline", resp.Latency)
	}
	if err := e.WaitOutput(t.Context(), "Reset initiated: Timeout"); err != nil {
		t.Error(err)
	}
	resp = invoke(t, e, `{"Success": true}`)
	if resp.Status != http.StatusOK || string(resp.Body) != `{"ok":true,"message":"success"}` {
		t.Errorf("after timeout: got %d %q", resp.Status, resp.Body)
	}
}

func TestEmulatorRunsFunction(t *testing.T) {
	bin := sampleFunction(t)
	e := riet.StartT(t, rie.Options{
		TaskRoot: filepath.Dir(bin),
		Command:  []string{bin},
		Timeout:  10 * time.Second, // generous: the timeout case has its own test
	})
	if !strings.HasPrefix(e.InvokeURL(), "http://127.0.0.1:") {
		t.Errorf("InvokeURL() = %q", e.InvokeURL())
	}

	tests := []struct {
		name       string
		event      string
		wantStatus int
		wantBody   string       // exact, when not empty
		wantError  *lambdaError // fields compared when not empty
		wantOutput string
	}{
		{name: "success", event: `{"Success": true}`, wantStatus: 200, wantBody: `{"ok":true,"message":"success"}`, wantOutput: "START RequestId: "},
		{name: "failure", event: `{"Success": false}`, wantStatus: 200,
			wantError: &lambdaError{ErrorType: "SampleError", ErrorMessage: "sample failure requested by the event"}},
		{name: "text", event: `{"Text": "not <json>"}`, wantStatus: 200, wantBody: "not <json>"},
		{name: "echo", event: `{"Echo": [1, 2], "x": "y"}`, wantStatus: 200, wantBody: `{"Echo": [1, 2], "x": "y"}`},
		{name: "crash", event: `{"Crash": true}`, wantStatus: http.StatusBadGateway,
			wantError: &lambdaError{ErrorType: "Runtime.ExitError"}, wantOutput: "exit status 3"},
		{name: "after crash", event: `{"Success": true}`, wantStatus: 200, wantBody: `{"ok":true,"message":"success"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			resp, err := e.Invoke(ctx, []byte(tt.event), http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("status %d, latency %s, header %v, body %s", resp.Status, resp.Latency, resp.Header, resp.Body)
			if resp.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.Status, tt.wantStatus)
			}
			if tt.wantBody != "" && string(resp.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", resp.Body, tt.wantBody)
			}
			if tt.wantError != nil {
				var got lambdaError
				if err := json.Unmarshal(resp.Body, &got); err != nil {
					t.Fatalf("error body %q: %v", resp.Body, err)
				}
				if got.ErrorType != tt.wantError.ErrorType {
					t.Errorf("errorType = %q, want %q", got.ErrorType, tt.wantError.ErrorType)
				}
				if tt.wantError.ErrorMessage != "" && got.ErrorMessage != tt.wantError.ErrorMessage {
					t.Errorf("errorMessage = %q, want %q", got.ErrorMessage, tt.wantError.ErrorMessage)
				}
			}
			if tt.wantOutput != "" {
				if err := e.WaitOutput(ctx, tt.wantOutput); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// The emulator itself crashes on overlapping invocations; Invoke queues them.
func TestConcurrentInvokesAreSerialised(t *testing.T) {
	bin := sampleFunction(t)
	e := riet.StartT(t, rie.Options{TaskRoot: filepath.Dir(bin), Command: []string{bin}})
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			resp, err := e.Invoke(t.Context(), []byte(`{"Success": true}`), http.Header{"X-Amzn-Requestid": {"req-" + strconv.Itoa(i)}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = resp.Status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("invocation %d: status %d", i, st)
		}
	}
	// The request id header is the invocation's id.
	if err := e.WaitOutput(t.Context(), "START RequestId: req-3 "); err != nil {
		t.Error(err)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	bin := sampleFunction(t)
	// A private copy, so that other tests' runtimes do not count.
	dir := t.TempDir()
	own := filepath.Join(dir, "bootstrap")
	if err := rie.CopyFile(bin, own, 0o755); err != nil {
		t.Fatal(err)
	}
	e := riet.StartT(t, rie.Options{TaskRoot: dir, Command: []string{own}})
	resp, err := e.Invoke(t.Context(), []byte(`{"Success": true}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.Status, resp.Body)
	}
	if got := processesRunning(own); len(got) == 0 {
		t.Fatalf("runtime %s not found running before Stop", own)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := processesRunning(own); len(got) != 0 {
		t.Errorf("processes %v of %s still running after Stop", got, own)
	}
	select {
	case <-e.Done():
	default:
		t.Error("Done() not closed after Stop")
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// A layer is mounted at /opt and the extensions it holds are started by the
// emulator; Stop must also end those.
func TestLayerExtensionsStopped(t *testing.T) {
	bin := sampleFunction(t)
	layer := t.TempDir()
	marker := "layer-marker-" + strconv.Itoa(os.Getpid())
	// GNU sleep adds up its arguments: the fraction tells this test's
	// extension apart from those of tests running in parallel.
	sleepArgs := []string{"sleep", "3600", fmt.Sprintf("0.%09d", rand.IntN(1e9))}
	ext := filepath.Join(layer, "extensions", "sleeper")
	if err := os.MkdirAll(filepath.Dir(ext), 0o755); err != nil {
		t.Fatal(err)
	}
	// Never registers: the invocation waits in init while the extension lives.
	script := "#!/bin/sh\necho " + marker + " in $0 task root $LAMBDA_TASK_ROOT\nexec " + strings.Join(sleepArgs, " ") + "\n"
	if err := os.WriteFile(ext, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// Init gives up after the function timeout; the test must be done by then.
	e := riet.StartT(t, rie.Options{LayerDir: layer, TaskRoot: filepath.Dir(bin), Command: []string{bin}, Timeout: 30 * time.Second})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	go func() {
		// Answers only when init gives up; Stop ends it sooner.
		_, _ = e.Invoke(ctx, []byte(`{"Success": true}`), nil)
	}()
	want := marker + " in /opt/extensions/sleeper task root " + filepath.Dir(bin)
	if err := e.WaitOutput(ctx, want); err != nil {
		t.Fatal(err)
	}
	sleepers := func() []int {
		var out []int
		for _, pid := range rie.Pids() {
			b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if slices.Equal(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), sleepArgs) {
				out = append(out, pid)
			}
		}
		return out
	}
	// The script prints before it execs sleep.
	for len(sleepers()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("extension process not found before Stop")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := sleepers(); len(left) != 0 {
		t.Errorf("extension processes %v left after Stop", left)
	}
}

// TestProcess finds the emulator's own runtime, not another emulator's
// running the same executable, and nothing for an executable it did not start.
func TestProcess(t *testing.T) {
	bin := sampleFunction(t)
	dir := t.TempDir()
	own := filepath.Join(dir, "bootstrap")
	if err := rie.CopyFile(bin, own, 0o755); err != nil {
		t.Fatal(err)
	}
	var es []*rie.Emulator
	for range 2 {
		e := riet.StartT(t, rie.Options{TaskRoot: dir, Command: []string{own}})
		invoke(t, e, `{"Success": true}`) // the runtime starts with the first invocation
		es = append(es, e)
	}
	running := processesRunning(own)
	pids := map[int]bool{}
	for _, e := range es {
		pid, err := e.Process(own)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(running, pid) || pids[pid] {
			t.Errorf("Process(%s) = %d; running %v, already found %v", own, pid, running, pids)
		}
		pids[pid] = true
	}
	if _, err := es[0].Process(own + "-other"); err == nil {
		t.Error("found a process the emulator did not start")
	}
}
