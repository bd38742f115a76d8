package lifecycle

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
)

// fakeExtensionsAPI serves the given events from /event/next, then blocks;
// before each event it runs the matching hook (what the runtime does).
type fakeExtensionsAPI struct {
	events []extapi.Event
	before []func()
	mu     sync.Mutex
	next   int
	nexts  []time.Time // when each /next call came
}

func (f *fakeExtensionsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/2020-01-01/extension/register":
		w.Header().Set("Lambda-Extension-Identifier", "id")
		w.Write([]byte(`{}`))
	case "/2020-01-01/extension/event/next":
		f.mu.Lock()
		i := f.next
		f.next++
		f.nexts = append(f.nexts, time.Now())
		f.mu.Unlock()
		if i >= len(f.events) {
			<-r.Context().Done()
			return
		}
		if f.before[i] != nil {
			f.before[i]()
		}
		json.NewEncoder(w).Encode(f.events[i])
	}
}

type listener struct {
	mu        sync.Mutex
	completed []invocation.Invocation
	shutdown  bool
}

func (l *listener) Invoked(context.Context, string, time.Time) {}
func (l *listener) Completed(_ context.Context, inv invocation.Invocation) {
	l.mu.Lock()
	l.completed = append(l.completed, inv)
	l.mu.Unlock()
}
func (l *listener) Shutdown(context.Context) { l.mu.Lock(); l.shutdown = true; l.mu.Unlock() }

func TestLoop(t *testing.T) {
	deadline := time.Now().Add(time.Hour).UnixMilli()
	invoke := func(id string) extapi.Event {
		return extapi.Event{EventType: extapi.Invoke, RequestID: id, DeadlineMs: deadline}
	}
	tr := NewTracker()
	tr.Polled()
	respond := func(id string, failed bool) func() {
		return func() {
			tr.Event(proxy.Event{RequestID: id, At: time.Now()})
			tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: id, Failed: failed, At: time.Now()})
		}
	}
	api := &fakeExtensionsAPI{
		events: []extapi.Event{
			invoke("answered-before-the-event"),
			invoke("answered-later"),
			{EventType: extapi.Shutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()},
		},
		before: []func(){respond("answered-before-the-event", false), nil, nil},
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := extapi.NewClient(srv.Listener.Addr().String())
	if _, err := client.Register(context.Background(), "destinations", extapi.Invoke, extapi.Shutdown); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		respond("answered-later", true)()
	}()
	l := &listener{}
	loop := &Loop{Client: client, Tracker: tr, Listener: l, Log: slog.New(slog.DiscardHandler),
		InvokeMargin: 100 * time.Millisecond, ShutdownMargin: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := loop.Run(ctx); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.completed) != 2 || l.completed[0].RequestID != "answered-before-the-event" || l.completed[1].RequestID != "answered-later" {
		t.Fatalf("completed %+v", l.completed)
	}
	if !l.completed[0].ColdStart || l.completed[1].ColdStart || l.completed[1].Outcome != invocation.Error {
		t.Errorf("cold start / outcome wrong: %+v", l.completed)
	}
	if !l.shutdown {
		t.Error("Shutdown not called")
	}
}
