package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
)

// What the log says of records given up: a refused TLS certificate once
// per destination, and at shutdown whether a record may have arrived.

// newHookAgent makes an agent delivering successes to url, logging to log.
func newHookAgent(t *testing.T, url string, vars map[string]string) (a *Agent, out, log *syncBuffer) {
	t.Helper()
	environ := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "DESTINATIONS_ON_SUCCESS": url}
	for k, v := range vars {
		environ[k] = v
	}
	cfg, err := config.Parse(environ)
	if err != nil {
		t.Fatal(err)
	}
	out, log = &syncBuffer{}, &syncBuffer{}
	a, err = New(Options{Config: cfg, Stdout: out, Log: slog.New(slog.NewJSONHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a, out, log
}

// logMessages counts the messages of the JSON log lines.
func logMessages(t *testing.T, log string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if l == "" {
			continue
		}
		var line struct{ Msg string }
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		n[line.Msg]++
	}
	return n
}

// A webhook whose certificate the client refuses (here self-signed) gets
// one handshake per record, not one per attempt, and the log tells why once.
func TestCertificateRefusedOnce(t *testing.T) {
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request got through a refused certificate")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	a, out, log := newHookAgent(t, srv.URL+"/hook", map[string]string{"DESTINATIONS_MAX_ATTEMPTS": "4"})
	for i := range 3 {
		a.Completed(context.Background(), success(fmt.Sprintf("r%d", i), `{}`, `{}`, time.Millisecond))
	}
	a.Shutdown(context.Background())
	if n := handshakes.Load(); n != 3 {
		t.Errorf("%d connections for 3 records, want 3: a refused certificate is not retried", n)
	}
	msgs := logMessages(t, log.String())
	if msgs["TLS certificate refused: records to this destination are not retried, and go to the log until it is mended"] != 1 ||
		msgs["record not delivered"] != 0 {
		t.Errorf("log messages %v, want the refusal once", msgs)
	}
	if !strings.Contains(log.String(), "certificate") {
		t.Errorf("the log does not say why: %s", log.String())
	}
	lines := logLines(t, out.String())
	if len(lines) != 3 {
		t.Fatalf("%d lines on the function's log, want the 3 records", len(lines))
	}
	for _, l := range lines {
		if l.Msg != "undelivered record" || !strings.Contains(l.Reason, "certificate") {
			t.Errorf("line %+v", l)
		}
	}
}

// An attempt that the shutdown cuts short after the request went out is
// counted, and the record is said to be possibly delivered.
func TestShutdownCutsAnAttemptShort(t *testing.T) {
	received := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(received)
		<-release // no answer before the shutdown
	}))
	defer srv.Close()
	defer close(release)
	a, out, _ := newHookAgent(t, srv.URL, map[string]string{"DESTINATIONS_FLUSH": "background"})
	a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
	<-received
	over, cancel := context.WithCancel(context.Background())
	cancel() // no time left
	a.Shutdown(over)
	lines := logLines(t, out.String())
	if len(lines) != 1 || lines[0].RequestID != "r1" {
		t.Fatalf("lines %+v, want r1's", lines)
	}
	const want = "not delivered before the shutdown deadline (1 attempt): the last one had no answer, and the record may have been delivered: "
	if !strings.HasPrefix(lines[0].Reason, want) || !strings.Contains(lines[0].Reason, "context canceled") {
		t.Errorf("reason %q, want it to start %q", lines[0].Reason, want)
	}
}

// At SHUTDOWN the background worker ends the attempt it has in flight
// rather than be cut short, so that a record the destination got is not
// sent to it again.
func TestShutdownLetsTheWorkerFinish(t *testing.T) {
	var got atomic.Int32
	received := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if got.Add(1) == 1 {
			close(received)
		}
		<-release
	}))
	defer srv.Close()
	a, out, _ := newHookAgent(t, srv.URL, map[string]string{"DESTINATIONS_FLUSH": "background"})
	a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
	<-received // the worker's attempt is in flight
	shut := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		a.Shutdown(ctx)
		close(shut)
	}()
	close(release)
	<-shut
	if n := got.Load(); n != 1 {
		t.Errorf("the destination got the record %d times, want once", n)
	}
	if lines := logLines(t, out.String()); len(lines) != 0 {
		t.Errorf("fallback lines %+v, want none", lines)
	}
}
