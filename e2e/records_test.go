package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
)

const functionARN = "arn:aws:lambda:us-east-1:012345678912:function:function:$LATEST"

// TestOneRecordPerInvocation invokes each sample event and checks that each
// destination of its condition receives exactly one record, right in every
// field.
func TestOneRecordPerInvocation(t *testing.T) {
	for _, attach := range []struct {
		name    string
		command func(layer string) []string
	}{
		{"exec wrapper", nil},
		{"layer bootstrap", func(string) []string { return []string{"/opt/bootstrap", "function"} }},
	} {
		t.Run(attach.name, func(t *testing.T) {
			hook := newReceiver(t)
			s := setup{layer: true, env: map[string]string{
				"DESTINATIONS_ON_SUCCESS": hook.URL() + "/success,stdout",
				"DESTINATIONS_ON_FAILURE": "stdout," + hook.URL() + "/failure",
			}}
			if attach.command != nil {
				s.command = attach.command(layerDir)
			}
			e := start(t, s)

			cases := []struct {
				event, id, condition string
				response             string // the record's responsePayload
			}{
				{"success.json", "req-success", "Success", `{"ok":true,"message":"success"}`},
				{"failure.json", "req-failure", "Failure", `{"errorMessage":"sample failure requested by the event","errorType":"SampleError"}`},
				{"text.json", "req-text", "Success", `"hello from the sample function, not JSON"`},
				{"timeout.json", "req-timeout", "Failure", `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: req-timeout Error: Task timed out after 1.00 seconds"}`},
				{"crash.json", "req-crash", "Failure", `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: req-crash Error: Runtime exited without providing a reason"}`},
				{"success.json", "req-after-crash", "Success", `{"ok":true,"message":"success"}`},
			}
			for _, c := range cases {
				invoke(t, e, c.id, event(t, c.event))
			}
			lastRecord(t, e, hook, "req-last", event(t, "success.json"))
			if err := e.WaitOutput(t.Context(), `"requestId":"req-last","record":`); err != nil {
				t.Fatal(err)
			}
			got := hook.Received()
			if n := len(got); n != len(cases)+1 {
				t.Errorf("webhook got %d records, want %d and the last one's", n, len(cases))
			}
			byID := map[string]receiver.Request{}
			for _, r := range got {
				byID[r.Header.Get("X-Destinations-Request-Id")] = r
			}
			logged := stdoutRecords(t, e.Output(), "execution record")
			for _, c := range cases {
				req, ok := byID[c.id]
				if !ok {
					t.Errorf("%s: no webhook record", c.id)
					continue
				}
				if want := "/" + strings.ToLower(c.condition); req.Path != want || req.Method != http.MethodPost ||
					req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Destinations-Condition") != c.condition {
					t.Errorf("%s: webhook request %s %s %v", c.id, req.Method, req.Path, req.Header)
				}
				var r record.Record
				if err := json.Unmarshal(req.Body, &r); err != nil {
					t.Errorf("%s: webhook body is not a record: %v", c.id, err)
					continue
				}
				checkRecord(t, c.id, r, c.condition, compactJSON(t, string(event(t, c.event))), c.response)
				line, ok := logged[c.id]
				if !ok {
					t.Errorf("%s: no stdout record", c.id)
					continue
				}
				if line.Destination != "stdout" || line.Condition != c.condition {
					t.Errorf("%s: stdout line %+v", c.id, line)
				}
				checkRecord(t, c.id+" (stdout)", line.Record, c.condition, compactJSON(t, string(event(t, c.event))), c.response)
			}
			if len(logged) != len(cases)+1 {
				t.Errorf("%d stdout records, want %d and the last one's", len(logged), len(cases))
			}
		})
	}
}

func checkRecord(t *testing.T, what string, r record.Record, condition, request, response string) {
	t.Helper()
	ts, err := time.Parse(record.TimeFormat, r.Timestamp)
	if r.Version != "1.0" || err != nil || time.Since(ts) > time.Minute || time.Since(ts) < 0 {
		t.Errorf("%s: version %q timestamp %q (%v)", what, r.Version, r.Timestamp, err)
	}
	id := strings.Fields(what)[0]
	rc := r.RequestContext
	if rc.RequestID != id || rc.FunctionARN != functionARN || rc.Condition != condition || rc.ApproximateInvokeCount != 1 {
		t.Errorf("%s: requestContext %+v", what, rc)
	}
	wantError := ""
	if condition == "Failure" {
		wantError = "Unhandled"
	}
	if r.ResponseContext != (record.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: wantError}) {
		t.Errorf("%s: responseContext %+v", what, r.ResponseContext)
	}
	if string(r.RequestPayload) != request {
		t.Errorf("%s: requestPayload %s, want %s", what, r.RequestPayload, request)
	}
	if string(r.ResponsePayload) != response {
		t.Errorf("%s: responsePayload %s, want %s", what, r.ResponsePayload, response)
	}
}

// TestCallerResponseUnchanged compares what callers get with and without
// the layer, byte for byte.
func TestCallerResponseUnchanged(t *testing.T) {
	hook := newReceiver(t)
	env := map[string]string{
		"DESTINATIONS_ON_SUCCESS": hook.URL(),
		"DESTINATIONS_ON_FAILURE": hook.URL(),
	}
	with := start(t, setup{layer: true, env: env})
	without := start(t, setup{})
	big := []byte(fmt.Sprintf(`{"ResponseBytes": %d}`, 5<<20))
	cases := []struct {
		name string
		body []byte
	}{
		{"success", event(t, "success.json")},
		{"handler error", event(t, "failure.json")},
		{"non-JSON response", event(t, "text.json")},
		{"5 MB response", big},
		{"timeout", event(t, "timeout.json")},
		{"crash", event(t, "crash.json")},
		{"after a crash", event(t, "success.json")},
	}
	for i, c := range cases {
		id := fmt.Sprintf("req-%d", i)
		a := invoke(t, with, id, c.body)
		b := invoke(t, without, id, c.body)
		if a.Status != b.Status || string(a.Body) != string(b.Body) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") {
			t.Errorf("%s: with the layer %d %q (%d bytes), without %d %q (%d bytes)", c.name,
				a.Status, truncate(a.Body), len(a.Body), b.Status, truncate(b.Body), len(b.Body))
		}
	}
	if c := cases[3]; len(invoke(t, with, "req-big-again", c.body).Body) < 5<<20 {
		t.Error("5 MB response shortened")
	}
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// TestFailingDestinations: a destination that answers 500 or is down does
// not change what the caller gets, and its failure is logged with the
// destination and the reason, with the record.
func TestFailingDestinations(t *testing.T) {
	failing := newReceiver(t)
	failing.SetStatus(http.StatusInternalServerError)
	down := newReceiver(t)
	if err := down.Down(); err != nil {
		t.Fatal(err)
	}
	e := start(t, setup{layer: true, env: map[string]string{
		"DESTINATIONS_ON_SUCCESS":   failing.URL() + "," + down.URL(),
		"DESTINATIONS_MAX_ATTEMPTS": "2",
	}})
	without := start(t, setup{})
	a := invoke(t, e, "req-1", event(t, "success.json"))
	b := invoke(t, without, "req-1", event(t, "success.json"))
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		t.Errorf("with failing destinations %d %q, without %d %q", a.Status, a.Body, b.Status, b.Body)
	}
	waitFor(t, 10*time.Second, "two undelivered record lines", func() bool {
		return strings.Count(e.Output(), `"msg":"undelivered record"`) >= 2
	})
	var lines []logLine
	for _, l := range strings.Split(e.Output(), "\n") {
		if strings.Contains(l, `"msg":"undelivered record"`) {
			var ll logLine
			if err := json.Unmarshal([]byte(l), &ll); err != nil {
				t.Fatalf("fallback line is not JSON: %v", err)
			}
			lines = append(lines, ll)
		}
	}
	seen := map[string]string{}
	for _, l := range lines {
		seen[l.Destination] = l.Reason
		if l.Record.RequestContext.RequestID != "req-1" || string(l.Record.ResponsePayload) != `{"ok":true,"message":"success"}` {
			t.Errorf("fallback record %+v", l.Record)
		}
	}
	if r := seen[failing.URL()]; !strings.Contains(r, "500") {
		t.Errorf("reason for %s: %q", failing.URL(), r)
	}
	if r := seen[down.URL()]; !strings.Contains(r, "connection refused") {
		t.Errorf("reason for %s: %q", down.URL(), r)
	}
	if n := len(failing.Received()); n != 2 {
		t.Errorf("failing destination got %d attempts, want 2", n)
	}
}

// TestBadConfiguration: a bad setting fails init, through
// /extension/init/error and the log, naming the variable and the value.
func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name, variable, value, says string
	}{
		{"unknown destination form", "DESTINATIONS_ON_SUCCESS", "sqs://my-queue", `unknown destination`},
		{"malformed ARN", "DESTINATIONS_ON_FAILURE", "arn:aws:sqs:us-east-1:12345:my-queue", `12-digit account`},
		{"bad port", "DESTINATIONS_PROXY_PORT", "99999", `not a port number`},
		{"port with a sign", "DESTINATIONS_PROXY_PORT", "+41559", `not a port number`},
		{"webhook port out of range", "DESTINATIONS_ON_SUCCESS", "http://127.0.0.1:99999", `is not a port number`},
		{"nothing listens at the Runtime API", "DESTINATIONS_RUNTIME_API", "127.0.0.1:1", `cannot connect`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, setup{layer: true, env: map[string]string{c.variable: c.value}})
			resp := invoke(t, e, "req-1", event(t, "success.json"))
			if resp.Status == http.StatusOK {
				t.Errorf("invocation succeeded: %q", resp.Body)
			}
			out := e.Output()
			var found bool
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, `"msg":"init failed"`) && strings.Contains(l, "Extension.ConfigInvalid") &&
					strings.Contains(l, c.variable) && strings.Contains(l, c.value) && strings.Contains(l, c.says) {
					found = true
				}
			}
			if !found {
				t.Errorf("no init error naming %s=%s (%s) in the output", c.variable, c.value, c.says)
			}
			if !strings.Contains(out, "Extension.ConfigInvalid") {
				t.Error("the emulator did not get the init error")
			}
		})
	}
}
