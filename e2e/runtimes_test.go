package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
	// command is the runtime's command line: a word naming a file of dir
	// becomes that file's path, and a first word that does not is a program
	// on PATH. The emulator passes the last word as _HANDLER.
	command []string
	needs   []string // further programs it runs
	// timeout is the function's. After a timeout or a crash the emulator
	// starts the runtime again within the next invocation's time, which a
	// busy machine must not make run out.
	timeout time.Duration
}

var (
	// The bootstrap of the AWS tutorial: a curl, and a connection, per call.
	bashRuntime = customRuntime{name: "bash+curl", dir: "bash", command: []string{"bootstrap", "function.handler"},
		needs: []string{"bash", "curl"}, timeout: 3 * time.Second}
	// A new connection per call too (urllib sends Connection: close).
	urllibRuntime = customRuntime{name: "python urllib", dir: "python", command: []string{"python3", "urllib_runtime.py"},
		timeout: 3 * time.Second}
	// One connection kept for every call.
	httpClientRuntime = customRuntime{name: "python http.client", dir: "python", command: []string{"python3", "httpclient_runtime.py"},
		timeout: 3 * time.Second}
	// A pool of kept connections, with the JDK's HttpClient on its defaults:
	// it asks for HTTP/2 by an h2c upgrade, which the Runtime API ignores.
	// The JVM starts with the options Lambda's Java runtimes give it (C1
	// only, serial GC); compiling the source at every start still takes
	// seconds on a busy machine.
	javaRuntime = customRuntime{name: "java HttpClient", dir: "java",
		command: []string{"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "HttpClientRuntime.java"}, timeout: 10 * time.Second}

	customRuntimes = []customRuntime{bashRuntime, urllibRuntime, httpClientRuntime, javaRuntime}
)

// resolve returns the runtime's task root and command. Without one of the
// programs it needs the test is skipped, or fails when CI is set.
func (rt customRuntime) resolve(t *testing.T) (taskRoot string, command []string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(runtimesDir, rt.dir))
	if err != nil {
		t.Fatal(err)
	}
	for i, word := range rt.command {
		path := filepath.Join(dir, word)
		_, err := os.Stat(path)
		switch {
		case err == nil:
			command = append(command, path)
		case !errors.Is(err, fs.ErrNotExist):
			t.Fatal(err)
		case i == 0:
			command = append(command, lookPath(t, rt.name, word))
		default:
			command = append(command, word)
		}
	}
	for _, program := range rt.needs {
		lookPath(t, rt.name, program)
	}
	return dir, command
}

func lookPath(t *testing.T, runtime, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		msg := fmt.Sprintf("the %s runtime needs %s: %v", runtime, program, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run there)")
		}
		t.Skip(msg)
	}
	return path
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

// timedOut checks the error Lambda reports for a timeout.
func timedOut(timeout time.Duration) responseCheck {
	return func(t *testing.T, id string, _ []byte, payload []byte) {
		t.Helper()
		checkError(t, id, payload, "Sandbox.Timedout",
			fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", id, timeout.Seconds()), exactly)
	}
}

// exited checks the error Lambda reports for a runtime that exited. How
// it exited (a status, a signal) is the emulator's to tell, not the
// extension's, which is not the runtime's parent.
func exited() responseCheck {
	return func(t *testing.T, id string, _ []byte, payload []byte) {
		t.Helper()
		checkError(t, id, payload, "Runtime.ExitError", "RequestId: "+id+" Error: Runtime exited", startingWith)
	}
}

// match is how checkError compares an error's message.
type match int

const (
	exactly match = iota
	startingWith
	containing
)

func (m match) String() string {
	return [...]string{"", "starting with ", "containing "}[m]
}

func (m match) matches(message, want string) bool {
	switch m {
	case startingWith:
		return strings.HasPrefix(message, want)
	case containing:
		return strings.Contains(message, want)
	}
	return message == want
}

// checkError checks that payload is an error of errorType whose message
// matches message as m says.
func checkError(t *testing.T, what string, payload []byte, errorType, message string, m match) {
	t.Helper()
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Errorf("%s: responsePayload %.300s is not an error: %v", what, payload, err)
		return
	}
	if e.ErrorType != errorType || !m.matches(e.ErrorMessage, message) {
		t.Errorf("%s: responsePayload %.300s, want errorType %s and an errorMessage %s%q", what, payload, errorType, m, message)
	}
}
