package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
)

type doneRecorder struct {
	mu   sync.Mutex
	seen []Done
}

func (d *doneRecorder) PlatformStart(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, Done{id, "start", ""})
}

func (d *doneRecorder) PlatformDone(id, status, errorType string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, Done{id, status, errorType})
}

func TestSubscribeAndReceive(t *testing.T) {
	obs := &doneRecorder{}
	l, err := Listen(obs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	var sub struct {
		Destination struct{ URI string }
		Types       []string
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2020-01-01/extension/register" {
			w.Header().Set("Lambda-Extension-Identifier", "ext-1")
			io.WriteString(w, "{}")
			return
		}
		if r.Method != http.MethodPut || r.URL.Path != "/2022-07-01/telemetry" || r.Header.Get("Lambda-Extension-Identifier") != "ext-1" {
			t.Errorf("subscribe: %s %s %v", r.Method, r.URL.Path, r.Header)
		}
		json.NewDecoder(r.Body).Decode(&sub)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK")
	}))
	defer api.Close()
	client := extapi.NewClient(api.Listener.Addr().String())
	if _, err := client.Register(context.Background(), "destinations", extapi.Invoke); err != nil {
		t.Fatal(err)
	}
	if err := client.SubscribeTelemetry(context.Background(), l.URI(), "2022-12-13", extapi.Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25}); err != nil {
		t.Fatal(err)
	}
	if sub.Destination.URI != l.URI() || len(sub.Types) != 1 || sub.Types[0] != "platform" {
		t.Errorf("subscription = %+v", sub)
	}

	batch := `[{"time":"2022-10-12T00:00:15.064Z","type":"platform.start","record":{"requestId":"a"}},
	 {"time":"2022-10-12T00:00:18.064Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"timeout","metrics":{"durationMs":3000}}},
	 {"time":"2022-10-12T00:00:19.064Z","type":"platform.runtimeDone","record":{"requestId":"b","status":"failure","errorType":"Runtime.OutOfMemory"}},
	 {"time":"2022-10-12T00:00:20.064Z","type":"platform.report","record":{"requestId":"c","status":"error","errorType":"Function.ResponseSizeTooLarge","metrics":{"durationMs":12}}},
	 {"time":"2022-10-12T00:00:21.064Z","type":"platform.initStart","record":{"initializationType":"on-demand"}},
	 {"time":"2022-10-12T00:00:22.064Z","type":"platform.report","record":{"status":"success"}}]`
	resp, err := http.Post(strings.Replace(l.URI(), "sandbox.localdomain", "127.0.0.1", 1), "application/json", strings.NewReader(batch))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The batch is answered first and read after: wait for its events.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		obs.mu.Lock()
		n := len(obs.seen)
		obs.mu.Unlock()
		if n >= 4 {
			break
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []Done{{"a", "start", ""}, {"a", "timeout", ""}, {"b", "failure", "Runtime.OutOfMemory"}, {"c", "error", "Function.ResponseSizeTooLarge"}}
	if !slices.Equal(obs.seen, want) {
		t.Errorf("seen %+v, want %+v", obs.seen, want)
	}
}
