package e2e

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const (
	// maxLatencyAdded is how much the layer may add to what a caller
	// waits, in the best of a few invocations.
	maxLatencyAdded = 100 * time.Millisecond
	// outcomeTimeout is the functions' timeout here: long enough for a
	// runtime's start on a busy machine, which the emulator counts against
	// the invocation when it starts the runtime again within one.
	outcomeTimeout = 5 * time.Second
)

// sampleFunction runs the Go sample function (aws-lambda-go).
func sampleFunction(*testing.T) (taskRoot string, command []string) {
	return filepath.Dir(function), []string{function}
}

// TestRefusedAndAbsoluteForm: results the proxy must recognise however
// they come. A 7 MB response, which the Runtime API refuses with 413, is
// the failure Lambda tells the caller; a runtime whose request targets are
// in absolute form (POST http://HOST:PORT/2018-06-01/… HTTP/1.1, legal
// HTTP/1.1) is recorded as any other. Either way the caller gets the same
// status and bytes as without the layer, and within maxLatencyAdded of the
// same wait.
func TestRefusedAndAbsoluteForm(t *testing.T) {
	tooLarge := event(t, "response-too-large.json")
	// What Lambda says to the caller (the emulator's interop.ErrorResponseTooLarge,
	// with its MaxPayloadSize of 6 MiB + 100 bytes).
	const tooLargeMessage = "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
	refused := func(t *testing.T, id string, caller, payload []byte) {
		t.Helper()
		sameAsCaller("")(t, id, caller, payload)
		checkError(t, id, payload, "Function.ResponseSizeTooLarge", tooLargeMessage, exactly)
	}
	tooLargeCase := outcomeCase{"too large", tooLarge, "Failure", refused}
	success := outcomeCase{"success", event(t, "success.json"), "Success", sameAsCaller("")}
	cases := []struct {
		name     string
		function func(*testing.T) (taskRoot string, command []string)
		env      map[string]string
		measured outcomeCase   // invoked a few times, the fastest answers compared
		then     []outcomeCase // invoked after
		// restarts: the runtime exits after each invocation, so that each
		// answer includes a cold start, the extension's own start with it.
		restarts bool
	}{
		{"413 on a kept connection", httpClientRuntime.resolve, nil, tooLargeCase, []outcomeCase{success}, false},
		{"413 on a connection per call", urllibRuntime.resolve, nil, tooLargeCase, []outcomeCase{success}, false},
		// aws-lambda-go exits when its response is refused: the record is
		// still the refusal, which is what the caller got.
		{"413 to aws-lambda-go", sampleFunction, nil, tooLargeCase, nil, true},
		{"absolute-form targets", httpClientRuntime.resolve, map[string]string{"RUNTIME_ABSOLUTE_FORM": "1"}, success, []outcomeCase{
			{"handler error", event(t, "failure.json"), "Failure", sameAsCaller("HandlerError")},
			success,
		}, false},
	}
	const tries = 3
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			taskRoot, command := c.function(t)
			p := startPair(t, pairOptions{taskRoot: taskRoot, command: command, timeout: outcomeTimeout, flush: "end", env: c.env})
			var run []outcomeCase
			for i := range tries {
				m := c.measured
				m.name = fmt.Sprintf("%s %d", m.name, i+1)
				run = append(run, m)
			}
			with, without := p.run(t, append(run, c.then...))
			if c.restarts {
				return
			}
			if a, b := fastest(with[:tries]), fastest(without[:tries]); a-b > maxLatencyAdded {
				t.Errorf("%s: the layer added %s to the callers' fastest answer (%s with it, %s without), more than %s", c.measured.name,
					(a - b).Round(time.Millisecond), a.Round(time.Millisecond), b.Round(time.Millisecond), maxLatencyAdded)
			}
		})
	}
}

// fastest returns the shortest latency of answers.
func fastest(answers []answer) time.Duration {
	return slices.MinFunc(answers, func(a, b answer) int { return cmp.Compare(a.resp.Latency, b.resp.Latency) }).resp.Latency
}
