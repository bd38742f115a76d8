package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runtimesDir holds custom runtimes on HTTP clients other than Go's and
// aws-lambda-ric's libcurl, each with a function whose behaviour the event
// chooses: {"Success": true}, {"Success": false} (posted to /error as
// HandlerError), {"Timeout": true}, {"Crash": true}.
const runtimesDir = "testdata/runtimes"

// customRuntime is one runtime of runtimesDir as the emulator runs it.
type customRuntime struct {
	name string
	dir  string // its folder under runtimesDir, the task root
	// command returns the runtime's command line, given dir's absolute
	// path; the emulator passes its last word as _HANDLER.
	command func(t *testing.T, dir string) []string
	// timeout is the function's. After a timeout or a crash the emulator
	// starts the runtime again within the next invocation's time, which a
	// busy machine must not make run out.
	timeout time.Duration
}

var (
	// The bootstrap of the AWS tutorial: a curl, and a connection, per call.
	bashRuntime = customRuntime{name: "bash+curl", dir: "bash", timeout: 5 * time.Second,
		command: func(t *testing.T, dir string) []string {
			lookPath(t, "bash")
			lookPath(t, "curl")
			return []string{filepath.Join(dir, "bootstrap"), "function.handler"}
		}}
	// A new connection per call too (urllib sends Connection: close).
	urllibRuntime = customRuntime{name: "python urllib", dir: "python", timeout: 5 * time.Second,
		command: func(t *testing.T, dir string) []string {
			return []string{python(t), filepath.Join(dir, "urllib_runtime.py")}
		}}
	// One connection kept for every call.
	httpClientRuntime = customRuntime{name: "python http.client", dir: "python", timeout: 5 * time.Second,
		command: func(t *testing.T, dir string) []string {
			return []string{python(t), filepath.Join(dir, "httpclient_runtime.py")}
		}}
	// A pool of kept connections, with the JDK's HttpClient on its defaults:
	// it asks for HTTP/2 by an h2c upgrade, which the Runtime API ignores.
	// Compiled once rather than launched from source, which compiles it at
	// every start, and run with the options Lambda's Java runtimes start
	// the JVM with (C1 only, serial GC): a busy machine makes the JVM's
	// start take seconds even so.
	javaRuntime = customRuntime{name: "java HttpClient", dir: "java", timeout: 10 * time.Second,
		command: func(t *testing.T, dir string) []string {
			classes := t.TempDir()
			javac := exec.Command(lookPath(t, "javac"), "-d", classes, filepath.Join(dir, "HttpClientRuntime.java"))
			if out, err := javac.CombinedOutput(); err != nil {
				t.Fatalf("compiling the Java runtime: %v: %s", err, out)
			}
			return []string{lookPath(t, "java"), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classes, "HttpClientRuntime"}
		}}

	customRuntimes = []customRuntime{bashRuntime, urllibRuntime, httpClientRuntime, javaRuntime}
)

// resolve returns the runtime's task root and command.
func (rt customRuntime) resolve(t *testing.T) (taskRoot string, command []string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(runtimesDir, rt.dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, rt.command(t, dir)
}

// lookPath finds program on PATH. Without it the test is skipped, or fails
// when CI is set.
func lookPath(t *testing.T, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		msg := fmt.Sprintf("this runtime needs %s: %v", program, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run there)")
		}
		t.Skip(msg)
	}
	return path
}

// python returns the path of the Python interpreter itself: a version
// manager's shim on PATH (pyenv's is a shell script) would add its own
// start to every start of the runtime.
func python(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(lookPath(t, "python3"), "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("finding the Python interpreter: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestCustomRuntimes runs each custom runtime through the layer's exec
// wrapper, as the layer's users run theirs, and without the layer, under
// both flush strategies. Every invocation, whatever its outcome, gives the
// caller what it gets without the layer and exactly one right record; with
// DESTINATIONS_FLUSH=end the record reaches the webhook before the caller
// has its answer, since the emulator answers only after the extension's
// next /extension/event/next.
func TestCustomRuntimes(t *testing.T) {
	for _, rt := range customRuntimes {
		for _, flush := range []string{"end", "background"} {
			t.Run(rt.name+"/"+flush, func(t *testing.T) {
				t.Parallel()
				taskRoot, command := rt.resolve(t)
				p := startPair(t, pairOptions{
					taskRoot: taskRoot,
					command:  command,
					timeout:  rt.timeout,
					flush:    flush,
					// The tutorial's bootstrap leaves a mktemp file per event.
					env: map[string]string{"TMPDIR": t.TempDir()},
				})
				handlerError := sameAsCaller("HandlerError")
				ok := sameAsCaller("")
				p.run(t, []outcomeCase{
					{"success", event(t, "success.json"), "Success", ok},
					// The same process again: a kept connection is reused,
					// a new one per call is opened and closed again.
					{"warm success", event(t, "success.json"), "Success", ok},
					{"handler error", event(t, "failure.json"), "Failure", handlerError},
					{"success after an error", event(t, "success.json"), "Success", ok},
					{"timeout", event(t, "timeout.json"), "Failure", timedOut(rt.timeout)},
					{"success after a timeout", event(t, "success.json"), "Success", ok},
					{"crash", event(t, "crash.json"), "Failure", exited()},
					{"success after a crash", event(t, "success.json"), "Success", ok},
				})
			})
		}
	}
}
