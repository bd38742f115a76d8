package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestRedactedEverywhere: a password in the event reaches no destination
// and no log line, on success and on failure, with the debug log on.
func TestRedactedEverywhere(t *testing.T) {
	hook := newReceiver(t)
	e := start(t, setup{layer: true, env: map[string]string{
		"DESTINATIONS_ON_SUCCESS": hook.URL() + ",stdout",
		"DESTINATIONS_ON_FAILURE": hook.URL() + ",stdout",
		"DESTINATIONS_REDACT":     "password,$.Echo.card.number",
		"DESTINATIONS_LOG_LEVEL":  "debug",
	}})
	const secret = "hunter2-do-not-leak"
	invoke(t, e, "req-echo", []byte(`{"Echo":{"user":"ann","Password":"`+secret+`","card":{"number":"4111-`+secret+`"}}}`))
	invoke(t, e, "req-fail", []byte(`{"Success":false,"password":"`+secret+`"}`))
	got, err := hook.Wait(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the webhook got the secret: %s", r.Body)
		}
		if !strings.Contains(string(r.Body), `"[REDACTED]"`) {
			t.Errorf("no redaction marker: %s", r.Body)
		}
	}
	var rec record.Record
	if err := json.Unmarshal(got[0].Body, &rec); err != nil {
		t.Fatal(err)
	}
	if want := `{"Echo":{"user":"ann","Password":"[REDACTED]","card":{"number":"[REDACTED]"}}}`; string(rec.RequestPayload) != want {
		t.Errorf("requestPayload %s, want %s", rec.RequestPayload, want)
	}
	// The function itself logs nothing of its event; every extension line is checked.
	for _, l := range strings.Split(e.Output(), "\n") {
		if strings.Contains(l, `"extension":"destinations"`) || strings.Contains(l, `"msg":"execution record"`) {
			if strings.Contains(l, secret) {
				t.Errorf("a log line holds the secret: %s", l)
			}
		}
	}
	if !strings.Contains(e.Output(), `"msg":"execution record"`) {
		t.Error("no stdout record to check")
	}
}

// TestSampling: with a rate of 0.5, successes are kept by request id as
// route.Sampled says, and every failure is kept.
func TestSampling(t *testing.T) {
	hook := newReceiver(t)
	e := start(t, setup{layer: true, env: map[string]string{
		"DESTINATIONS_ON_SUCCESS":          hook.URL(),
		"DESTINATIONS_ON_FAILURE":          hook.URL(),
		"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0.5",
	}})
	want := map[string]bool{}
	kept, dropped := 0, 0
	for i := range 20 {
		id := fmt.Sprintf("req-success-%d", i)
		invoke(t, e, id, event(t, "success.json"))
		if route.Sampled(id, 0.5) {
			want[id] = true
			kept++
		} else {
			dropped++
		}
		fid := fmt.Sprintf("req-failure-%d", i)
		invoke(t, e, fid, event(t, "failure.json"))
		want[fid] = true
	}
	if kept == 0 || dropped == 0 {
		t.Fatalf("the ids do not exercise sampling: %d kept, %d dropped", kept, dropped)
	}
	// A failure is never sampled away: its record comes last.
	lastRecord(t, e, hook, "req-last", event(t, "failure.json"))
	want["req-last"] = true
	got := map[string]bool{}
	for _, r := range hook.Received() {
		got[r.Header.Get("X-Destinations-Request-Id")] = true
	}
	if len(got) != len(want) || len(hook.Received()) != len(want) {
		t.Errorf("%d records, want %d", len(hook.Received()), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s: no record", id)
		}
	}
}

// TestSlowCondition: a success slower than DESTINATIONS_SLOW_MS also goes
// to the slow destination, marked Slow; a fast one does not. The streaming
// runtime sleeps 5 ms between chunks, which makes slow invocations on demand.
func TestSlowCondition(t *testing.T) {
	streamer := riet.FunctionT(t, "./e2e/streamer", "streamer")
	slow := newReceiver(t)
	success := newReceiver(t)
	e := riet.StartT(t, rie.Options{LayerDir: layerDir, TaskRoot: filepath.Dir(streamer),
		Command: []string{"/opt/destinations-wrapper", streamer},
		Env: map[string]string{
			"DESTINATIONS_ON_SUCCESS": success.URL(),
			"DESTINATIONS_ON_SLOW":    slow.URL(),
			"DESTINATIONS_SLOW_MS":    "150",
		}})
	invoke(t, e, "req-fast", []byte(`{"Chunks": 1}`))
	invoke(t, e, "req-slow", []byte(`{"Chunks": 60}`)) // at least 300 ms
	if _, err := success.Wait(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	lastRecord(t, e, slow, "req-slow-last", []byte(`{"Chunks": 60}`))
	got := slow.Received()
	if n := len(got); n != 2 {
		t.Fatalf("slow destination got %d records, want 2: req-slow's and the last one's", n)
	}
	var r record.Record
	if err := json.Unmarshal(got[0].Body, &r); err != nil {
		t.Fatal(err)
	}
	if r.RequestContext.RequestID != "req-slow" || r.RequestContext.Condition != "Success" || r.DestinationsCondition != "Slow" ||
		r.InvocationContext == nil || r.InvocationContext.DurationMs < 150 {
		t.Errorf("slow record %+v %+v", r.RequestContext, r.InvocationContext)
	}
}

// TestSignedWebhook: with DESTINATIONS_WEBHOOK_SECRET the receiver can
// verify every request, and a wrong secret cannot.
func TestSignedWebhook(t *testing.T) {
	hook := newReceiver(t)
	const secret = "s3cr3t-for-the-test"
	e := start(t, setup{layer: true, env: map[string]string{
		"DESTINATIONS_ON_SUCCESS":     hook.URL(),
		"DESTINATIONS_ON_FAILURE":     hook.URL(),
		"DESTINATIONS_WEBHOOK_SECRET": secret,
	}})
	invoke(t, e, "req-1", event(t, "success.json"))
	invoke(t, e, "req-2", event(t, "failure.json"))
	got, err := hook.Wait(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		ts, sig := r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature)
		if err := webhook.Verify(secret, ts, sig, r.Body, time.Now(), time.Minute); err != nil {
			t.Errorf("%s: signature does not verify: %v (%s %s)", r.Header.Get("X-Destinations-Request-Id"), err, ts, sig)
		}
		if err := webhook.Verify("another secret", ts, sig, r.Body, time.Now(), time.Minute); err == nil {
			t.Error("a wrong secret verifies")
		}
		if err := webhook.Verify(secret, ts, sig, append(r.Body, ' '), time.Now(), time.Minute); err == nil {
			t.Error("a changed body verifies")
		}
	}
}
