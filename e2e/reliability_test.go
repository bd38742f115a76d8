package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestRetryUntilRecovered: a webhook answers 503 twice, then 200. The
// record arrives once it recovers, in both flush strategies; with
// `background` the caller has its answer before the retries are over.
func TestRetryUntilRecovered(t *testing.T) {
	for _, strategy := range []string{"end", "background"} {
		t.Run(strategy, func(t *testing.T) {
			hook := newReceiver(t)
			hook.SetSequence(503, 503, 200)
			hook.SetDelay(100 * time.Millisecond) // so that three attempts take a while
			e := start(t, setup{layer: true, env: map[string]string{
				"DESTINATIONS_ON_SUCCESS": hook.URL(),
				"DESTINATIONS_FLUSH":      strategy,
			}})
			before := len(hook.Received())
			resp := invoke(t, e, "req-1", event(t, "success.json"))
			answered := time.Now()
			if resp.Status != 200 || string(resp.Body) != `{"ok":true,"message":"success"}` {
				t.Fatalf("caller got %d %q", resp.Status, resp.Body)
			}
			got, err := hook.Wait(t.Context(), before+3)
			if err != nil {
				t.Fatal(err)
			}
			attempts := got[before:]
			for i, want := range []int{503, 503, 200} {
				if attempts[i].Status != want || attempts[i].Header.Get("X-Destinations-Request-Id") != "req-1" {
					t.Errorf("attempt %d: %d for %s", i+1, attempts[i].Status, attempts[i].Header.Get("X-Destinations-Request-Id"))
				}
			}
			last := attempts[2].Time // when the successful attempt reached the webhook
			switch strategy {
			case "end":
				if answered.Before(last) {
					t.Error("with end, the record should be delivered before the extension asks for its next event, which the emulator waits for")
				}
			case "background":
				if !answered.Before(last) {
					t.Error("with background, the caller should not wait for the retries")
				}
			}
			lastRecord(t, e, hook, "req-2", event(t, "success.json"))
			if n := len(hook.Received()); n != before+4 {
				t.Errorf("%d attempts, want 3 and the last record's", n-before)
			}
		})
	}
}

// TestDownForGood: with a destination that never answers, every record of
// 100 invocations is written whole to the log, with the destination and
// the reason.
func TestDownForGood(t *testing.T) {
	for _, strategy := range []string{"end", "background"} {
		t.Run(strategy, func(t *testing.T) {
			down := newReceiver(t)
			if err := down.Down(); err != nil {
				t.Fatal(err)
			}
			e := start(t, setup{layer: true, env: map[string]string{
				"DESTINATIONS_ON_SUCCESS":   down.URL(),
				"DESTINATIONS_FLUSH":        strategy,
				"DESTINATIONS_MAX_ATTEMPTS": "2",
			}})
			const n = 100
			for i := range n {
				payload := fmt.Sprintf(`{"Echo":%d}`, i)
				if resp := invoke(t, e, fmt.Sprintf("req-%03d", i), []byte(payload)); string(resp.Body) != payload {
					t.Fatalf("invocation %d: caller got %q", i, resp.Body)
				}
			}
			var lines map[string]logLine
			waitFor(t, 30*time.Second, "100 undelivered record lines", func() bool {
				lines = stdoutRecords(t, e.Output(), "undelivered record")
				return len(lines) >= n
			})
			for i := range n {
				id := fmt.Sprintf("req-%03d", i)
				l, ok := lines[id]
				if !ok {
					t.Errorf("%s: lost", id)
					continue
				}
				if l.Destination != down.URL() || !strings.Contains(l.Reason, "connection refused") ||
					string(l.Record.RequestPayload) != fmt.Sprintf(`{"Echo":%d}`, i) || string(l.Record.ResponsePayload) != fmt.Sprintf(`{"Echo":%d}`, i) {
					t.Errorf("%s: %+v", id, l)
				}
			}
			if len(lines) != n {
				t.Errorf("%d lines, want %d", len(lines), n)
			}
		})
	}
}

// TestShutdownFlushesPending: with `background`, records still waiting when
// the environment shuts down are delivered or written to the log before
// the shutdown deadline.
func TestShutdownFlushesPending(t *testing.T) {
	hook := newReceiver(t)
	hook.SetDelay(300 * time.Millisecond) // slower than the invocations
	e := start(t, setup{layer: true, env: map[string]string{
		"DESTINATIONS_ON_SUCCESS": hook.URL(),
		"DESTINATIONS_ON_FAILURE": hook.URL(),
		"DESTINATIONS_FLUSH":      "background",
	}})
	var ids []string
	for i := range 8 {
		id := fmt.Sprintf("req-%d", i)
		ids = append(ids, id)
		invoke(t, e, id, event(t, "success.json"))
	}
	ids = append(ids, "req-crash")
	invoke(t, e, "req-crash", event(t, "crash.json")) // SHUTDOWN follows at once

	// The extension has the shutdown phase (2 s in the emulator) to finish.
	waitFor(t, 10*time.Second, "the extension to exit", func() bool {
		_, err := e.Process("/opt/extensions/destinations")
		return strings.Contains(e.Output(), "Waiting for runtime domain processes termination") && err != nil
	})
	delivered := map[string]bool{}
	for _, r := range hook.Received() {
		delivered[r.Header.Get("X-Destinations-Request-Id")] = true
	}
	logged := stdoutRecords(t, e.Output(), "undelivered record")
	for _, id := range ids {
		if !delivered[id] && logged[id].RequestID == "" {
			t.Errorf("%s: neither delivered nor logged", id)
		}
	}
	for id, l := range logged {
		if !strings.Contains(l.Reason, "not delivered before the shutdown deadline") {
			t.Errorf("%s logged for %q", id, l.Reason)
		}
		// A record the webhook received but had not answered by then.
		if delivered[id] && !strings.Contains(l.Reason, "the last one had no answer, and the record may have been delivered") {
			t.Errorf("%s reached the webhook, but its reason says %q", id, l.Reason)
		}
	}
	t.Logf("%d delivered, %d written to the log at shutdown", len(delivered), len(logged))
}

// TestHangingDestination: a destination that never answers does not make
// the invocation time out: delivery stops within the budget and the caller
// gets what it gets without the layer.
func TestHangingDestination(t *testing.T) {
	hook := newReceiver(t)
	hook.Hang()
	e := start(t, setup{layer: true, timeout: time.Second, env: map[string]string{"DESTINATIONS_ON_SUCCESS": hook.URL()}})
	without := start(t, setup{timeout: time.Second})
	for i := range 3 {
		id := fmt.Sprintf("req-%d", i)
		a := invoke(t, e, id, event(t, "success.json"))
		b := invoke(t, without, id, event(t, "success.json"))
		if a.Status != b.Status || string(a.Body) != string(b.Body) {
			t.Errorf("%s: with a hanging destination %d %q, without %d %q", id, a.Status, a.Body, b.Status, b.Body)
		}
	}
}

// TestPayloadEdgeCases: large, binary, invalid UTF-8 and empty bodies reach
// the caller as without the layer, and the record carries them faithfully.
func TestPayloadEdgeCases(t *testing.T) {
	hook := newReceiver(t)
	e := start(t, setup{layer: true, env: map[string]string{"DESTINATIONS_ON_SUCCESS": hook.URL()}})
	without := start(t, setup{})
	sixMB := []byte(fmt.Sprintf(`{"ResponseBytes": %d}`, 6<<20))
	cases := []struct {
		name            string
		body            []byte
		request, result func(record.Record) error
	}{
		{"6 MB response", sixMB, nil, func(r record.Record) error {
			if len(r.ResponsePayload) != 6<<20 || r.ResponsePayloadTruncated != nil {
				return fmt.Errorf("responsePayload of %d bytes, truncated %+v", len(r.ResponsePayload), r.ResponsePayloadTruncated)
			}
			return nil
		}},
		{"binary body", []byte("\x00\x01\x02binary\xff"), base64Payload("request", "\x00\x01\x02binary\xff"), nil},
		{"invalid UTF-8", []byte("caf\xe9"), base64Payload("request", "caf\xe9"), nil},
		{"empty body", []byte{}, nullPayloads, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("req-%d", i)
			before := len(hook.Received())
			a := invoke(t, e, id, c.body)
			b := invoke(t, without, id, c.body)
			if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
				t.Fatalf("with the layer %d (%d bytes), without %d (%d bytes)", a.Status, len(a.Body), b.Status, len(b.Body))
			}
			got, err := hook.Wait(t.Context(), before+1)
			if err != nil {
				t.Fatal(err)
			}
			var r record.Record
			if err := json.Unmarshal(got[before].Body, &r); err != nil {
				t.Fatalf("record is not JSON: %v", err)
			}
			for _, check := range []func(record.Record) error{c.request, c.result} {
				if check != nil {
					if err := check(r); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}

func base64Payload(which, raw string) func(record.Record) error {
	return func(r record.Record) error {
		want, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte(raw)))
		if string(r.RequestPayload) != string(want) || r.RequestPayloadEncoding != "base64" {
			return fmt.Errorf("%sPayload %s (%q), want %s", which, r.RequestPayload, r.RequestPayloadEncoding, want)
		}
		return nil
	}
}

func nullPayloads(r record.Record) error {
	if string(r.RequestPayload) != "null" || string(r.ResponsePayload) != "null" {
		return fmt.Errorf("payloads %s / %s, want null / null", r.RequestPayload, r.ResponsePayload)
	}
	return nil
}

// TestStreamedResponse: a streaming runtime's chunks and error trailers go
// through as without the layer, and a midstream error makes a failure
// record holding the streamed prefix's error.
func TestStreamedResponse(t *testing.T) {
	streamer := riet.FunctionT(t, "./e2e/streamer", "streamer")
	hook := newReceiver(t)
	with := riet.StartT(t, rie.Options{LayerDir: layerDir, TaskRoot: filepath.Dir(streamer),
		Command: []string{"/opt/destinations-wrapper", streamer},
		Env:     map[string]string{"DESTINATIONS_ON_SUCCESS": hook.URL(), "DESTINATIONS_ON_FAILURE": hook.URL()}})
	without := riet.StartT(t, rie.Options{TaskRoot: filepath.Dir(streamer), Command: []string{streamer}})
	cases := []struct {
		name, body, condition, response string
	}{
		{"whole stream", `{"Chunks": 5}`, "Success", `"chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n"`},
		{"midstream error", `{"Chunks": 5, "FailAfter": 2}`, "Failure", `{"errorMessage":"failed after chunk 2","errorType":"Stream.Failed"}`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("req-%d", i)
			before := len(hook.Received())
			a := invoke(t, with, id, []byte(c.body))
			b := invoke(t, without, id, []byte(c.body))
			if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
				t.Errorf("with the layer %d %q, without %d %q", a.Status, a.Body, b.Status, b.Body)
			}
			got, err := hook.Wait(t.Context(), before+1)
			if err != nil {
				t.Fatal(err)
			}
			var r record.Record
			if err := json.Unmarshal(got[before].Body, &r); err != nil {
				t.Fatal(err)
			}
			if r.RequestContext.Condition != c.condition || string(r.ResponsePayload) != c.response {
				t.Errorf("record %s %s, want %s %s", r.RequestContext.Condition, r.ResponsePayload, c.condition, c.response)
			}
		})
	}
}
