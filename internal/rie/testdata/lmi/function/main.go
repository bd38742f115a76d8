// Command function is an aws-lambda-go function for the tests that run the
// emulator's Lambda Managed Instances mode, where one process serves
// AWS_LAMBDA_MAX_CONCURRENCY invocations at once. The event says what to do:
//
//	{"Sleep": 300, …}    sleep 300 ms first, then do what the rest says
//	{"Await": "URL"}     GET URL and answer {"awaited":true} once it answers:
//	                     a test holds invocations running until it lets go
//	{"Fail": "message"}  a handler error, errorType FixtureError
//	{"Text": "not json"} that text as the response, not JSON
//	{"Bytes": 20480}     a JSON string of exactly that many bytes
//	{"Crash": true}      exit the process without answering
//	anything else        the event itself, byte for byte
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Sleep int     `json:"Sleep"`
	Await string  `json:"Await"`
	Fail  *string `json:"Fail"`
	Text  *string `json:"Text"`
	Bytes int     `json:"Bytes"`
	Crash bool    `json:"Crash"`
}

// FixtureError is the handler error; its type name is the errorType.
type FixtureError struct{ Message string }

func (e *FixtureError) Error() string { return e.Message }

type handler struct {
	client *http.Client // for Await
}

// Invoke answers with raw bytes, so that bodies go out as they are.
func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return payload, nil
	}
	if ev.Sleep > 0 {
		// Not watching ctx: a sleep past the deadline is how a test times out.
		time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
	}
	switch {
	case ev.Crash:
		os.Exit(3)
	case ev.Await != "":
		// Not watching ctx either: the test decides when it ends.
		if err := h.await(ev.Await); err != nil {
			return nil, &FixtureError{Message: err.Error()}
		}
		return []byte(`{"awaited":true}`), nil
	case ev.Fail != nil:
		return nil, &FixtureError{Message: *ev.Fail}
	case ev.Text != nil:
		return []byte(*ev.Text), nil
	case ev.Bytes > 0:
		return jsonString(ev.Bytes), nil
	}
	return payload, nil
}

// await returns when a GET of url has been answered.
func (h handler) await(url string) error {
	resp, err := h.client.Get(url)
	if err != nil {
		return fmt.Errorf("await %s: %w", url, err)
	}
	resp.Body.Close()
	return nil
}

// jsonString returns a JSON string literal of exactly n bytes (at least 2).
func jsonString(n int) []byte {
	b := bytes.Repeat([]byte("x"), max(n, 2))
	b[0], b[len(b)-1] = '"', '"'
	return b
}

func main() {
	// The test's servers are reached directly, whatever proxy the environment names.
	lambda.Start(handler{client: &http.Client{Transport: &http.Transport{Proxy: nil}}})
}
