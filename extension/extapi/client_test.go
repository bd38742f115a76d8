package extapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestRegisterAndNext(t *testing.T) {
	var mu sync.Mutex
	n, conns := 0, map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2020-01-01/extension/register":
			if r.Header.Get("Lambda-Extension-Name") != "destinations" {
				t.Errorf("name %q", r.Header.Get("Lambda-Extension-Name"))
			}
			w.Header().Set("Lambda-Extension-Identifier", "ext-id")
			fmt.Fprint(w, `{"functionName":"f","functionVersion":"$LATEST","handler":"h","accountId":"123456789012"}`)
		case "/2020-01-01/extension/event/next":
			if r.Header.Get("Lambda-Extension-Identifier") != "ext-id" {
				t.Errorf("identifier %q", r.Header.Get("Lambda-Extension-Identifier"))
			}
			mu.Lock()
			n++
			i := n
			conns[r.RemoteAddr] = true
			mu.Unlock()
			if i == 2 {
				w.Header().Set("Connection", "close") // the next call needs a new connection
			}
			fmt.Fprintf(w, `{"eventType":"INVOKE","requestId":"r%d","deadlineMs":1700000000000,"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1"}}`, i)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.Listener.Addr().String())
	reg, err := c.Register(context.Background(), "destinations", Invoke, Shutdown)
	if err != nil || reg.AccountID != "123456789012" || c.ID() != "ext-id" {
		t.Fatalf("register: %+v %v", reg, err)
	}
	for i := 1; i <= 4; i++ {
		ev, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ev.EventType != Invoke || ev.RequestID != fmt.Sprintf("r%d", i) || ev.Tracing.Value != "Root=1" || ev.Deadline().UnixMilli() != 1700000000000 {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if len(conns) != 2 {
		t.Errorf("%d connections for 4 events, want 2 (kept alive, renewed after Connection: close)", len(conns))
	}
}

func TestNextAfterTheAPIDroppedTheConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"eventType":"SHUTDOWN","shutdownReason":"spindown"}`)
	}))
	defer srv.Close()
	c := NewClient(srv.Listener.Addr().String())
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	ev, err := c.Next(context.Background())
	if err != nil || ev.ShutdownReason != "spindown" {
		t.Fatalf("%+v %v", ev, err)
	}
}

func TestNextEndsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // never answers
		}
	}()
	c := NewClient(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the context's", err)
	}
}

func TestInitError(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := NewClient(srv.Listener.Addr().String())
	if err := c.InitError(context.Background(), "Extension.ConfigInvalid", "DESTINATIONS_PROXY_PORT=\"x\": not a port number"); err != nil {
		t.Fatal(err)
	}
	if got.Get("Lambda-Extension-Function-Error-Type") != "Extension.ConfigInvalid" {
		t.Errorf("headers %v", got)
	}
}

func TestSubscribeTelemetryNotSupported(t *testing.T) {
	// What the Runtime Interface Emulator and sam local answer.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"errorMessage":"Telemetry API is not supported","errorType":"Telemetry.NotSupported"}`)
	}))
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := NewClient(api.Listener.Addr().String())
	if err := c.SubscribeTelemetry(ctx, "http://127.0.0.1:1", "2022-12-13", Buffering{}); !errors.Is(err, ErrTelemetryNotSupported) {
		t.Errorf("err = %v, want ErrTelemetryNotSupported", err)
	}
}
