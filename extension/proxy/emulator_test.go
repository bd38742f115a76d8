package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestMain lets the test binary be a runtime's command under the emulator:
// with PROXY_IN_FRONT set to a runtime's command line, it serves a proxy in
// front of the emulator's Runtime API, runs the runtime through it, and
// prints what the observer is told.
func TestMain(m *testing.M) {
	if command := os.Getenv("PROXY_IN_FRONT"); command != "" {
		os.Exit(proxyInFront(strings.Fields(command)))
	}
	os.Exit(m.Run())
}

func proxyInFront(command []string) int {
	p := New(Options{Upstream: os.Getenv("AWS_LAMBDA_RUNTIME_API"), MaxPayloadBytes: 1 << 20,
		Observer: &printer{}, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go p.Serve(ln)
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// observed is what the observer is told, as printer prints it.
type observed struct {
	Kind, Call, RequestID string
	Status                int
	Failed                bool
	ErrorType, Body       string
	Size                  int64
	Answer                string
}

// printer is an Observer that prints a line for each event and result.
type printer struct{ mu sync.Mutex }

func (pr *printer) print(o observed) {
	b, _ := json.Marshal(o)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	fmt.Printf("observed %s\n", b)
}

func (pr *printer) Polled() {}
func (pr *printer) Event(ev Event) {
	pr.print(observed{Kind: "event", RequestID: ev.RequestID, Size: ev.Body.Size})
}
func (pr *printer) Result(r Result) {
	pr.print(observed{Kind: "result", Call: r.Call.String(), RequestID: r.RequestID, Status: r.Status, Failed: r.Failed,
		ErrorType: r.ErrorType, Body: string(r.Body.Join()[:min(r.Body.Len(), 200)]), Size: r.Body.Size, Answer: string(r.Answer)})
}
func (pr *printer) RuntimeGone() {}

// observedResult waits for the result the emulator's runtime printed for a
// call and request id.
func observedResult(t *testing.T, e *rie.Emulator, call Call, id string) observed {
	t.Helper()
	var found *observed
	eventually(t, fmt.Sprintf("the %v result of %q", call, id), func() bool {
		for line := range strings.Lines(e.Output()) {
			_, js, ok := strings.Cut(line, "observed ")
			var o observed
			if ok && json.Unmarshal([]byte(js), &o) == nil && o.Kind == "result" && o.Call == call.String() && o.RequestID == id {
				found = &o
			}
		}
		return found != nil
	})
	return *found
}

// runtimeGot is the answers the emulator's runtime printed it got, in order.
func runtimeGot(e *rie.Emulator) []string {
	var got []string
	for line := range strings.Lines(e.Output()) {
		if rest, ok := strings.CutPrefix(line, "runtime-got "); ok {
			got = append(got, strings.TrimSpace(rest))
		}
	}
	return got
}

// emulators starts the Python runtime under two emulators, one through a
// proxy and one without.
func emulators(t *testing.T, flags []string, pyArgs string) (with, without *rie.Emulator) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	script, err := filepath.Abs("testdata/runtime.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(script)
	// A loaded machine may take seconds to start Python: the timeout must
	// not decide the outcome.
	const timeout = 30 * time.Second
	with = riet.StartT(t, rie.Options{TaskRoot: dir, Command: slices.Concat(flags, []string{os.Args[0]}), Timeout: timeout,
		Env: map[string]string{"PROXY_IN_FRONT": "python3 " + script, "RUNTIME_PY_ARGS": pyArgs}})
	without = riet.StartT(t, rie.Options{TaskRoot: dir, Command: slices.Concat(flags, []string{"python3", script}), Timeout: timeout,
		Env: map[string]string{"RUNTIME_PY_ARGS": pyArgs}})
	return with, without
}

// invokeBoth invokes both emulators alike: the caller must get the same
// answer, and the runtime the same answers to its calls, of which it makes
// the given number.
func invokeBoth(t *testing.T, with, without *rie.Emulator, id, event string, calls int) *rie.Response {
	t.Helper()
	before := len(runtimeGot(without))
	header := http.Header{"X-Amzn-Requestid": {id}}
	a, err := with.Invoke(t.Context(), []byte(event), header)
	if err != nil {
		t.Fatal(err)
	}
	b, err := without.Invoke(t.Context(), []byte(event), header)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		t.Errorf("the caller got %d %q through the proxy, %d %q without", a.Status, a.Body, b.Status, b.Body)
	}
	// The runtime may print what it got after the caller has its answer.
	eventually(t, "the runtime to print its answers", func() bool {
		return len(runtimeGot(with)) >= before+calls && len(runtimeGot(without)) >= before+calls
	})
	if ga, gb := runtimeGot(with), runtimeGot(without); strings.Join(ga, "\n") != strings.Join(gb, "\n") {
		t.Errorf("the runtime got\n%q\nthrough the proxy,\n%q\nwithout", ga, gb)
	}
	t.Logf("%s: %d %.80q in %v through the proxy, %v without", id, a.Status, a.Body, a.Latency, b.Latency)
	return a
}

// Under the emulator, with Python runtimes on both kinds of connection: a
// response over 6 MB refused, an absolute-form target, a response with
// error trailers in and out of streaming mode, an error. The caller and
// the runtime get what they get without the proxy; the observer is told
// what Lambda makes of each.
func TestUnderTheEmulator(t *testing.T) {
	const tooLarge = `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`
	cases := []struct {
		name, event string
		call        Call
		want        observed // what of it is checked
		httpClient  bool     // needs http.client: urllib sends origin-form only
	}{
		{"over 6 MB", `{"size": 7340032}`, CallResponse, observed{Status: 413, Size: 7340032, Answer: tooLarge + "\n"}, false},
		{"absolute-form", `{"absolute": true, "ok": true}`, CallResponse, observed{Status: 202, Body: `{"absolute": true, "ok": true}`}, true},
		{"error trailers, buffered", `{"trailer_error": "Oops"}`, CallResponse, observed{Status: 202, Body: "partial"}, false},
		{"error trailers, streaming", `{"trailer_error": "Oops", "streaming": true}`, CallResponse,
			observed{Status: 202, Failed: true, ErrorType: "Oops", Body: `{"errorType": "Oops", "errorMessage": "broke midway"}`}, false},
		{"error", `{"error": "Boom"}`, CallError, observed{Status: 202, Failed: true, ErrorType: "Boom", Body: `{"errorType": "Boom", "errorMessage": "failed"}`}, false},
	}
	for _, client := range []string{"http.client", "urllib"} {
		t.Run(client, func(t *testing.T) {
			with, without := emulators(t, nil, "--client "+client)
			invokeBoth(t, with, without, client+"-warm-up", `{"warm":"up"}`, 1) // the emulators start the runtime now
			for i, c := range cases {
				if c.httpClient && client != "http.client" {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					id := fmt.Sprintf("%s-%d", strings.ReplaceAll(client, ".", "-"), i)
					invokeBoth(t, with, without, id, c.event, 1)
					got := observedResult(t, with, c.call, id)
					if got.Status != c.want.Status || got.Failed != c.want.Failed || got.ErrorType != c.want.ErrorType ||
						c.want.Body != "" && got.Body != c.want.Body || c.want.Size != 0 && got.Size != c.want.Size || got.Answer != c.want.Answer {
						t.Errorf("observed %+v, want %+v", got, c.want)
					}
				})
			}
		})
	}
}

// With the emulator's init caching (the SnapStart flow it has), the
// runtime's /runtime/restore/next and /runtime/restore/error pass through:
// it gets the same answers as without the proxy, and so does the caller.
func TestRestoreUnderTheEmulator(t *testing.T) {
	with, without := emulators(t, []string{"--enable-init-caching"}, "--restore --restore-error Restore.Failed")
	invokeBoth(t, with, without, "restored", `{"after":"restore"}`, 2)
	if got := runtimeGot(with); len(got) < 2 || got[0] != `restore-next 200 {"after":"restore"}` || got[1] != `restore-error 202 {"status":"OK"}` {
		t.Errorf("the runtime got %q", got)
	}
	got := observedResult(t, with, CallRestoreError, "")
	if got.Status != 202 || !got.Failed || got.ErrorType != "Restore.Failed" || got.Body != `{"errorType": "Restore.Failed", "errorMessage": "restore failed"}` {
		t.Errorf("observed %+v", got)
	}
}
