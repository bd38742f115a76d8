// Package telemetry subscribes to the Lambda Telemetry API for platform
// events and passes on what they say of each invocation's end. Where the
// API is absent (the emulator, sam local) everything works without it.
package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrNotSupported is returned where the Telemetry API is absent.
var ErrNotSupported = errors.New("telemetry API not supported here")

// Observer is told how each invocation's runtime phase ended.
type Observer interface {
	RuntimeDone(requestID, status, errorType string)
}

// Event is one Telemetry API event; only the platform ones are read.
type Event struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// RuntimeDone is the record of a platform.runtimeDone event.
type RuntimeDone struct {
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

// Listen starts a listener for Telemetry API events. In Lambda the
// destination host must be sandbox.localdomain; elsewhere loopback is used.
func Listen(obs Observer, log *slog.Logger) (*Listener, error) {
	host := "sandbox.localdomain"
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		host = "127.0.0.1"
		if ln, err = net.Listen("tcp", host+":0"); err != nil {
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

func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer r.Body.Close()
	var events []Event
	if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
		l.log.Debug("telemetry batch not understood", "error", err)
		w.WriteHeader(http.StatusOK) // a bad batch must not be sent again
		return
	}
	for _, ev := range events {
		if ev.Type != "platform.runtimeDone" {
			continue
		}
		var rd RuntimeDone
		if err := json.Unmarshal(ev.Record, &rd); err == nil && rd.RequestID != "" {
			l.obs.RuntimeDone(rd.RequestID, rd.Status, rd.ErrorType)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// Subscribe asks the Telemetry API at address (AWS_LAMBDA_RUNTIME_API) to
// post platform events to uri. It returns ErrNotSupported where the API
// answers Telemetry.NotSupported.
func Subscribe(ctx context.Context, address, extensionID, uri string) error {
	body, _ := json.Marshal(map[string]any{
		"schemaVersion": "2022-12-13",
		"destination":   map[string]string{"protocol": "HTTP", "URI": uri},
		"types":         []string{"platform"},
		// The smallest buffering Lambda allows: runtimeDone should arrive
		// before the SHUTDOWN that follows a timeout or a crash.
		"buffering": map[string]int{"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+address+"/2022-07-01/telemetry", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	req.Header.Set("Lambda-Extension-Identifier", extensionID)
	req.Header.Set("Content-Type", "application/json")
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the API is local: never through HTTP_PROXY
	resp, err := (&http.Client{Transport: t, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if strings.Contains(string(answer), "Telemetry.NotSupported") {
		return ErrNotSupported
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("telemetry subscribe: status %s: %s", strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(answer)))
	}
	return nil
}
