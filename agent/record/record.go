// Package record builds the execution record of an invocation in the format
// of AWS Lambda Destinations (version 1.0).
package record

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// Conditions, as native records name them.
const (
	ConditionSuccess = "Success"
	ConditionFailure = "Failure"
)

// Record is an execution record. The first six fields are the native ones;
// the rest are added only where they say something native cannot.
type Record struct {
	Version         string          `json:"version"`
	Timestamp       string          `json:"timestamp"`
	RequestContext  RequestContext  `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext ResponseContext `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`

	// "base64" when the payload was not valid UTF-8 and is carried encoded.
	RequestPayloadEncoding  string `json:"requestPayloadEncoding,omitempty"`
	ResponsePayloadEncoding string `json:"responsePayloadEncoding,omitempty"`
	// Set when a payload was larger than the capture cap: its full size.
	RequestPayloadTruncated  *Truncation `json:"requestPayloadTruncated,omitempty"`
	ResponsePayloadTruncated *Truncation `json:"responsePayloadTruncated,omitempty"`
}

// Truncation says a payload holds only the first Kept of Size bytes.
type Truncation struct {
	Size int64 `json:"size"`
	Kept int   `json:"kept"`
}

// RequestContext is the record's requestContext.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is the record's responseContext.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// Function identifies the function whose invocations are recorded.
type Function struct {
	ARN     string // unqualified; empty means: take it from the invoked ARN
	Version string // executed version, "$LATEST" or a number
}

// TimeFormat is the record's timestamp format: UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Build makes the record of an invocation.
func Build(inv invocation.Invocation, fn Function) Record {
	version := fn.Version
	if version == "" {
		version = "$LATEST"
	}
	arn := fn.ARN
	if arn == "" {
		arn = Unqualified(inv.InvokedFunctionARN)
	}
	end := inv.End
	if end.IsZero() {
		end = time.Now()
	}
	attempt := max(inv.Attempt, 1)
	r := Record{
		Version:   "1.0",
		Timestamp: end.UTC().Format(TimeFormat),
		RequestContext: RequestContext{
			RequestID:              inv.RequestID,
			FunctionARN:            arn + ":" + version,
			Condition:              ConditionSuccess,
			ApproximateInvokeCount: attempt,
		},
		ResponseContext: ResponseContext{StatusCode: 200, ExecutedVersion: version},
	}
	r.RequestPayload, r.RequestPayloadEncoding, r.RequestPayloadTruncated = Payload(inv.Request)
	r.ResponsePayload, r.ResponsePayloadEncoding, r.ResponsePayloadTruncated = Payload(inv.Response)
	if inv.Outcome.Failed() {
		r.RequestContext.Condition = ConditionFailure
		r.ResponseContext.FunctionError = "Unhandled"
	}
	return r
}

// Marshal serialises a record as one line of compact JSON.
func Marshal(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // payloads keep their <, > and & as sent
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Payload embeds captured bytes in the record: as JSON when they are valid
// JSON, else as a JSON string, or as a base64 string when they are not valid
// UTF-8. An empty body is null. Only insignificant whitespace is changed.
func Payload(p invocation.Payload) (json.RawMessage, string, *Truncation) {
	b := p.Bytes
	var trunc *Truncation
	if p.Truncated {
		b = trimPartialRune(b)
		trunc = &Truncation{Size: p.Size, Kept: len(b)}
	}
	if len(b) == 0 {
		return json.RawMessage("null"), "", trunc
	}
	if !utf8.Valid(b) {
		return quote(base64.StdEncoding.EncodeToString(b)), "base64", trunc
	}
	if !trunc.isSet() {
		var c bytes.Buffer
		c.Grow(len(b))
		if err := json.Compact(&c, b); err == nil {
			return c.Bytes(), "", nil
		}
	}
	return quote(string(b)), "", trunc
}

func (t *Truncation) isSet() bool { return t != nil }

func quote(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// trimPartialRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// Unqualified strips an alias or version from a function ARN:
// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
func Unqualified(functionARN string) string {
	parts := strings.SplitN(functionARN, ":", 8)
	if len(parts) >= 7 {
		return strings.Join(parts[:7], ":")
	}
	return functionARN
}
