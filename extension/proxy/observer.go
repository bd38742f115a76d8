package proxy

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// Runtime API headers and trailers.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedARN      = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	HeaderResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	TrailerErrorType      = "Lambda-Runtime-Function-Error-Type"
	TrailerErrorBody      = "Lambda-Runtime-Function-Error-Body"
)

// Call is the Runtime API call a request is.
type Call uint8

const (
	CallOther        Call = iota // anything else: forwarded, not observed
	CallNext                     // GET  /2018-06-01/runtime/invocation/next
	CallResponse                 // POST /2018-06-01/runtime/invocation/{id}/response
	CallError                    // POST /2018-06-01/runtime/invocation/{id}/error
	CallInitError                // POST /2018-06-01/runtime/init/error
	CallRestoreNext              // GET  /2018-06-01/runtime/restore/next
	CallRestoreError             // POST /2018-06-01/runtime/restore/error
	numCalls
)

func (c Call) String() string {
	switch c {
	case CallNext:
		return "next"
	case CallResponse:
		return "response"
	case CallError:
		return "error"
	case CallInitError:
		return "init error"
	case CallRestoreNext:
		return "restore next"
	case CallRestoreError:
		return "restore error"
	}
	return "other"
}

// postsResult reports whether the call posts a result, whose answer the
// observer is told.
func (c Call) postsResult() bool {
	return c == CallResponse || c == CallError || c == CallInitError || c == CallRestoreError
}

// waits reports whether the call waits for an event, for as long as it takes.
func (c Call) waits() bool { return c == CallNext || c == CallRestoreNext }

// Event is what the runtime received from /next.
type Event struct {
	RequestID          string
	Deadline           time.Time
	InvokedFunctionARN string
	TraceID            string
	ClientContext      string
	CognitoIdentity    string
	Body               invocation.Payload
	At                 time.Time // when the event went through
}

// Result is the Runtime API's answer to a call that posts a result,
// accepted or refused.
type Result struct {
	Call      Call   // CallResponse, CallError, CallInitError or CallRestoreError
	RequestID string // the id in the path, percent-decoded; empty for init and restore errors
	// Status is the Runtime API's final status: 2xx accepted; 413, 400,
	// 403, 500... refused.
	Status int
	// Failed says the runtime posted to an error endpoint, or posted a
	// response Lambda treats as failed (error trailers where Lambda reads
	// them). Whether Lambda accepted it is Status.
	Failed bool
	// ErrorType is Lambda-Runtime-Function-Error-Type: the header, or the
	// trailer of a response that failed.
	ErrorType string
	// Body is what the runtime posted; for a response that failed in its
	// trailers, the trailer's decoded error body.
	Body invocation.Payload
	// Answer is the Runtime API's answer body when Status is not 2xx, at
	// most maxAnswer bytes of it.
	Answer []byte
	At     time.Time // when the Runtime API's answer head arrived
}

// maxAnswer bounds the refusal kept in Result.Answer.
const maxAnswer = 64 << 10

// Observer receives what the proxy sees. Calls come from the proxy's
// goroutines, any number at once, and must not block. Event and Result are
// told once the answer has gone back to the runtime: the runtime's next
// step is on the caller's critical path, the observer's work is not.
type Observer interface {
	Polled()     // the runtime asked for its next event: told before the call goes up
	Event(Event) // the runtime received an event
	// Result: the Runtime API answered a result call. Told for accepted and
	// refused ones, after the answer went back to the runtime; also when
	// the body upload failed after the answer arrived (a 413 may come
	// before the whole body was read), never when no answer came.
	Result(Result)
	RuntimeGone() // the last connection that had carried a request closed
}

type nopObserver struct{}

func (nopObserver) Polled()       {}
func (nopObserver) Event(Event)   {}
func (nopObserver) Result(Result) {}
func (nopObserver) RuntimeGone()  {}

func eventFromHeader(h http.Header) Event {
	ev := Event{
		RequestID:          h.Get(HeaderRequestID),
		InvokedFunctionARN: h.Get(HeaderInvokedARN),
		TraceID:            h.Get(HeaderTraceID),
		ClientContext:      h.Get(HeaderClientContext),
		CognitoIdentity:    h.Get(HeaderCognitoIdentity),
	}
	if ms, err := strconv.ParseInt(h.Get(HeaderDeadlineMs), 10, 64); err == nil {
		ev.Deadline = time.UnixMilli(ms)
	}
	return ev
}

// outcome sets what a result call's request says of the invocation:
// whether it failed, its error type and the body the record holds.
//
// Lambda reads the error trailers of a response only in some cases. A
// response posted in streaming mode (Lambda-Runtime-Function-Response-Mode:
// streaming) that fails midway says so in its trailers, and Lambda reports
// the error. On classic Lambda the trailers of a buffered response (no
// streaming mode) go nowhere: the caller gets the body and a success, as
// in the emulator. Lambda Managed Instances reads them whatever the mode,
// and the caller gets the trailer's error instead.
func outcome(r *Result, request, trailer http.Header, managedInstances bool) {
	if r.Call != CallResponse {
		r.Failed = true
		r.ErrorType = request.Get(HeaderErrorType)
		return
	}
	errorType := trailer.Get(TrailerErrorType)
	streaming := request.Get(HeaderResponseMode) == "streaming"
	if errorType == "" || !streaming && !managedInstances {
		return
	}
	r.Failed, r.ErrorType = true, errorType
	b, err := base64.StdEncoding.DecodeString(trailer.Get(TrailerErrorBody))
	switch {
	case err == nil && len(b) > 0:
		r.Body = invocation.Payload{Bytes: b, Size: int64(len(b))}
	case !streaming:
		// Managed Instances answers the caller with the decoded body
		// alone, empty when it is missing or does not decode.
		r.Body = invocation.Payload{}
	}
}
