package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// pairOptions describe a function to run with and without the layer.
type pairOptions struct {
	taskRoot string
	command  []string // the runtime's command, without the wrapper
	timeout  time.Duration
	flush    string            // DESTINATIONS_FLUSH; empty: the default
	env      map[string]string // for both emulators
}

// pair is one function under two emulators: one with the layer, through
// its exec wrapper, whose records of both conditions go to hook, and one
// without it, the baseline.
type pair struct {
	with, without *rie.Emulator
	hook          *receiver.Receiver
	flush         string
	timeout       time.Duration
}

func startPair(t *testing.T, o pairOptions) *pair {
	t.Helper()
	p := &pair{hook: newReceiver(t), flush: o.flush, timeout: o.timeout}
	env := maps.Clone(o.env)
	if env == nil {
		env = map[string]string{}
	}
	env["DESTINATIONS_ON_SUCCESS"] = p.hook.URL() + "/success"
	env["DESTINATIONS_ON_FAILURE"] = p.hook.URL() + "/failure"
	if o.flush != "" {
		env["DESTINATIONS_FLUSH"] = o.flush
	}
	p.with = riet.StartT(t, rie.Options{
		LayerDir: layerDir,
		TaskRoot: o.taskRoot,
		// As AWS_LAMBDA_EXEC_WRAPPER=/opt/destinations-wrapper runs it.
		Command: append([]string{"/opt/destinations-wrapper"}, o.command...),
		Env:     env,
		Timeout: o.timeout,
	})
	p.without = riet.StartT(t, rie.Options{TaskRoot: o.taskRoot, Command: o.command, Env: o.env, Timeout: o.timeout})
	return p
}

// responseCheck looks at a record's responsePayload; caller is the body
// the caller got for the same invocation without the layer, what Lambda says.
type responseCheck func(t *testing.T, id string, caller, payload []byte)

// outcomeCase is one invocation of both emulators and the record it gives.
type outcomeCase struct {
	name      string
	event     []byte
	condition string
	response  responseCheck
}

// sameAsCaller checks that the responsePayload is what the caller got, as
// both are what the runtime posted, and, unless errorType is empty, that it
// is an error of that type.
func sameAsCaller(errorType string) responseCheck {
	return func(t *testing.T, id string, caller, payload []byte) {
		t.Helper()
		if want := embedded(caller); string(payload) != want {
			t.Errorf("%s: responsePayload %.300s, want what the caller got, %.300s", id, payload, want)
		}
		if errorType == "" {
			return
		}
		var e struct {
			ErrorType string `json:"errorType"`
		}
		if err := json.Unmarshal(payload, &e); err != nil || e.ErrorType != errorType {
			t.Errorf("%s: responsePayload %.300s, want an error of type %s (%v)", id, payload, errorType, err)
		}
	}
}

// embedded returns body as a record embeds it: compacted when it is JSON,
// else as a JSON string (bodies here are UTF-8).
func embedded(body []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, body); err == nil {
		return b.String()
	}
	s, _ := json.Marshal(string(body))
	return string(s)
}

// answer is what one emulator told the caller, and when the call returned.
type answer struct {
	resp *rie.Response
	at   time.Time
}

// invokeBoth invokes both emulators at once with body under request id,
// so that a slow moment of the machine falls on both alike, and checks
// that the callers get the same status, body and content type.
func (p *pair) invokeBoth(t *testing.T, what, id string, body []byte) (with, without answer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	header := http.Header{"X-Amzn-Requestid": {id}}
	var withErr, withoutErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		with.resp, withErr = p.with.Invoke(ctx, body, header)
		with.at = time.Now()
	})
	without.resp, withoutErr = p.without.Invoke(ctx, body, header)
	without.at = time.Now()
	wg.Wait()
	if err := errors.Join(withErr, withoutErr); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	a, b := with.resp, without.resp
	t.Logf("%s: %d in %s with the layer, %d in %s without: %.80q", what, a.Status, a.Latency.Round(time.Millisecond),
		b.Status, b.Latency.Round(time.Millisecond), a.Body)
	if emulatorFailed(without) {
		t.Logf("%s: the emulator failed without the layer (%.80q): no baseline to compare with", what, b.Body)
		return with, without
	}
	if a.Status != b.Status || string(a.Body) != string(b.Body) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") {
		t.Errorf("%s: with the layer the caller got %d %s %q (%d bytes), without %d %s %q (%d bytes)", what,
			a.Status, a.Header.Get("Content-Type"), truncate(a.Body), len(a.Body),
			b.Status, b.Header.Get("Content-Type"), truncate(b.Body), len(b.Body))
	}
	return with, without
}

// run invokes both emulators with each case and checks that the webhook
// got exactly one record per case, right in every field, and with
// DESTINATIONS_FLUSH=end before the caller had its answer; a case the
// machine was too busy for is not judged (see tooBusy). It returns what
// the callers got, in the order of cases.
func (p *pair) run(t *testing.T, cases []outcomeCase) (with, without []answer) {
	t.Helper()
	ids := make([]string, len(cases))
	judged := 0
	for i, c := range cases {
		ids[i] = fmt.Sprintf("req-%d-%s", i, strings.ReplaceAll(c.name, " ", "-"))
		a, b := p.invokeBoth(t, c.name, ids[i], c.event)
		with, without = append(with, a), append(without, b)
		if !tooBusy(c, b) && !emulatorFailed(b) {
			judged++
		}
	}
	byID := p.records(t, judged, len(cases))
	for i, c := range cases {
		id, what := ids[i], ids[i]+" ("+c.name+")"
		reqs := byID[id]
		if emulatorFailed(without[i]) {
			if len(reqs) > 1 {
				t.Errorf("%s: %d webhook records, want at most 1", what, len(reqs))
			}
			continue
		}
		if tooBusy(c, without[i]) {
			t.Logf("%s: timed out without the layer too, as the machine was too busy to start the runtime again in time: not judged", what)
			if len(reqs) > 1 {
				t.Errorf("%s: %d webhook records, want at most 1", what, len(reqs))
			}
			for _, req := range reqs {
				if r, ok := checkWebhookRecord(t, what, req, "Failure"); ok {
					timedOut(p.timeout)(t, id, nil, r.ResponsePayload)
				}
			}
			continue
		}
		if len(reqs) != 1 {
			t.Errorf("%s: %d webhook records, want 1", what, len(reqs))
			continue
		}
		r, ok := checkWebhookRecord(t, what, reqs[0], c.condition)
		if !ok {
			continue
		}
		checkRecord(t, what, r, c.condition, compactJSON(t, string(c.event)), string(r.ResponsePayload))
		c.response(t, id, without[i].resp.Body, r.ResponsePayload)
		if p.flush == "end" && !reqs[0].Time.Before(with[i].at) {
			t.Errorf("%s: the record reached the webhook %s after the caller had its answer; with DESTINATIONS_FLUSH=end it must come before",
				what, reqs[0].Time.Sub(with[i].at).Round(time.Millisecond))
		}
	}
	return with, without
}

// tooBusy reports whether a case meant to succeed timed out without the
// layer. The emulator starts a runtime again within the invocation after
// a timeout or a crash, and counts that start against its time, which a
// busy machine can use up. Such an invocation tells nothing of the layer:
// it may have timed out before the runtime asked for it, and so before
// the extension heard of it.
func tooBusy(c outcomeCase, baseline answer) bool {
	return c.condition == "Success" && baseline.resp.Status == http.StatusOK &&
		bytes.HasPrefix(baseline.resp.Body, []byte("Task timed out after "))
}

// emulatorFailed reports whether the emulator without the layer failed the
// invocation itself (Sandbox.Failure: it could not start the runtime
// again after a timeout on a busy machine, ErrGateCanceled). Such an answer
// is no baseline for the layer's caller or record.
func emulatorFailed(baseline answer) bool {
	return bytes.Contains(baseline.resp.Body, []byte(`"errorType":"Sandbox.Failure"`))
}

// records waits for at least least records at the webhook, and a moment
// more for a duplicate, checks that there are no more than most, and
// returns them by request id.
func (p *pair) records(t *testing.T, least, most int) map[string][]receiver.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := p.hook.Wait(ctx, least); err != nil {
		t.Error(err) // the checks that follow tell which are missing
	} else {
		time.Sleep(200 * time.Millisecond) // a duplicate would come now
	}
	got := p.hook.Received()
	if len(got) < least || len(got) > most {
		want := fmt.Sprint(least)
		if most > least {
			want = fmt.Sprintf("%d to %d", least, most)
		}
		t.Errorf("webhook got %d records, want %s", len(got), want)
	}
	byID := map[string][]receiver.Request{}
	for _, r := range got {
		id := r.Header.Get("X-Destinations-Request-Id")
		byID[id] = append(byID[id], r)
	}
	return byID
}

// checkWebhookRecord checks the webhook request of a record of condition
// and returns the record it holds.
func checkWebhookRecord(t *testing.T, what string, req receiver.Request, condition string) (record.Record, bool) {
	t.Helper()
	if want := "/" + strings.ToLower(condition); req.Method != http.MethodPost || req.Path != want ||
		req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Destinations-Condition") != condition {
		t.Errorf("%s: webhook request %s %s %v, want POST %s with condition %s", what, req.Method, req.Path, req.Header, want, condition)
	}
	var r record.Record
	if err := json.Unmarshal(req.Body, &r); err != nil {
		t.Errorf("%s: webhook body is not a record: %v: %.300s", what, err, req.Body)
		return r, false
	}
	return r, true
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
