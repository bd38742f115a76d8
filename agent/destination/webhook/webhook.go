// Package webhook POSTs records to an HTTP(S) endpoint.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// Headers set on every request besides Content-Type.
const (
	HeaderCondition = "X-Destinations-Condition"
	HeaderRequestID = "X-Destinations-Request-Id"
)

// Destination POSTs records to one URL.
type Destination struct {
	url    string
	name   string // url as errors show it: without its path, often a secret
	client *http.Client
	secret string // signs each request when set: sign.go
}

// NewClient returns the HTTP client webhooks share: it honours HTTP_PROXY,
// HTTPS_PROXY and NO_PROXY as the function's own calls do.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConnsPerHost = 4
	return &http.Client{
		Transport: t,
		// A webhook's redirect would turn the POST into a GET and lose the record.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// New returns a webhook destination for url; client may be shared.
func New(url string, client *http.Client) *Destination { return NewSigned(url, client, "") }

// NewSigned returns a webhook destination whose requests carry the
// timestamp and signature headers made with secret; "" signs nothing.
func NewSigned(url string, client *http.Client, secret string) *Destination {
	if client == nil {
		client = NewClient()
	}
	return &Destination{url: url, name: destination.RedactURL(url), client: client, secret: secret}
}

// Send POSTs the record. Any 2xx is a delivery; 408, 429 and 5xx are worth
// retrying; other statuses are permanent.
func (d *Destination) Send(ctx context.Context, m destination.Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(m.Record))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", d.name, unwrapURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lambda-destinations")
	req.Header.Set(HeaderCondition, m.Condition)
	req.Header.Set(HeaderRequestID, m.RequestID)
	if d.secret != "" { // signed at each attempt, so a retry is not stale
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(d.secret, ts, m.Record))
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", d.name, unwrapURL(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("webhook %s answered %d after %s: %s", d.name, resp.StatusCode,
		time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(snippet)))
	if Retryable(resp.StatusCode) {
		return err
	}
	return fmt.Errorf("%w: %w", destination.ErrPermanent, err)
}

// Retryable reports whether a webhook status is worth another attempt.
func Retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// unwrapURL drops the *url.Error around a client error: it repeats the
// whole URL, secret path and all.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
