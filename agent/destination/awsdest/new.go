package awsdest

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// Size limits, in bytes.
const (
	// DefaultMaxBytes is the message size limit of SQS, SNS and EventBridge
	// unless raised.
	DefaultMaxBytes = 256 << 10
	// MaxMaxBytes is the highest limit SQS and EventBridge accept.
	MaxMaxBytes = 1 << 20
	// LambdaMaxBytes is what an asynchronous Invoke takes (1 MiB), less a
	// 1 KiB margin: how Lambda counts the request beyond the payload bytes
	// is not documented.
	LambdaMaxBytes = 1<<20 - 1<<10
)

// Options configures a destination.
type Options struct {
	// Config is the configuration shared by all AWS destinations (the
	// environment, credentials, HTTP connections); nil gives the
	// destination a private one.
	Config *Config

	// FunctionARN is the ARN (qualified or not) of the function the
	// extension runs in; Account and Region default to its parts. A Lambda
	// destination in the same account and region is invoked by name, and
	// S3 requests go to Region (AWS_REGION when none).
	FunctionARN string
	Account     string
	Region      string

	// SQSMaxBytes and EventBridgeMaxBytes raise (or lower) the 256 KiB
	// default up to MaxMaxBytes; 0 keeps the default.
	SQSMaxBytes         int
	EventBridgeMaxBytes int

	// HTTPClient replaces the Config's client (which honours
	// HTTP(S)_PROXY and does not follow redirects).
	HTTPClient *http.Client

	// Logger receives the few events worth logging; nil discards them.
	Logger *slog.Logger
}

// New returns the destination for an AWS target: sqs, sns, events, lambda
// or s3. Every one of them also implements destination.Sizer; SQS, SNS and
// EventBridge implement destination.Batcher, S3 destination.Storer.
func New(target destination.Target, opts Options) (destination.Destination, error) {
	if opts.Config == nil {
		opts.Config = NewConfig()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	self := selfOf(opts)
	c := common{target: target, conf: opts.Config, http: opts.HTTPClient, log: opts.Logger.With("destination", target.Raw)}
	switch target.Kind {
	case destination.SQS:
		limit, err := maxBytes("SQS", opts.SQSMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", target.Raw, err)
		}
		return newSQS(c, limit), nil
	case destination.SNS:
		return newSNS(c), nil
	case destination.EventBridge:
		limit, err := maxBytes("EventBridge", opts.EventBridgeMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", target.Raw, err)
		}
		return newEventBridge(c, limit, self), nil
	case destination.Lambda:
		return newLambda(c, self), nil
	case destination.S3:
		return newS3(c, self), nil
	}
	return nil, fmt.Errorf("destination %s: %q is not an AWS destination", target.Raw, target.Kind)
}

func maxBytes(service string, v int) (int, error) {
	switch {
	case v == 0:
		return DefaultMaxBytes, nil
	case v < 0 || v > MaxMaxBytes:
		return 0, fmt.Errorf("%s size limit %d: want 1 to %d bytes", service, v, MaxMaxBytes)
	}
	return v, nil
}

// selfOf is the function the extension runs in, as far as it is known:
// its unqualified ARN (empty when not given), account and region.
func selfOf(o Options) arn.ARN {
	self := arn.ARN{Account: o.Account, Region: o.Region}
	if a, err := arn.Parse(o.FunctionARN); err == nil && a.FunctionName() != "" {
		self = a.Unqualified()
		self.Account = cmp.Or(o.Account, a.Account)
		self.Region = cmp.Or(o.Region, a.Region)
	}
	return self
}
