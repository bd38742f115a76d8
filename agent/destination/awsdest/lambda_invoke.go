package awsdest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
)

// Invoking a function and reading its answer, for the replay command: the
// layer's Lambda destination only sends asynchronous invocations, and none
// of this is reachable from it.

// Invocation types.
const (
	InvocationEvent           = "Event"
	InvocationRequestResponse = "RequestResponse"
)

// Invocation is one call of the Invoke API.
type Invocation struct {
	// Function is a name, a name with its qualifier (NAME:QUALIFIER), or
	// an ARN; a name is looked up in the account of the credentials and
	// in AWS_REGION, an ARN in its own region.
	Function  string
	Qualifier string // a version or alias; "" for none
	Type      string // InvocationEvent or InvocationRequestResponse
	Payload   []byte
}

// InvokeResult is how Lambda answered an invocation it took.
type InvokeResult struct {
	StatusCode int // 202 for Event, 200 for RequestResponse
	// FunctionError is X-Amz-Function-Error: set when the function
	// failed (Unhandled), even though the call itself succeeded.
	FunctionError   string
	ExecutedVersion string
	// Payload is the function's response or error, its first
	// maxAnswerBytes.
	Payload []byte
}

// Invoker calls functions with the Invoke API, one client per region.
type Invoker struct {
	conf *Config

	mu      sync.Mutex
	clients map[string]*client
}

// NewInvoker returns an Invoker; it does no I/O.
func NewInvoker(conf *Config) *Invoker {
	return &Invoker{conf: conf, clients: map[string]*client{}}
}

func (iv *Invoker) connect(ctx context.Context, function string) (*client, error) {
	s, err := iv.conf.Load(ctx)
	if err != nil {
		return nil, err
	}
	region := s.Region
	if a, err := arn.Parse(function); err == nil {
		region = cmp.Or(a.Region, region)
	}
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if c, ok := iv.clients[region]; ok {
		return c, nil
	}
	c, err := common{conf: iv.conf}.connect(ctx, lambdaService, region, "", restJSON)
	if err != nil {
		return nil, err
	}
	iv.clients[region] = c
	return c, nil
}

// Invoke calls the function once. An error is a call Lambda refused or
// that did not reach it (Retryable tells which are worth another try); a
// function that ran and failed is a result with FunctionError set.
func (iv *Invoker) Invoke(ctx context.Context, in Invocation) (InvokeResult, error) {
	c, err := iv.connect(ctx, in.Function)
	if err != nil {
		return InvokeResult{}, fmt.Errorf("function %s: %w", in.Function, err)
	}
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	k := call{
		op:      "Invoke",
		method:  http.MethodPost,
		path:    prefix + in.Function + suffix,
		rawPath: prefix + escapePath(in.Function, false) + suffix,
		header: http.Header{
			"Content-Type":          {"application/octet-stream"},
			"X-Amz-Invocation-Type": {in.Type},
		},
		body: in.Payload,
	}
	if in.Qualifier != "" {
		k.query = "Qualifier=" + url.QueryEscape(in.Qualifier)
	}
	a, err := c.do(ctx, k)
	if err != nil {
		return InvokeResult{}, fmt.Errorf("function %s: %w", in.Function, err)
	}
	return InvokeResult{
		StatusCode:      a.status,
		FunctionError:   a.header.Get("X-Amz-Function-Error"),
		ExecutedVersion: a.header.Get("X-Amz-Executed-Version"),
		Payload:         a.body,
	}, nil
}

// Retryable reports whether a failed call is worth another try:
// throttling, a 5xx, a timeout or a connection error, but not a refusal of
// the request itself (no permission, no such function, too large).
func Retryable(err error) bool { return classify(err) == retryable }

// Denied reports a call refused for its credentials or their permissions,
// as every call like it will be until they change.
func Denied(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
		"InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException":
		return !ae.clockSkew
	}
	return false
}
