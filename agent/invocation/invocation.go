// Package invocation holds what the extension observed of one invocation:
// the handoff between the Lambda side (extension/) and the agent.
package invocation

import "time"

// Outcome is how an invocation ended.
type Outcome int

const (
	Success Outcome = iota // the runtime posted /response
	Error                  // the runtime posted /error (or a streamed error trailer)
	Timeout                // the deadline passed with no result
	Crash                  // the runtime exited (or failed) with no result
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Error:
		return "error"
	case Timeout:
		return "timeout"
	case Crash:
		return "crash"
	}
	return "unknown"
}

// Failed reports whether the outcome routes to the failure destinations.
func (o Outcome) Failed() bool { return o != Success }

// Payload is a captured body: the first bytes up to the capture cap, and the
// size of the whole body as it went through.
type Payload struct {
	Bytes     []byte
	Size      int64 // bytes seen in all; more than len(Bytes) when truncated
	Truncated bool
}

// Invocation is one completed invocation.
type Invocation struct {
	RequestID          string
	InvokedFunctionARN string
	Deadline           time.Time
	TraceID            string
	ClientContext      string
	CognitoIdentity    string

	Request  Payload
	Response Payload // the response body, or the error body on Error

	Outcome   Outcome
	ErrorType string // Lambda-Runtime-Function-Error-Type, or the synthesised type

	Start time.Time // when the runtime received the event
	End   time.Time // when the result was known

	// Attempt counts the invocations of this request id this environment saw (1 for the first).
	Attempt int
	// ColdStart is true for the first invocation of the execution environment.
	ColdStart bool
}
