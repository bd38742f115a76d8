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
	Bytes []byte
	// Parts, when not nil, holds the kept bytes instead of Bytes (nil then),
	// in order: a body captured in pieces is handed over as they are rather
	// than copied into one slice, so that a large body is held once. Len,
	// Join and Contiguous read either form.
	Parts     [][]byte
	Size      int64 // bytes seen in all; more than Len() when truncated
	Truncated bool
}

// Len is the number of bytes kept.
func (p Payload) Len() int {
	if p.Parts == nil {
		return len(p.Bytes)
	}
	n := 0
	for _, part := range p.Parts {
		n += len(part)
	}
	return n
}

// Join returns the kept bytes in one slice: Bytes itself, or a copy of the
// parts joined.
func (p Payload) Join() []byte {
	if p.Parts == nil {
		return p.Bytes
	}
	b := make([]byte, 0, p.Len())
	for _, part := range p.Parts {
		b = append(b, part...)
	}
	return b
}

// Contiguous returns p with its bytes in Bytes, joined if they were in parts.
func (p Payload) Contiguous() Payload {
	if p.Parts != nil {
		p.Bytes, p.Parts = p.Join(), nil
	}
	return p
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
	// RequestIDUnknown is set when Lambda told no request id (RequestID is
	// empty): an invocation failed by a failed init, for which no INVOKE came.
	RequestIDUnknown bool
}
