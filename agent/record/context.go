package record

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// ConditionSlow is the destinationsCondition of the record of a success
// slower than DESTINATIONS_SLOW_MS; its native condition stays Success.
const ConditionSlow = "Slow"

// InvocationContext is the record's invocationContext: what the runtime and
// the environment say of an invocation that native records leave out.
// What is unknown is left out.
type InvocationContext struct {
	DurationMs      float64         `json:"durationMs,omitempty"`
	ColdStart       bool            `json:"coldStart"`
	MemorySizeMB    int             `json:"memorySizeMB,omitempty"`
	TraceID         string          `json:"traceId,omitempty"`
	ClientContext   json.RawMessage `json:"clientContext,omitempty"`
	CognitoIdentity json.RawMessage `json:"cognitoIdentity,omitempty"`
	LogGroup        string          `json:"logGroup,omitempty"`
	LogStream       string          `json:"logStream,omitempty"`
}

// Environment is what the function's environment says of all its invocations.
type Environment struct {
	MemorySizeMB int
	LogGroup     string
	LogStream    string
}

// Context makes the invocationContext of inv. The client context and
// Cognito identity are embedded as JSON when they are JSON, else as strings.
func Context(inv invocation.Invocation, env Environment) *InvocationContext {
	return &InvocationContext{
		DurationMs:      DurationMs(inv),
		ColdStart:       inv.ColdStart,
		MemorySizeMB:    env.MemorySizeMB,
		TraceID:         inv.TraceID,
		ClientContext:   embed(inv.ClientContext),
		CognitoIdentity: embed(inv.CognitoIdentity),
		LogGroup:        env.LogGroup,
		LogStream:       env.LogStream,
	}
}

// DurationMs is the time from the runtime receiving the event to the result
// being known, in milliseconds to the microsecond; 0 when unknown.
func DurationMs(inv invocation.Invocation) float64 {
	if inv.Start.IsZero() || inv.End.IsZero() || inv.End.Before(inv.Start) {
		return 0
	}
	return float64(inv.End.Sub(inv.Start).Microseconds()) / 1000
}

func embed(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, []byte(s)); err == nil {
		return c.Bytes()
	}
	return quote(strings.ToValidUTF8(s, "\uFFFD"))
}
