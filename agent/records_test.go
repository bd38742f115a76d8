package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newTestAgent makes an agent from variables, writing to a buffer.
func newTestAgent(t *testing.T, vars map[string]string) (*Agent, *syncBuffer) {
	t.Helper()
	environ := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":    "127.0.0.1:9001",
		"AWS_LAMBDA_FUNCTION_NAME":  "f",
		"DESTINATIONS_MAX_ATTEMPTS": "1",
	}
	maps.Copy(environ, vars)
	cfg, err := config.Parse(environ)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	a, err := New(Options{Config: cfg, Stdout: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a, &out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testRecord is what the tests read of a record.
type testRecord struct {
	RequestContext struct {
		RequestID string `json:"requestId"`
		Condition string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload        json.RawMessage `json:"requestPayload"`
	ResponsePayload       json.RawMessage `json:"responsePayload"`
	DestinationsCondition string          `json:"destinationsCondition"`
	InvocationContext     *struct {
		DurationMs      float64         `json:"durationMs"`
		ColdStart       bool            `json:"coldStart"`
		MemorySizeMB    int             `json:"memorySizeMB"`
		TraceID         string          `json:"traceId"`
		ClientContext   json.RawMessage `json:"clientContext"`
		CognitoIdentity json.RawMessage `json:"cognitoIdentity"`
		LogGroup        string          `json:"logGroup"`
		LogStream       string          `json:"logStream"`
	} `json:"invocationContext"`
}

// records reads the records of the stdout lines.
func records(t *testing.T, out string) []testRecord {
	t.Helper()
	var recs []testRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Record testRecord `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %s: %v", sc.Bytes(), err)
		}
		recs = append(recs, line.Record)
	}
	return recs
}

func success(id, request, response string, took time.Duration) invocation.Invocation {
	return invocation.Invocation{
		RequestID: id, InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
		Request:  invocation.Payload{Bytes: []byte(request), Size: int64(len(request))},
		Response: invocation.Payload{Bytes: []byte(response), Size: int64(len(response))},
		Start:    t0, End: t0.Add(took), Attempt: 1,
	}
}

func failure(id, request, errorType, body string) invocation.Invocation {
	inv := success(id, request, body, time.Millisecond)
	inv.Outcome, inv.ErrorType = invocation.Error, errorType
	return inv
}

func complete(a *Agent, invs ...invocation.Invocation) {
	for _, inv := range invs {
		a.Completed(context.Background(), inv)
	}
	a.Shutdown(context.Background())
}

func TestRedactedEverywhere(t *testing.T) {
	// A webhook that always fails sends the record to the fallback log line too.
	var mu sync.Mutex
	var hooked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooked = append(hooked, string(b))
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS":      "stdout," + srv.URL,
		"DESTINATIONS_ON_FAILURE":      "stdout," + srv.URL,
		"DESTINATIONS_REDACT":          "password,$.card.number",
		"DESTINATIONS_REDACT_NON_JSON": "drop",
	})
	complete(a,
		success("r1", `{"user":"ann","Password":"hunter2","card":{"number":"4111111111111111","exp":"12/30"}}`, `{"ok":true,"password":"hunter2"}`, time.Millisecond),
		failure("r2", `{"nested":[{"password":"hunter2"}]}`, "SampleError", `{"errorType":"SampleError","errorMessage":"bad","password":"hunter2"}`),
		success("r3", "password=hunter2", "", time.Millisecond),
	)
	mu.Lock()
	all := out.String() + strings.Join(hooked, "\n")
	n := len(hooked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("the webhook got nothing")
	}
	for _, secret := range []string{"hunter2", "4111111111111111"} {
		if strings.Contains(all, secret) {
			t.Errorf("%s in the output:\n%s", secret, all)
		}
	}
	recs := records(t, out.String())
	if len(recs) < 3 {
		t.Fatalf("%d records, want at least 3:\n%s", len(recs), out)
	}
	want := map[string]string{
		"r1": `{"user":"ann","Password":"[REDACTED]","card":{"number":"[REDACTED]","exp":"12/30"}}`,
		"r2": `{"nested":[{"password":"[REDACTED]"}]}`,
		"r3": `"[REDACTED non-JSON payload of 16 bytes]"`,
	}
	for _, r := range recs {
		if w := want[r.RequestContext.RequestID]; string(r.RequestPayload) != w {
			t.Errorf("%s requestPayload %s, want %s", r.RequestContext.RequestID, r.RequestPayload, w)
		}
	}
}

func TestSampling(t *testing.T) {
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS":          "stdout",
		"DESTINATIONS_ON_FAILURE":          "stdout",
		"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0.3",
	})
	const n = 100
	wantSuccess := map[string]bool{}
	var invs []invocation.Invocation
	for i := range n {
		id := fmt.Sprintf("s-%d", i)
		invs = append(invs, success(id, `{}`, `{}`, time.Millisecond), failure(fmt.Sprintf("f-%d", i), `{}`, "E", `{}`))
		// A sampled-out id that fails is still recorded.
		invs = append(invs, failure(id, `{}`, "E", `{}`))
		if route.Sampled(id, 0.3) {
			wantSuccess[id] = true
		}
	}
	complete(a, invs...)
	successes, failures := map[string]bool{}, 0
	for _, r := range records(t, out.String()) {
		switch r.RequestContext.Condition {
		case "Success":
			successes[r.RequestContext.RequestID] = true
		case "Failure":
			failures++
		}
	}
	if !maps.Equal(successes, wantSuccess) {
		t.Errorf("success records for %d ids, want the %d sampled ones", len(successes), len(wantSuccess))
	}
	if len(wantSuccess) == 0 || len(wantSuccess) == n {
		t.Errorf("%d of %d kept at 0.3: the test shows nothing", len(wantSuccess), n)
	}
	if failures != 2*n {
		t.Errorf("%d failure records, want every one of %d", failures, 2*n)
	}
}

func TestFailureFilter(t *testing.T) {
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_FAILURE":          "stdout",
		"DESTINATIONS_FAILURE_ERROR_TYPES": "Sandbox.Timedout,SampleError",
	})
	timeout := failure("timeout", `{}`, "Sandbox.Timedout", `{"errorType":"Sandbox.Timedout"}`)
	timeout.Outcome = invocation.Timeout
	complete(a, timeout,
		failure("wrapped", `{}`, "Function<SampleError>", `{}`),
		failure("body", `{}`, "Unhandled", `{"errorType":"SampleError","errorMessage":"x"}`),
		failure("other", `{}`, "TypeError", `{"errorType":"TypeError"}`),
	)
	var got []string
	for _, r := range records(t, out.String()) {
		got = append(got, r.RequestContext.RequestID)
	}
	if strings.Join(got, ",") != "timeout,wrapped,body" {
		t.Errorf("records for %v, want timeout, wrapped, body", got)
	}
}

func TestSlow(t *testing.T) {
	const secret = "s3cret"
	var mu sync.Mutex
	var slow []testRecord
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			t.Errorf("slow webhook refused the request: %v", err)
			return
		}
		var rec testRecord
		if err := json.Unmarshal(body, &rec); err != nil {
			t.Errorf("slow webhook body %s: %v", body, err)
		}
		mu.Lock()
		slow = append(slow, rec)
		mu.Unlock()
	}))
	defer srv.Close()
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS":          "stdout",
		"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0", // successes only when slow
		"DESTINATIONS_ON_SLOW":             srv.URL,
		"DESTINATIONS_SLOW_MS":             "200",
		"DESTINATIONS_WEBHOOK_SECRET":      secret,
	})
	complete(a,
		success("fast", `{}`, `{}`, 200*time.Millisecond),
		success("slow", `{"q":1}`, `{"a":2}`, 250500*time.Microsecond),
	)
	if recs := records(t, out.String()); len(recs) != 0 {
		t.Errorf("sampled-out successes reached stdout: %s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slow) != 1 {
		t.Fatalf("slow destination got %d records, want 1", len(slow))
	}
	r := slow[0]
	if r.RequestContext.RequestID != "slow" || r.RequestContext.Condition != "Success" || r.DestinationsCondition != "Slow" ||
		r.InvocationContext == nil || r.InvocationContext.DurationMs != 250.5 || string(r.ResponsePayload) != `{"a":2}` {
		t.Errorf("slow record %+v, context %+v", r, r.InvocationContext)
	}
}

func TestSlowSharedDestination(t *testing.T) {
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS": "stdout",
		"DESTINATIONS_ON_SLOW":    "stdout",
		"DESTINATIONS_SLOW_MS":    "100",
	})
	complete(a, success("fast", `{}`, `{}`, 50*time.Millisecond), success("slow", `{}`, `{}`, time.Second))
	recs := records(t, out.String())
	if len(recs) != 2 {
		t.Fatalf("%d records, want one per invocation:\n%s", len(recs), out)
	}
	if recs[0].DestinationsCondition != "" || recs[1].DestinationsCondition != "Slow" || recs[1].RequestContext.Condition != "Success" {
		t.Errorf("records %+v", recs)
	}
}

func TestIncludeAndContext(t *testing.T) {
	a, out := newTestAgent(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS":         "stdout",
		"DESTINATIONS_ON_FAILURE":         "stdout",
		"DESTINATIONS_INCLUDE":            "request",
		"DESTINATIONS_CONTEXT":            "true",
		"DESTINATIONS_REDACT":             "token",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/f",
		"AWS_LAMBDA_LOG_STREAM_NAME":      "stream",
	})
	inv := success("r1", `{"q":1}`, `{"secret":"response"}`, 1500*time.Millisecond)
	inv.ColdStart, inv.TraceID = true, "Root=1-abc"
	inv.ClientContext = `{"custom":{"token":"t0k3n","k":"v"}}`
	inv.CognitoIdentity = "not json"
	complete(a, inv, failure("r2", `{"q":2}`, "E", `{"errorType":"E","errorMessage":"secret"}`))
	if strings.Contains(out.String(), "secret") || strings.Contains(out.String(), "t0k3n") {
		t.Errorf("left-out or redacted data in the output:\n%s", out)
	}
	recs := records(t, out.String())
	if len(recs) != 2 {
		t.Fatalf("%d records:\n%s", len(recs), out)
	}
	r := recs[0]
	c := r.InvocationContext
	if string(r.RequestPayload) != `{"q":1}` || string(r.ResponsePayload) != "null" || c == nil {
		t.Fatalf("record %+v", r)
	}
	if c.DurationMs != 1500 || !c.ColdStart || c.MemorySizeMB != 256 || c.TraceID != "Root=1-abc" ||
		string(c.ClientContext) != `{"custom":{"token":"[REDACTED]","k":"v"}}` || string(c.CognitoIdentity) != `"not json"` ||
		c.LogGroup != "/aws/lambda/f" || c.LogStream != "stream" {
		t.Errorf("invocationContext %+v", c)
	}
	if string(recs[1].ResponsePayload) != "null" || recs[1].InvocationContext == nil {
		t.Errorf("failure record %+v", recs[1])
	}
}

// A destination listed twice for a condition gets each record once, and
// the start says so.
func TestDuplicateDestinations(t *testing.T) {
	var mu sync.Mutex
	var hooked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hooked++
		mu.Unlock()
	}))
	defer srv.Close()
	hook := srv.URL + "/hooks/SECRET"
	cfg, err := config.Parse(map[string]string{
		"AWS_LAMBDA_RUNTIME_API":  "127.0.0.1:9001",
		"DESTINATIONS_ON_SUCCESS": "stdout, STDOUT," + hook + "," + hook,
		"DESTINATIONS_ON_FAILURE": "stdout",
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, log syncBuffer
	a, err := New(Options{Config: cfg, Stdout: &out, Log: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	complete(a, success("r1", `{}`, `{}`, time.Millisecond), failure("r2", `{}`, "E", `{}`))
	if recs := records(t, out.String()); len(recs) != 2 {
		t.Errorf("%d stdout records, want one per invocation:\n%s", len(recs), out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if hooked != 1 {
		t.Errorf("the webhook got %d records, want 1", hooked)
	}
	var warned []string
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var line struct{ Level, Msg, Variable, Destination string }
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line.Level == "WARN" && line.Msg == "destination listed twice: records go to it once" && line.Variable == "DESTINATIONS_ON_SUCCESS" {
			warned = append(warned, line.Destination)
		}
	}
	if want := "[stdout " + srv.URL + "/…]"; fmt.Sprint(warned) != want {
		t.Errorf("warnings for %v, want %s", warned, want)
	}
	if strings.Contains(log.String(), "SECRET") {
		t.Errorf("the webhook's path in the log: %s", log.String())
	}
}
