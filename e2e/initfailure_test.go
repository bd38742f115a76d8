package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestInitFailure: a function whose init fails fails every invocation with
// the init error, and each gives one failure record holding that error:
// for aws-lambda-ric, the body it posted to /runtime/init/error; for a Go
// function that panics before lambda.Start, which posts nothing, the exit
// Lambda reports. Under the emulator no INVOKE reaches the extension for
// these invocations, so it never learns their request ids nor the
// function's account: a record may leave them out, but must not invent
// them.
func TestInitFailure(t *testing.T) {
	initPanic := func(t *testing.T) (string, []string) {
		bin := riet.FunctionT(t, "./e2e/testdata/functions/initpanic", "initpanic")
		return filepath.Dir(bin), []string{bin}
	}
	brokenNode := func(t *testing.T) (string, []string) {
		dir, err := filepath.Abs(filepath.Join(ricDir, "broken"))
		if err != nil {
			t.Fatal(err)
		}
		return dir, nodeRuntime(t, "index.handler")
	}
	cases := []struct {
		name     string
		function func(*testing.T) (taskRoot string, command []string)
		check    responseCheck
	}{
		{"node ERR_MODULE_NOT_FOUND", brokenNode, func(t *testing.T, id string, caller, payload []byte) {
			t.Helper()
			sameAsCaller("")(t, id, caller, payload)
			// aws-lambda-ric names the error by its class, Error.
			checkError(t, id, payload, "Error", "Cannot find package 'a-package-that-is-not-installed' imported from ", startingWith)
		}},
		{"go panic before lambda.Start", initPanic, func(t *testing.T, id string, _, payload []byte) {
			t.Helper()
			checkError(t, id, payload, "Runtime.ExitError", "Runtime exited", containing)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			taskRoot, command := c.function(t)
			// Nothing here waits for a deadline, but the emulator counts the
			// runtime's start within an invocation against it, and Node.js
			// can take seconds to start on a busy machine.
			p := startPair(t, pairOptions{taskRoot: taskRoot, command: command, timeout: 30 * time.Second})
			const n = 3
			ids := make([]string, n)
			var initError []byte // what the caller gets without the layer, the same each time
			for i := range n {
				ids[i] = fmt.Sprintf("req-init-%d", i)
				_, without := p.invokeBoth(t, fmt.Sprintf("invocation %d", i), ids[i], event(t, "success.json"))
				if without.resp.Status == 200 {
					t.Fatalf("invocation %d succeeded: the function's init did not fail", i)
				}
				initError = without.resp.Body
			}
			seen := map[string]bool{}
			for id, reqs := range p.records(t, n, n) {
				for _, req := range reqs {
					what := fmt.Sprintf("record for request id %q", id)
					r, ok := checkWebhookRecord(t, what, req, "Failure")
					if !ok {
						continue
					}
					rc := r.RequestContext
					if rc.RequestID != id {
						t.Errorf("%s: the record says requestId %q", what, rc.RequestID)
					}
					if id != "" && (!slices.Contains(ids, id) || seen[id]) {
						t.Errorf("%s: not one of the invocations' request ids %q, or twice", what, ids)
					}
					seen[id] = true
					if !sameFunction(rc.FunctionARN, functionARN) || rc.Condition != "Failure" {
						t.Errorf("%s: requestContext %+v, want functionArn %s (the account may be left out) and condition Failure",
							what, rc, functionARN)
					}
					if r.ResponseContext != (record.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}) {
						t.Errorf("%s: responseContext %+v", what, r.ResponseContext)
					}
					// The event never reached the runtime; a record that has
					// it anyway has the invocation's.
					if got := string(r.RequestPayload); got != "null" && got != compactJSON(t, string(event(t, "success.json"))) {
						t.Errorf("%s: requestPayload %s, want null or the event", what, got)
					}
					c.check(t, what, initError, r.ResponsePayload)
				}
			}
		})
	}
}

// sameFunction reports whether arn is want, or want without its account.
// An extension learns the account from the invoked ARN of an INVOKE, or
// from its registration (the accountId feature), where the emulator gives
// none: a record made before any INVOKE may leave it out.
func sameFunction(arn, want string) bool {
	f := strings.Split(want, ":")
	if len(f) < 5 {
		return arn == want
	}
	f[4] = ""
	return arn == want || arn == strings.Join(f, ":")
}
