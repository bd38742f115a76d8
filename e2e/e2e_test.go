// Package e2e runs the layer under the real Lambda Runtime Interface
// Emulator, as `sam local invoke` does, and checks what callers and
// destinations receive.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// Built once for every test of the package.
var (
	layerDir string // the layer as Lambda unpacks it under /opt
	function string // the sample function's executable
	events   string // the events folder
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := rie.Available(); err != nil {
		fmt.Println("skipping the emulator tests:", err)
		return m.Run() // each test skips through riet.StartT
	}
	tmp, err := os.MkdirTemp("", "e2e-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	layerDir = filepath.Join(tmp, "layer")
	function = filepath.Join(tmp, "task", "function")
	if err := rie.BuildLayer(ctx, layerDir); err != nil {
		fmt.Println("building the layer:", err)
		return 1
	}
	if err := rie.BuildFunction(ctx, "./sam/function", function); err != nil {
		fmt.Println("building the sample function:", err)
		return 1
	}
	root, err := rie.ModuleRoot()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	events = filepath.Join(root, "events")
	return m.Run()
}

// setup is one emulator configuration.
type setup struct {
	layer   bool
	env     map[string]string
	timeout time.Duration
	command []string // default: the wrapper in front of the function
}

func start(t *testing.T, s setup) *rie.Emulator {
	t.Helper()
	o := rie.Options{
		TaskRoot: filepath.Dir(function),
		Command:  []string{function},
		Env:      s.env,
		Timeout:  s.timeout,
	}
	if s.layer {
		o.LayerDir = layerDir
		o.Command = []string{"/opt/destinations-wrapper", function}
	}
	if s.command != nil {
		o.Command = s.command
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	return riet.StartT(t, o)
}

func event(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(events, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invoke calls the emulator with a request id of our choosing, so that
// the answers of two emulators can be compared byte for byte.
func invoke(t *testing.T, e *rie.Emulator, requestID string, body []byte) *rie.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := e.Invoke(ctx, body, http.Header{"X-Amzn-Requestid": {requestID}})
	if err != nil {
		t.Fatalf("invoke %s: %v", requestID, err)
	}
	return resp
}

func newReceiver(t *testing.T) *receiver.Receiver {
	t.Helper()
	r, err := receiver.New(receiver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// stdoutRecords reads the records the stdout destination wrote to the log.
func stdoutRecords(t *testing.T, output, msg string) map[string]logLine {
	t.Helper()
	out := map[string]logLine{}
	lines := strings.Split(output, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, `{"time"`) || !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		var l logLine
		err := json.Unmarshal([]byte(line), &l)
		if err != nil {
			// A line longer than a pipe's buffer is written in pieces, and
			// the emulator's own log lines, on the same stream, can land
			// between them: take them out and join the pieces.
			line, i = mend(lines, i)
			err = json.Unmarshal([]byte(line), &l)
		}
		if err != nil {
			t.Errorf("a record line is not JSON: %v: %.200s", err, line)
			continue
		}
		if _, dup := out[l.RequestID]; dup {
			t.Errorf("two %q lines for request %s", msg, l.RequestID)
		}
		out[l.RequestID] = l
	}
	return out
}

// emulatorLine matches the start of a line the emulator logs itself.
var emulatorLine = regexp.MustCompile(`(\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2},\d{3} \[\w+\] \(rapid\) |(START|END|REPORT) RequestId: )`)

// mend rebuilds the line starting at lines[i] that the emulator's lines
// split, and returns it with the index of its last piece.
func mend(lines []string, i int) (string, int) {
	var b strings.Builder
	for ; i < len(lines); i++ {
		piece := lines[i]
		if loc := emulatorLine.FindStringIndex(piece); loc != nil && loc[0] > 0 {
			b.WriteString(piece[:loc[0]]) // ours, then the emulator's line to its end
			continue
		}
		if emulatorLine.MatchString(piece) && b.Len() > 0 {
			continue // a whole emulator line between two pieces
		}
		b.WriteString(piece)
		if json.Valid([]byte(b.String())) {
			return b.String(), i
		}
	}
	return b.String(), i
}

type logLine struct {
	Msg         string        `json:"msg"`
	Destination string        `json:"destination"`
	Reason      string        `json:"reason"`
	Condition   string        `json:"condition"`
	RequestID   string        `json:"requestId"`
	Record      record.Record `json:"record"`
}

// lastRecord invokes e once more, with an event whose record is sure to
// reach hook, and waits for that record. A record is delivered before the
// next invocation's, so a duplicate of an earlier one would have come
// before it: this is how a test knows that none will come.
func lastRecord(t *testing.T, e *rie.Emulator, hook *receiver.Receiver, id string, body []byte) {
	t.Helper()
	invoke(t, e, id, body)
	waitFor(t, 10*time.Second, "the record of "+id, func() bool {
		for _, r := range hook.Received() {
			if r.Header.Get("X-Destinations-Request-Id") == id {
				return true
			}
		}
		return false
	})
}

// waitFor polls until cond holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}

func TestMendSplitLines(t *testing.T) {
	rec := `{"time":"t","msg":"oversize record","requestId":"r1","record":{"version":"1.0","responsePayload":"` + strings.Repeat("x", 100) + `"}}`
	cut := 60
	output := "START RequestId: r1 Version: $LATEST\n" +
		rec[:cut] + "26 Nov 2026 22:42:04,141 [INFO] (rapid) INVOKE RTDONE(status: success)\n" +
		"26 Nov 2026 22:42:04,142 [INFO] (rapid) another line\n" +
		rec[cut:] + "\nEND RequestId: r1\n"
	got := stdoutRecords(t, output, "oversize record")
	if l, ok := got["r1"]; !ok || len(l.Record.ResponsePayload) != 102 {
		t.Errorf("mended: %+v", got)
	}
}
