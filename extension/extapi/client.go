// Package extapi is a client of the Lambda Extensions API: register, wait for
// the next event, report init and exit errors.
package extapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// EventType is an Extensions API event.
type EventType string

const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// Event is what /extension/event/next returns.
type Event struct {
	EventType          EventType `json:"eventType"`
	DeadlineMs         int64     `json:"deadlineMs"`
	RequestID          string    `json:"requestId"`
	InvokedFunctionArn string    `json:"invokedFunctionArn"`
	ShutdownReason     string    `json:"shutdownReason"`
	Tracing            struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"tracing"`
}

// Deadline is the event's deadline as a time.
func (e Event) Deadline() time.Time { return time.UnixMilli(e.DeadlineMs) }

// Registration is what /extension/register returns.
type Registration struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId"`
}

const (
	headerName       = "Lambda-Extension-Name"
	headerIdentifier = "Lambda-Extension-Identifier"
	headerErrorType  = "Lambda-Extension-Function-Error-Type"
	headerFeatures   = "Lambda-Extension-Accept-Feature"
)

// Client speaks to the Extensions API at one address.
type Client struct {
	addr    string
	base    string
	http    *http.Client
	id      string
	nc      *nextConn // Next's connection; Next is called from one goroutine
	nextReq []byte
}

// NewClient returns a client for the Extensions API at address (HOST:PORT).
// It never goes through HTTP_PROXY: the API is local.
func NewClient(address string) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &Client{
		addr: address,
		base: "http://" + address + "/2020-01-01/extension/",
		http: &http.Client{Transport: t}, // no timeout: /event/next long-polls
	}
}

// ID is the identifier Lambda gave at registration.
func (c *Client) ID() string { return c.id }

// Register registers the extension under name for the given events.
func (c *Client) Register(ctx context.Context, name string, events ...EventType) (*Registration, error) {
	body, _ := json.Marshal(struct {
		Events []EventType `json:"events"`
	}{events})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"register", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	req.Header.Set(headerName, name)
	req.Header.Set(headerFeatures, "accountId")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register: status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	c.id = resp.Header.Get(headerIdentifier)
	c.nextReq = nil
	var reg Registration
	if len(data) > 0 {
		if err := json.Unmarshal(data, &reg); err != nil {
			return nil, fmt.Errorf("register: decoding answer: %w", err)
		}
	}
	return &reg, nil
}

// Next blocks until the next event. It long-polls on a connection of its
// own, kept between events: one write and one read per event, without the
// HTTP transport's goroutine hand-offs, since the emulator (and so sam
// local) holds the caller's response until every extension is back here.
func (c *Client) Next(ctx context.Context) (*Event, error) {
	for {
		ev, reused, err := c.next(ctx)
		if err == nil {
			return ev, nil
		}
		c.closeNext()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("next: %w", ctx.Err())
		}
		if !reused {
			return nil, fmt.Errorf("next: %w", err)
		}
		// A kept connection the API had closed: once more on a new one.
	}
}

// nextConn is the connection /event/next is called on.
type nextConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func (c *Client) next(ctx context.Context) (ev *Event, reused bool, err error) {
	reused = c.nc != nil
	if !reused {
		conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return nil, false, err
		}
		c.nc = &nextConn{conn: conn, r: bufio.NewReader(conn)}
	}
	nc := c.nc
	stop := context.AfterFunc(ctx, func() { _ = nc.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := nc.conn.Write(c.nextRequest()); err != nil {
		return nil, reused, err
	}
	resp, err := http.ReadResponse(nc.r, nil)
	if err != nil {
		return nil, reused, err // on a kept connection, most likely closed by the API meanwhile
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, false, err
	}
	if resp.Close {
		c.closeNext()
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	ev = &Event{}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, false, fmt.Errorf("decoding event: %w", err)
	}
	return ev, reused, nil
}

func (c *Client) nextRequest() []byte {
	if c.nextReq == nil {
		c.nextReq = []byte("GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: " + c.addr +
			"\r\nUser-Agent: lambda-destinations\r\n" + headerIdentifier + ": " + c.id + "\r\n\r\n")
	}
	return c.nextReq
}

func (c *Client) closeNext() {
	if c.nc != nil {
		_ = c.nc.conn.Close()
		c.nc = nil
	}
}

// InitError reports a failed init; Lambda then fails the init phase.
func (c *Client) InitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "init/error", errorType, message)
}

// ErrTelemetryNotSupported is returned where the Telemetry API is absent:
// the emulator and sam local answer Telemetry.NotSupported.
var ErrTelemetryNotSupported = errors.New("telemetry API not supported here")

// Buffering is how the Telemetry API batches events for a subscriber.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

// SubscribeTelemetry asks the Telemetry API to post platform events to uri,
// in the given schema version, batched as b says.
func (c *Client) SubscribeTelemetry(ctx context.Context, uri, schemaVersion string, b Buffering) error {
	body, _ := json.Marshal(map[string]any{
		"schemaVersion": schemaVersion,
		"destination":   map[string]string{"protocol": "HTTP", "URI": uri},
		"types":         []string{"platform"},
		"buffering":     b,
	})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+c.addr+"/2022-07-01/telemetry", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	req.Header.Set(headerIdentifier, c.id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if strings.Contains(string(answer), "Telemetry.NotSupported") {
		return ErrTelemetryNotSupported
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("telemetry subscribe: status %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

func (c *Client) reportError(ctx context.Context, path, errorType, message string) error {
	body, _ := json.Marshal(struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}{message, errorType, []string{}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	req.Header.Set(headerIdentifier, c.id)
	req.Header.Set(headerErrorType, errorType)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return nil
}
