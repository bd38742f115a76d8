package awsdest

import (
	"errors"
	"fmt"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// ErrTooLarge marks a record that the destination refused, or would refuse,
// for its size. Errors wrapping it also wrap destination.ErrPermanent:
// sending the same bytes again cannot succeed.
var ErrTooLarge = errors.New("record too large")

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
		return fmt.Errorf("destination %s: %w (%w, %w)", t.Raw, err, ErrTooLarge, destination.ErrPermanent)
	case permanent:
		return fmt.Errorf("destination %s: %w (%w)", t.Raw, err, destination.ErrPermanent)
	}
	return fmt.Errorf("destination %s: %w", t.Raw, err)
}

// tooLargeError is the local refusal of a record over the destination's limit.
func tooLargeError(t destination.Target, size, limit int) error {
	return fmt.Errorf("destination %s: record of %d bytes is over the limit of %d bytes (%w, %w)",
		t.Raw, size, limit, ErrTooLarge, destination.ErrPermanent)
}

func classify(err error) class {
	var ee *EntryError
	if errors.As(err, &ee) {
		return classifyAPI(0, ee.Code, ee.Message, ee.SenderFault)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		// No answer from the service: connection error, timeout,
		// cancellation, bad local configuration. Trying later may work.
		return retryable
	}
	status := re.HTTPStatusCode()
	var code, msg string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	return classifyAPI(status, code, msg, status >= 400 && status < 500)
}

// classifyAPI decides from what the service said. sender reports that the
// service blamed the request (a 4xx, or SenderFault in a batch answer).
func classifyAPI(status int, code, msg string, sender bool) class {
	switch {
	case isTooLarge(status, code, msg):
		return tooLarge
	case retryableCodes[code], status == 408, status == 429, status >= 500:
		return retryable
	case sender:
		return permanent
	}
	return retryable
}

// retryableCodes are refusals that say "not now" rather than "never":
// throttling (some services send it as 400 or even 403), timeouts, clock
// skew (the SDK corrects its offset for the next attempt), transient state.
var retryableCodes = map[string]bool{
	// the SDK's own throttle and timeout codes (retry.DefaultThrottleErrorCodes)
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true,
	"RequestThrottled": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"EC2ThrottledException": true, "RequestTimeout": true, "RequestTimeoutException": true,
	// SQS and SNS
	"KmsThrottled": true, "KMS.ThrottlingException": true, "Throttled": true, "KMSThrottling": true,
	// Lambda
	"ResourceConflictException": true, "ResourceNotReadyException": true,
	"SnapStartNotReadyException": true, "SnapStartTimeoutException": true,
	// S3
	"OperationAborted": true,
	// any service
	"InternalFailure": true, "InternalError": true, "InternalException": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true,
	"RequestExpired": true, "RequestTimeTooSkewed": true, "RequestInTheFuture": true,
}

var tooLargeCodes = map[string]bool{
	"RequestEntityTooLarge":          true,
	"RequestEntityTooLargeException": true,
	"RequestTooLargeException":       true, // Lambda Invoke
	"EntityTooLarge":                 true, // S3
	"BatchRequestTooLong":            true, // SQS and SNS batches
	"AWS.SimpleQueueService.BatchRequestTooLong": true,
}

// validationCodes are the generic refusals that say why only in their
// message; the message is what tells a size refusal from the others.
var validationCodes = map[string]bool{
	"InvalidParameterValue": true, "InvalidParameter": true, "ValidationException": true,
	"ValidationError": true, "InvalidArgument": true, "InvalidRequestContentException": true,
	"ParameterValueInvalid": true, "MalformedDetail": true,
}

func isTooLarge(status int, code, msg string) bool {
	if status == 413 || tooLargeCodes[code] {
		return true
	}
	if !validationCodes[code] {
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
