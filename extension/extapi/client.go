// Package extapi is a client of the Lambda Extensions API: register, wait for
// the next event, report init and exit errors.
package extapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	base string
	http *http.Client
	id   string
}

// NewClient returns a client for the Extensions API at address (HOST:PORT).
// It never goes through HTTP_PROXY: the API is local.
func NewClient(address string) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &Client{
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
	var reg Registration
	if len(data) > 0 {
		if err := json.Unmarshal(data, &reg); err != nil {
			return nil, fmt.Errorf("register: decoding answer: %w", err)
		}
	}
	return &reg, nil
}

// Next blocks until the next event.
func (c *Client) Next(ctx context.Context) (*Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"event/next", nil)
	if err != nil {
		return nil, fmt.Errorf("next: %w", err)
	}
	req.Header.Set(headerIdentifier, c.id)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("next: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("next: status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("next: decoding event: %w", err)
	}
	return &ev, nil
}

// InitError reports a failed init; Lambda then fails the init phase.
func (c *Client) InitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "init/error", errorType, message)
}

// ExitError reports an error before the extension exits.
func (c *Client) ExitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "exit/error", errorType, message)
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
