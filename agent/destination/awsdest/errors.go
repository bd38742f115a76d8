package awsdest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// EntryError is one entry of a batch (or of a PutEvents call) that the
// service refused inside an otherwise successful answer.
type EntryError struct {
	Code        string
	Message     string
	SenderFault bool
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("entry refused: %s: %s", e.Code, e.Message)
}

// ErrorCode, ErrorMessage and ErrorFault make an EntryError a smithy.APIError,
// so callers can inspect whole-request and per-entry errors alike.
func (e *EntryError) ErrorCode() string    { return e.Code }
func (e *EntryError) ErrorMessage() string { return e.Message }
func (e *EntryError) ErrorFault() smithy.ErrorFault {
	if e.SenderFault {
		return smithy.FaultClient
	}
	return smithy.FaultServer
}

// APIError is a service's refusal of a whole request: an answer other
// than 2xx.
type APIError struct {
	Operation  string // SendMessage, Publish, PutEvents, Invoke, PutObject…
	StatusCode int
	Code       string // the service's error code, "" when it gave none
	Message    string
	RequestID  string
	Header     http.Header // of the answer

	region    string // S3's <Region>, when it names the bucket's
	clockSkew bool   // refused while our clock was off by minutes
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Operation, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	if e.clockSkew {
		b.WriteString(" (the clocks differ: the next request is signed with the server's time)")
	}
	return b.String()
}

// ErrorCode, ErrorMessage and ErrorFault make an APIError a smithy.APIError.
func (e *APIError) ErrorCode() string    { return e.Code }
func (e *APIError) ErrorMessage() string { return e.Message }
func (e *APIError) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

type class int

const (
	retryable class = iota
	permanent
	tooLarge
)

// wrap names the destination in err and adds the class sentinels.
func wrap(t destination.Target, err error) error {
	switch classify(err) {
	case tooLarge:
		return fmt.Errorf("destination %s: %w (%w, %w)", t.Raw, err, destination.ErrTooLarge, destination.ErrPermanent)
	case permanent:
		return fmt.Errorf("destination %s: %w (%w)", t.Raw, err, destination.ErrPermanent)
	}
	return fmt.Errorf("destination %s: %w", t.Raw, err)
}

// tooLargeError is the local refusal of a record over the destination's limit.
func tooLargeError(t destination.Target, size, limit int) error {
	return fmt.Errorf("destination %s: record of %d bytes is over the limit of %d bytes (%w, %w)",
		t.Raw, size, limit, destination.ErrTooLarge, destination.ErrPermanent)
}

func classify(err error) class {
	var ee *EntryError
	if errors.As(err, &ee) {
		return classifyAPI(0, ee.Code, ee.Message, ee.SenderFault)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		// No answer from the service: connection error, timeout,
		// cancellation, bad local configuration. Trying later may work.
		return retryable
	}
	if ae.clockSkew {
		return retryable
	}
	return classifyAPI(ae.StatusCode, ae.Code, ae.Message, ae.StatusCode >= 400 && ae.StatusCode < 500)
}

// classifyAPI decides from what the service said. sender reports that the
// service blamed the request (a 4xx, or SenderFault in a batch answer).
func classifyAPI(status int, code, msg string, sender bool) class {
	switch {
	case isTooLarge(status, code, msg):
		return tooLarge
	case isRetryableCode(code), status == 408, status == 429, status >= 500:
		return retryable
	case sender:
		return permanent
	}
	return retryable
}

// isRetryableCode tells the refusals that say "not now" rather than
// "never": throttling (some services send it as a 400, SQS even as a 403),
// timeouts, clock skew (the client corrects its offset for the next
// attempt), transient state. A switch rather than a map: no work at package init.
func isRetryableCode(code string) bool {
	switch code {
	case // the SDK's throttle and timeout codes (retry.DefaultThrottleErrorCodes)
		"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException",
		"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
		"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
		"EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
		// SQS and SNS
		"KmsThrottled", "KMS.ThrottlingException", "Throttled", "KMSThrottling",
		// Lambda
		"ResourceConflictException", "ResourceNotReadyException",
		"SnapStartNotReadyException", "SnapStartTimeoutException",
		// S3
		"OperationAborted",
		// any service
		"InternalFailure", "InternalError", "InternalException",
		"ServiceUnavailable", "ServiceUnavailableException",
		"RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture":
		return true
	}
	return false
}

// isTooLargeCode tells the codes that mean "too large" by themselves:
// generic ones, Lambda Invoke's, S3's, and SQS's and SNS's for batches.
func isTooLargeCode(code string) bool {
	switch code {
	case "RequestEntityTooLarge", "RequestEntityTooLargeException", "RequestTooLargeException",
		"EntityTooLarge", "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong":
		return true
	}
	return false
}

// isValidationCode tells the generic refusals that say why only in their
// message; the message is what tells a size refusal from the others.
func isValidationCode(code string) bool {
	switch code {
	case "InvalidParameterValue", "InvalidParameter", "ValidationException", "ValidationError",
		"InvalidArgument", "InvalidRequestContentException", "ParameterValueInvalid", "MalformedDetail":
		return true
	}
	return false
}

func isTooLarge(status int, code, msg string) bool {
	if status == 413 || isTooLargeCode(code) {
		return true
	}
	if !isValidationCode(code) {
		return false
	}
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "too long"), strings.Contains(m, "too large"),
		strings.Contains(m, "too big"), strings.Contains(m, "must be shorter"):
		return true
	case strings.Contains(m, "size") &&
		(strings.Contains(m, "exceed") || strings.Contains(m, "over the limit") || strings.Contains(m, "limit")):
		return true
	}
	return false
}
