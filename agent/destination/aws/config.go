// Package awsdest delivers records to AWS services: SQS, SNS, EventBridge,
// Lambda and S3. Clients use the SDK's standard configuration chain
// (credentials, region, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>),
// loaded once, on Warm or on the first send: creating destinations does no
// I/O and keeps the configuration off the start-up path.
package awsdest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

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

// Batcher is implemented by the destinations that can deliver several
// messages in one request (SQS, SNS, EventBridge).
type Batcher = destination.Batcher

// Sizer is implemented by every destination of this package.
type Sizer = destination.Sizer

// Options configures a destination.
type Options struct {
	// Config is the SDK configuration shared by all AWS destinations;
	// nil gives the destination a private one.
	Config *Config

	// FunctionARN is the ARN (qualified or not) of the function the
	// extension runs in; Account and Region default to its parts. A Lambda
	// destination in the same account and region is invoked by name, and
	// S3 clients use Region.
	FunctionARN string
	Account     string
	Region      string

	// SQSMaxBytes and EventBridgeMaxBytes raise (or lower) the 256 KiB
	// default up to MaxMaxBytes; 0 keeps the default.
	SQSMaxBytes         int
	EventBridgeMaxBytes int

	// HTTPClient replaces the SDK's client (which honours HTTP(S)_PROXY).
	HTTPClient *http.Client

	// Logger receives the few events worth logging; nil discards them.
	Logger *slog.Logger
}

// New returns the destination for an AWS target: sqs, sns, events, lambda
// or s3. Every one of them also implements Sizer; SQS, SNS and EventBridge
// implement Batcher.
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

// common is what every destination holds.
type common struct {
	target destination.Target
	conf   *Config
	http   *http.Client
	log    *slog.Logger
}

// named adds the destination to an error that does not come from the
// service (configuration, local checks).
func (c common) named(err error) error {
	return fmt.Errorf("destination %s: %w", c.target.Raw, err)
}

// self is the function the extension runs in.
type self struct {
	arn       string // unqualified; empty when unknown
	partition string
	account   string
	region    string
}

func selfOf(o Options) self {
	s := self{account: o.Account, region: o.Region}
	parts := strings.Split(o.FunctionARN, ":")
	if len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
		s.arn = strings.Join(parts[:7], ":")
		s.partition = parts[1]
		if s.region == "" {
			s.region = parts[3]
		}
		if s.account == "" {
			s.account = parts[4]
		}
	}
	return s
}

// unqualified strips the version or alias from a function ARN.
func unqualified(functionARN string) string {
	parts := strings.Split(functionARN, ":")
	if len(parts) == 8 && parts[5] == "function" {
		return strings.Join(parts[:7], ":")
	}
	return functionARN
}

// functionName is the name of the function that produced m.
func functionName(m destination.Message) string {
	if m.FunctionName != "" {
		return m.FunctionName
	}
	return destination.FunctionName(m.FunctionARN)
}

// loadTimeout bounds loading the configuration (which reads files and the
// environment, and no network unless a profile asks for it).
const loadTimeout = 10 * time.Second

// Config is the AWS SDK configuration shared by the AWS destinations. It is
// loaded from the standard chain once, on Warm or on first use; a failed
// load is tried again on the next use.
type Config struct {
	optFns []func(*config.LoadOptions) error

	mu      sync.Mutex
	current *loading
}

type loading struct {
	done chan struct{}
	cfg  aws.Config
	err  error
}

// NewConfig returns a Config that has not loaded anything yet. optFns are
// passed to config.LoadDefaultConfig; retries are always set to one attempt
// per call, as the agent retries by itself.
func NewConfig(optFns ...func(*config.LoadOptions) error) *Config {
	return &Config{optFns: optFns}
}

// Warm starts loading the configuration in the background and returns at
// once. The load keeps ctx's values but not its cancellation: it is shared,
// and one caller giving up must not fail it for the others.
func (c *Config) Warm(ctx context.Context) { c.start(ctx) }

// Load returns the configuration, loading it if needed; ctx bounds the wait.
func (c *Config) Load(ctx context.Context) (aws.Config, error) {
	l := c.start(ctx)
	select {
	case <-l.done:
		return l.cfg, l.err
	case <-ctx.Done():
		return aws.Config{}, fmt.Errorf("waiting for the AWS configuration: %w", context.Cause(ctx))
	}
}

func (c *Config) start(ctx context.Context) *loading {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.current; l != nil {
		select {
		case <-l.done:
			if l.err == nil {
				return l
			}
		default:
			return l
		}
	}
	l := &loading{done: make(chan struct{})}
	c.current = l
	opts := append(slices.Clone(c.optFns),
		// One attempt per call, and no client-side rate limiting that could
		// block a send: the agent owns retries and their backoff. A custom
		// retryer also makes the SDK ignore AWS_MAX_ATTEMPTS and
		// AWS_RETRY_MODE.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 1
				o.RateLimiter = ratelimit.None
			})
		}),
	)
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(l.done)
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		l.cfg, l.err = config.LoadDefaultConfig(ctx, opts...)
		if l.err != nil {
			l.err = fmt.Errorf("loading the AWS configuration: %w", l.err)
		}
	}()
	return l
}

// lazy holds a client built on first use from the shared configuration.
type lazy[T any] struct {
	mu    sync.Mutex
	value T
	built bool
}

// get returns the client, building it with build on first use. The
// configuration is awaited outside the lock so that ctx bounds the wait.
func (l *lazy[T]) get(ctx context.Context, conf *Config, build func(aws.Config) (T, error)) (T, error) {
	l.mu.Lock()
	v, ok := l.value, l.built
	l.mu.Unlock()
	if ok {
		return v, nil
	}
	cfg, err := conf.Load(ctx)
	if err != nil {
		return v, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.built {
		if l.value, err = build(cfg); err != nil {
			return l.value, err
		}
		l.built = true
	}
	return l.value, nil
}

// reset drops the client so that the next get builds a new one.
func (l *lazy[T]) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	l.value, l.built = zero, false
}

// dedupID is the FIFO deduplication id of m: the same for the agent's own
// resends of a message, different for each attempt Lambda makes of the
// request. Hex fits the 128 characters of the allowed alphabet.
func dedupID(m destination.Message) string {
	h := sha256.New()
	h.Write([]byte(m.RequestID))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(m.Attempt), 10))
	return hex.EncodeToString(h.Sum(nil))
}

// split groups the messages at idx into requests of at most maxEntries
// entries and maxBytes bytes, keeping their order.
func split(idx []int, size func(int) int, maxEntries, maxBytes int) [][]int {
	var out [][]int
	var cur []int
	total := 0
	for _, i := range idx {
		n := size(i)
		if len(cur) > 0 && (len(cur) == maxEntries || total+n > maxBytes) {
			out = append(out, cur)
			cur, total = nil, 0
		}
		cur = append(cur, i)
		total += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// traceHeader sends the invocation's X-Ray header with the request, where
// the service reads it (SNS, Lambda): the trace continues, and Lambda's
// recursive loop detection sees the chain. It goes before the SDK's
// recursion detection, which keeps a header already set.
func traceHeader(id string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Build.Add(middleware.BuildMiddlewareFunc("DestinationsTraceHeader",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set("X-Amzn-Trace-Id", id)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
	}
}
