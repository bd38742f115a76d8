// Package telemetry receives the Lambda Telemetry API's platform events
// (extapi subscribes to them) and passes on what they say of each
// invocation's start and end. Where the API is absent (the emulator's
// classic mode, sam local) everything works without it.
package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Observer is told what the platform events say of each invocation.
type Observer interface {
	// PlatformStart is told that an invocation started (platform.start).
	PlatformStart(requestID string)
	// PlatformDone is told how it ended: platform.runtimeDone on classic
	// Lambda, platform.report everywhere (the only one under Managed
	// Instances). Both may come for one invocation.
	PlatformDone(requestID, status, errorType string)
}

// Event is one Telemetry API event; only the platform ones are read.
type Event struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// Done is the record of a platform.start, platform.runtimeDone or
// platform.report event, as far as it is read.
type Done struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"` // success, failure, error, timeout
	ErrorType string `json:"errorType"`
}

// Listener receives the events Lambda posts.
type Listener struct {
	obs    Observer
	log    *slog.Logger
	server *http.Server
	uri    string
}

// Listen starts a listener for Telemetry API events. Lambda requires the
// destination host to be sandbox.localdomain; where that name does not
// resolve (the emulator, which sends to 127.0.0.1 at the URI's port) the
// listener is on loopback, under the same name.
func Listen(obs Observer, log *slog.Logger) (*Listener, error) {
	const host = "sandbox.localdomain"
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("telemetry listener: %w", err)
		}
	}
	l := &Listener{obs: obs, log: log}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	l.uri = "http://" + net.JoinHostPort(host, port)
	l.server = &http.Server{Handler: l, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := l.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("telemetry listener stopped", "error", err)
		}
	}()
	return l, nil
}

// URI is the destination to subscribe with.
func (l *Listener) URI() string { return l.uri }

// Close stops the listener.
func (l *Listener) Close() error { return l.server.Close() }

// ServeHTTP answers a batch as soon as it is read, then reads its events:
// the emulator's Managed Instances mode sends one batch at a time, and a
// batch that is ready while the last is unanswered is dropped, which there
// also blocks the emulator's invocations for good.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBytes))
	r.Body.Close()
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK) // a bad batch must not be sent again either
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	var events []Event
	if err == nil {
		err = json.Unmarshal(body, &events)
	}
	if err != nil {
		l.log.Debug("telemetry batch not understood", "error", err)
		return
	}
	for _, ev := range events {
		if ev.Type != "platform.start" && ev.Type != "platform.runtimeDone" && ev.Type != "platform.report" {
			continue
		}
		var d Done
		if err := json.Unmarshal(ev.Record, &d); err != nil || d.RequestID == "" {
			l.log.Debug("telemetry event not understood", "type", ev.Type)
			continue
		}
		if ev.Type == "platform.start" {
			l.obs.PlatformStart(d.RequestID)
		} else {
			l.obs.PlatformDone(d.RequestID, d.Status, d.ErrorType)
		}
	}
}

// maxBatchBytes bounds a batch read: Lambda's largest buffering is 1 MiB.
const maxBatchBytes = 4 << 20
