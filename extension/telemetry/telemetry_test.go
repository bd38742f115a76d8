package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type doneRecorder struct {
	mu   sync.Mutex
	seen []RuntimeDone
}

func (d *doneRecorder) RuntimeDone(id, status, errorType string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, RuntimeDone{id, status, errorType})
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
		if r.Method != http.MethodPut || r.URL.Path != "/2022-07-01/telemetry" || r.Header.Get("Lambda-Extension-Identifier") != "ext-1" {
			t.Errorf("subscribe: %s %s %v", r.Method, r.URL.Path, r.Header)
		}
		json.NewDecoder(r.Body).Decode(&sub)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK")
	}))
	defer api.Close()
	if err := Subscribe(context.Background(), api.Listener.Addr().String(), "ext-1", l.URI()); err != nil {
		t.Fatal(err)
	}
	if sub.Destination.URI != l.URI() || len(sub.Types) != 1 || sub.Types[0] != "platform" {
		t.Errorf("subscription = %+v", sub)
	}

	batch := `[{"time":"2022-10-12T00:00:15.064Z","type":"platform.start","record":{"requestId":"a"}},
	 {"time":"2022-10-12T00:00:18.064Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"timeout","metrics":{"durationMs":3000}}},
	 {"time":"2022-10-12T00:00:19.064Z","type":"platform.runtimeDone","record":{"requestId":"b","status":"failure","errorType":"Runtime.OutOfMemory"}}]`
	resp, err := http.Post(strings.Replace(l.URI(), "sandbox.localdomain", "127.0.0.1", 1), "application/json", strings.NewReader(batch))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []RuntimeDone{{"a", "timeout", ""}, {"b", "failure", "Runtime.OutOfMemory"}}
	if len(obs.seen) != 2 || obs.seen[0] != want[0] || obs.seen[1] != want[1] {
		t.Errorf("seen %+v, want %+v", obs.seen, want)
	}
}

func TestNotSupported(t *testing.T) {
	// What the Runtime Interface Emulator and sam local answer.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"errorMessage":"Telemetry API is not supported","errorType":"Telemetry.NotSupported"}`)
	}))
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Subscribe(ctx, api.Listener.Addr().String(), "id", "http://127.0.0.1:1"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("err = %v, want ErrNotSupported", err)
	}
}
