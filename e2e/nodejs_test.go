package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// ricDir holds aws-lambda-ric, the runtime interface client of Lambda's
// Node.js images, pinned in its package.json and installed by its install.sh.
const ricDir = "testdata/ric"

// nodeTimeout is generous: node starts in a fraction of a second, and no
// case here is about the deadline.
const nodeTimeout = 10 * time.Second

// nodeRuntime returns the command that runs handler as a Node.js managed
// runtime does: node running aws-lambda-ric's entry point, which loads the
// handler from its working directory (the task root), not from
// LAMBDA_TASK_ROOT, and calls /next, /response and /error through libcurl
// (aws-lambda-cpp), not through Node's http (which only streams responses).
// Without node or aws-lambda-ric the test is skipped, or fails when CI is set.
func nodeRuntime(t *testing.T, handler string) []string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run there)")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("the Node.js runtime test needs node: %v", err)
	}
	dir, err := filepath.Abs(ricDir)
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "node_modules", "aws-lambda-ric")
	entry := filepath.Join(pkg, "index.mjs") // the package's bin, what `npx aws-lambda-ric` runs
	for _, f := range []string{entry, filepath.Join(pkg, "rapid-client.node")} {
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			missing("aws-lambda-ric is not installed (no %s): run bash e2e/testdata/ric/install.sh", f)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return []string{node, entry, handler}
}

// nodeError is the body aws-lambda-ric posts to /error: Node.js names the
// stack "trace", where other runtimes say "stackTrace".
type nodeError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	Trace        []string `json:"trace"`
}

// nodePair starts the function under two emulators: one with the layer and
// webhook destinations on hook for both conditions, one without the layer.
func nodePair(t *testing.T, hook *receiver.Receiver, taskRoot, handler string) (with, without *rie.Emulator) {
	t.Helper()
	if err := rie.Available(); err != nil {
		t.Skip(err)
	}
	runtime := nodeRuntime(t, handler)
	with = riet.StartT(t, rie.Options{
		LayerDir: layerDir,
		TaskRoot: taskRoot,
		// As AWS_LAMBDA_EXEC_WRAPPER=/opt/destinations-wrapper runs it.
		Command: append([]string{"/opt/destinations-wrapper"}, runtime...),
		Env: map[string]string{
			"DESTINATIONS_ON_SUCCESS": hook.URL() + "/success",
			"DESTINATIONS_ON_FAILURE": hook.URL() + "/failure",
		},
		Timeout: nodeTimeout,
	})
	without = riet.StartT(t, rie.Options{TaskRoot: taskRoot, Command: runtime, Timeout: nodeTimeout})
	return with, without
}

// nodeCase is one invocation of both emulators.
type nodeCase struct {
	name, id  string
	event     []byte
	condition string
	// asCaller: the record's responsePayload is the caller's response body,
	// as both are what the runtime posted. Not so for a crash, where the
	// emulator tells the caller the exit status, which the extension cannot know.
	asCaller bool
	// check looks at the record's responsePayload.
	check func(t *testing.T, id string, payload json.RawMessage)
	// exitRace: the runtime exits after this invocation's failure
	// (aws-lambda-ric 4 after a streamed error), racing the emulator's end
	// of the response, so that the caller gets 200 or 502, with or
	// without the layer alike; the bodies must still be the same.
	exitRace bool
}

// runNodeCases invokes both emulators with each case under the same request
// id and checks that the callers' answers are identical and that hook got
// exactly one record per case, with the caller's response as responsePayload.
func runNodeCases(t *testing.T, hook *receiver.Receiver, with, without *rie.Emulator, cases []nodeCase) {
	t.Helper()
	answers := map[string]*rie.Response{}
	for _, c := range cases {
		a := invoke(t, with, c.id, c.event)
		b := invoke(t, without, c.id, c.event)
		t.Logf("%s: %d in %s with the layer, %d in %s without: %.80q", c.name, a.Status, a.Latency.Round(time.Millisecond),
			b.Status, b.Latency.Round(time.Millisecond), a.Body)
		sameStatus := a.Status == b.Status || (c.exitRace && racedStatus(a.Status) && racedStatus(b.Status))
		if !sameStatus || string(a.Body) != string(b.Body) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") {
			t.Errorf("%s: with the layer %d %s %q, without %d %s %q", c.name,
				a.Status, a.Header.Get("Content-Type"), a.Body, b.Status, b.Header.Get("Content-Type"), b.Body)
		}
		// Loose: only a stall (such as a crash noticed late) fails this.
		if extra := a.Latency - b.Latency; extra > 1500*time.Millisecond {
			t.Errorf("%s: the layer delayed the caller by %s (%s with, %s without)", c.name,
				extra.Round(time.Millisecond), a.Latency.Round(time.Millisecond), b.Latency.Round(time.Millisecond))
		}
		answers[c.id] = a
	}

	lastRecord(t, with, hook, "req-last", cases[0].event)
	got := hook.Received()
	if len(got) != len(cases)+1 {
		t.Errorf("webhook got %d records, want %d and the last one's", len(got), len(cases))
	}
	byID := map[string][]receiver.Request{}
	for _, r := range got {
		id := r.Header.Get("X-Destinations-Request-Id")
		byID[id] = append(byID[id], r)
	}
	for _, c := range cases {
		reqs := byID[c.id]
		if len(reqs) != 1 {
			t.Errorf("%s: %d webhook records for %s, want 1", c.name, len(reqs), c.id)
			continue
		}
		req := reqs[0]
		if want := "/" + strings.ToLower(c.condition); req.Method != http.MethodPost || req.Path != want ||
			req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Destinations-Condition") != c.condition {
			t.Errorf("%s: webhook request %s %s %v, want POST %s with condition %s", c.name, req.Method, req.Path, req.Header, want, c.condition)
		}
		var r record.Record
		if err := json.Unmarshal(req.Body, &r); err != nil {
			t.Errorf("%s: webhook body is not a record: %v: %s", c.name, err, req.Body)
			continue
		}
		response := string(r.ResponsePayload) // checked by c.check alone
		if c.asCaller {
			response = compactJSON(t, string(answers[c.id].Body))
		}
		checkRecord(t, c.id+" ("+c.name+")", r, c.condition, compactJSON(t, string(c.event)), response)
		if c.check != nil {
			c.check(t, c.id, r.ResponsePayload)
		}
	}
}

// TestNodeRuntimeInterfaceClient runs the walkthrough's Node.js handler
// (sam/nodejs) as the nodejs runtimes do, with aws-lambda-ric behind the
// layer's exec wrapper: one record per invocation, of the right condition,
// and callers get the same answers as without the layer.
func TestNodeRuntimeInterfaceClient(t *testing.T) {
	root, err := rie.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	hook := newReceiver(t)
	with, without := nodePair(t, hook, filepath.Join(root, "sam", "nodejs"), "index.handler")

	const message = "Failure from event, Success = false, I am failing!"
	success := func(t *testing.T, id string, payload json.RawMessage) {
		if string(payload) != `{"Success":true}` {
			t.Errorf("%s: responsePayload %s, want the handler's result {\"Success\":true}", id, payload)
		}
	}
	failure := func(t *testing.T, id string, payload json.RawMessage) {
		var e nodeError
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Errorf("%s: responsePayload %s: %v", id, payload, err)
			return
		}
		if e.ErrorType != "Error" || e.ErrorMessage != message {
			t.Errorf("%s: responsePayload errorType %q errorMessage %q, want Error %q", id, e.ErrorType, e.ErrorMessage, message)
		}
		if len(e.Trace) < 2 || e.Trace[0] != "Error: "+message || !strings.Contains(e.Trace[1], "sam/nodejs/index.mjs:") {
			t.Errorf("%s: responsePayload trace %q, want the stack of the throw in sam/nodejs/index.mjs", id, e.Trace)
		}
	}
	runNodeCases(t, hook, with, without, []nodeCase{
		{"success", "req-node-success", event(t, "success.json"), "Success", true, success, false},
		{"failure", "req-node-failure", event(t, "failure.json"), "Failure", true, failure, false},
		// The same node process again: its libcurl connection to the proxy
		// is reused between invocations.
		{"warm success", "req-node-success-2", event(t, "success.json"), "Success", true, success, false},
		{"warm failure", "req-node-failure-2", event(t, "failure.json"), "Failure", true, failure, false},
	})
}

// testFunction is the folder of the handlers beyond the walkthrough's.
func testFunction(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(ricDir, "function"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNodeRuntimeCrash: a Node.js process that exits during an invocation
// gives one Failure record with Runtime.ExitError, and the next invocation,
// in a new process, one Success record.
func TestNodeRuntimeCrash(t *testing.T) {
	hook := newReceiver(t)
	with, without := nodePair(t, hook, testFunction(t), "index.handler")
	crash := func(t *testing.T, id string, payload json.RawMessage) {
		var e nodeError
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Errorf("%s: responsePayload %s: %v", id, payload, err)
			return
		}
		if want := "RequestId: " + id + " Error: Runtime exited"; e.ErrorType != "Runtime.ExitError" || !strings.HasPrefix(e.ErrorMessage, want) {
			t.Errorf("%s: responsePayload %s, want Runtime.ExitError %q…", id, payload, want)
		}
	}
	ok := func(t *testing.T, id string, payload json.RawMessage) {
		if string(payload) != `{"ok":true}` {
			t.Errorf("%s: responsePayload %s, want {\"ok\":true}", id, payload)
		}
	}
	runNodeCases(t, hook, with, without, []nodeCase{
		{"before the crash", "req-node-ok", event(t, "success.json"), "Success", true, ok, false},
		{"crash", "req-node-crash", event(t, "crash.json"), "Failure", false, crash, false},
		{"after the crash", "req-node-after-crash", event(t, "success.json"), "Success", true, ok, false},
	})
}

// TestNodeRuntimeStreaming: a response-streaming handler, whose response
// aws-lambda-ric sends with Node's http as a chunked body on a second
// connection, and whose failure midway comes in trailers: one record each,
// the stream's bytes on success and the trailer's error on failure.
func TestNodeRuntimeStreaming(t *testing.T) {
	hook := newReceiver(t)
	with, without := nodePair(t, hook, testFunction(t), "stream.handler")
	const chunks = "chunk 0\nchunk 1\nchunk 2\n"
	streamed := func(t *testing.T, id string, payload json.RawMessage) {
		var s string
		if err := json.Unmarshal(payload, &s); err != nil || s != chunks {
			t.Errorf("%s: responsePayload %s, want the streamed text %q as a JSON string", id, payload, chunks)
		}
	}
	failed := func(t *testing.T, id string, payload json.RawMessage) {
		var e nodeError
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Errorf("%s: responsePayload %s: %v", id, payload, err)
			return
		}
		if e.ErrorType != "Error" || e.ErrorMessage != "stream failed midway" || len(e.Trace) == 0 {
			t.Errorf("%s: responsePayload %s, want the error of the trailers", id, payload)
		}
	}
	runNodeCases(t, hook, with, without, []nodeCase{
		{"stream", "req-node-stream", []byte(`{}`), "Success", false, streamed, false},
		// The emulator gives the caller the chunks sent before the failure.
		{"stream failing midway", "req-node-stream-fail", []byte(`{"Fail":true}`), "Failure", false, failed, true},
		{"stream again", "req-node-stream-2", []byte(`{}`), "Success", false, streamed, false},
	})
}

// racedStatus is a status the emulator gives a streamed response whose
// runtime exits as it ends: the response as streamed, or the exit.
func racedStatus(status int) bool {
	return status == http.StatusOK || status == http.StatusBadGateway
}
