package lifecycle

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Error types Lambda gives invocations that posted no result of their own.
const (
	errTimedOut     = "Sandbox.Timedout"
	errExited       = "Runtime.ExitError"
	errResponseSize = "Function.ResponseSizeTooLarge"
)

// maxResponseBytes is the largest response the Runtime API accepts from a
// buffered function: 6 MiB and 100 bytes, as Lambda's message says.
const maxResponseBytes = 6291556

// failure is how an invocation that posted no accepted result ended.
type failure struct {
	state     State // TimedOut, Crashed or Refused
	errorType string
	body      invocation.Payload
}

// timedOut is the failure Lambda reports for an invocation stopped at its
// deadline. timeout is the function's timeout where it is known; else it is
// taken from the deadline, Lambda timeouts being whole seconds. Under
// Managed Instances the message does not start with the request id.
func timedOut(requestID string, start, deadline time.Time, timeout time.Duration, managed bool) failure {
	if timeout <= 0 && !start.IsZero() && !deadline.IsZero() {
		timeout = time.Duration(math.Round(deadline.Sub(start).Seconds())) * time.Second
	}
	what := fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())
	if !managed {
		what = errorMessage(requestID, what)
	}
	return failure{TimedOut, errTimedOut, errorBody(errTimedOut, what)}
}

// crashed is the failure Lambda reports for a runtime that exited, or
// failed, with no result. errorType, where the Telemetry API told one
// (Runtime.OutOfMemory, say), replaces Runtime.ExitError.
func crashed(requestID, errorType string) failure {
	what := "Runtime exited without providing a reason"
	switch {
	case errorType == "":
		errorType = errExited
	case strings.Contains(errorType, "OutOfMemory"):
		what = "Runtime exited with error: signal: killed"
	}
	return failure{Crashed, errorType, errorBody(errorType, errorMessage(requestID, what))}
}

// refused decides what a result the Runtime API refused means for its
// invocation: ok is false when the refusal leaves the invocation running
// (a second result, an unknown request id), true when Lambda ends it.
func refused(requestID string, status int, answer []byte, start, deadline time.Time, timeout time.Duration, managed bool) (f failure, ok bool) {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)
		return failure{Refused, errResponseSize, errorBody(errResponseSize, msg)}, true
	case status == http.StatusGone || answerType(answer) == "InvokeTimeout":
		// Managed Instances: the result came after Lambda timed the invocation out.
		return timedOut(requestID, start, deadline, timeout, managed), true
	}
	return failure{}, false
}

// answerType is the errorType of a Runtime API error answer.
func answerType(answer []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(answer, &e) != nil {
		return ""
	}
	return e.ErrorType
}

// initFailed is the failure of an invocation whose init failed: the error
// the runtime posted to /runtime/init/error, or, when it posted none, the
// exit Lambda reports.
func initFailed(requestID string, posted *initError) failure {
	if posted == nil {
		return crashed(requestID, "")
	}
	errorType := posted.errorType
	if errorType == "" {
		errorType = answerType(posted.body.Join())
	}
	if errorType == "" {
		errorType = errExited
	}
	body := posted.body
	if body.Len() == 0 {
		body = errorBody(errorType, errorMessage(requestID, "Runtime failed its init without providing a reason"))
	}
	return failure{Crashed, errorType, body}
}

// errorMessage is Lambda's message for an invocation: the request id where
// it is known, then what happened.
func errorMessage(requestID, what string) string {
	if requestID == "" {
		return "Error: " + what
	}
	return "RequestId: " + requestID + " Error: " + what
}

// errorBody is the error payload Lambda gives an invocation that posted none.
func errorBody(errorType, message string) invocation.Payload {
	b := []byte(`{"errorType":`)
	b = record.AppendString(b, errorType)
	b = append(b, `,"errorMessage":`...)
	b = record.AppendString(b, message)
	b = append(b, '}')
	return invocation.Payload{Bytes: b, Size: int64(len(b))}
}
