// Package awsdest delivers records to AWS services: SQS, SNS, EventBridge,
// Lambda and S3.
//
// It speaks each service's wire protocol itself, on the SDK's core only
// (credentials, SigV4 signing): the SDK's service clients and its
// configuration loader would triple the size of the extension and add
// milliseconds of package initialisation to every cold start. Requests
// are those the SDK sends (the tests compare them), to the endpoints its
// rules resolve, with the credentials and endpoint variables of its
// environment chain: AWS_ACCESS_KEY_ID…, AWS_CONTAINER_CREDENTIALS_*,
// AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT. Profiles, web identity and the instance
// metadata service are not supported.
//
// The environment is read once, on Warm or on the first send: creating
// destinations does no I/O and keeps it off the start-up path.
package awsdest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

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

// Batcher is implemented by the destinations that can deliver several
// messages in one request (SQS, SNS, EventBridge).
type Batcher = destination.Batcher

// Sizer is implemented by every destination of this package.
type Sizer = destination.Sizer

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
// or s3. Every one of them also implements Sizer; SQS, SNS and EventBridge
// implement Batcher, S3 destination.Storer.
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
	http   *http.Client // nil: the Config's
	log    *slog.Logger
}

// named adds the destination to an error that does not come from the
// service (configuration, local checks).
func (c common) named(err error) error {
	return fmt.Errorf("destination %s: %w", c.target.Raw, err)
}

// connect loads the configuration and makes the client for svc in region
// (bucket for S3 only).
func (c common) connect(ctx context.Context, svc service, region, bucket string, proto protocol) (*client, error) {
	s, err := c.conf.Load(ctx)
	if err != nil {
		return nil, err
	}
	ep, err := s.endpoints.resolve(svc, region, bucket)
	if err != nil {
		return nil, fmt.Errorf("%s endpoint: %w", svc.name, err)
	}
	return newClient(svc, region, ep, proto, s.Credentials, cmp.Or(c.http, c.conf.httpClient())), nil
}

// regional returns the client for svc in the region of the target's ARN,
// made at the first call that succeeds and kept in l.
func (c common) regional(ctx context.Context, l *lazy[*client], svc service, proto protocol) (*client, error) {
	cl, err := l.get(func() (*client, error) {
		return c.connect(ctx, svc, c.target.ARN.Region, "", proto)
	})
	if err != nil {
		return nil, c.named(err)
	}
	return cl, nil
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

// functionName is the name of the function that produced m, or its
// FunctionARN as it is when that is not a function ARN.
func functionName(m destination.Message) string {
	if m.FunctionName != "" {
		return m.FunctionName
	}
	if a, err := arn.Parse(m.FunctionARN); err == nil && a.FunctionName() != "" {
		return a.FunctionName()
	}
	return m.FunctionARN
}

// loadTimeout bounds reading the configuration, and fetching credentials
// on Warm.
const loadTimeout = 10 * time.Second

// Config is what the AWS destinations share: the settings read from the
// environment once, on Warm or on first use (a failed read is tried again
// on the next use), the credentials, and the HTTP connections.
type Config struct {
	// read reads the settings; the tests replace it.
	read func(context.Context) (*Settings, error)

	mu      sync.Mutex
	current *loading

	httpOnce sync.Once
	http     *http.Client
}

// Settings is what a Config reads from the environment.
type Settings struct {
	// Region is AWS_REGION or AWS_DEFAULT_REGION: where S3 requests go
	// when the destination was given no region.
	Region string
	// Credentials are cached: renewed only when they expire.
	Credentials aws.CredentialsProvider
	// CredentialSource says where they come from, for logs and tests.
	CredentialSource string

	endpoints endpointSettings
}

type loading struct {
	done     chan struct{}
	settings *Settings
	err      error
}

// NewConfig returns a Config that has read nothing yet.
func NewConfig() *Config {
	c := &Config{}
	c.read = func(ctx context.Context) (*Settings, error) {
		return readSettings(ctx, os.Getenv, net.DefaultResolver.LookupHost)
	}
	return c
}

// Warm starts reading the configuration and fetching the credentials in
// the background, and returns at once. The work keeps ctx's values but not
// its cancellation: it is shared, and one caller giving up must not fail
// it for the others.
func (c *Config) Warm(ctx context.Context) {
	l := c.start(ctx)
	ctx = context.WithoutCancel(ctx)
	go func() {
		<-l.done
		if l.err != nil {
			return // the first send reports it
		}
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		_, _ = l.settings.Credentials.Retrieve(ctx) // cached for the first send
	}()
}

// Load returns the settings, reading them if needed; ctx bounds the wait.
func (c *Config) Load(ctx context.Context) (*Settings, error) {
	l := c.start(ctx)
	select {
	case <-l.done:
		return l.settings, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the AWS configuration: %w", context.Cause(ctx))
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
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(l.done)
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		l.settings, l.err = c.read(ctx)
		if l.err != nil {
			l.err = fmt.Errorf("loading the AWS configuration: %w", l.err)
		}
	}()
	return l
}

// readSettings reads the environment as the SDK's default chain does.
func readSettings(ctx context.Context, getenv func(string) string, lookupHost func(context.Context, string) ([]string, error)) (*Settings, error) {
	s := &Settings{Region: cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))}
	var err error
	if s.endpoints.fips, err = envBool(getenv, "AWS_USE_FIPS_ENDPOINT"); err != nil {
		return nil, err
	}
	if s.endpoints.dualStack, err = envBool(getenv, "AWS_USE_DUALSTACK_ENDPOINT"); err != nil {
		return nil, err
	}
	ignore, err := envBool(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	if err != nil {
		return nil, err
	}
	if !ignore {
		s.endpoints.global = getenv("AWS_ENDPOINT_URL")
		for _, svc := range []service{sqsService, snsService, eventsService, lambdaService, s3Service} {
			if u := getenv("AWS_ENDPOINT_URL_" + svc.envID); u != "" {
				if s.endpoints.services == nil {
					s.endpoints.services = map[string]string{}
				}
				s.endpoints.services[svc.envID] = u
			}
		}
	}
	if s.Credentials, s.CredentialSource, err = credentialsFrom(ctx, getenv, lookupHost); err != nil {
		return nil, err
	}
	return s, nil
}

// httpClient is the client of the destinations given none: one pool of
// connections for all. It honours HTTP(S)_PROXY and NO_PROXY, and returns
// redirects instead of following them (S3 answers a bucket in another
// region so, and a signed request must not go elsewhere).
func (c *Config) httpClient() *http.Client {
	c.httpOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 10
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		c.http = &http.Client{
			Transport:     t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return c.http
}

// lazy holds a client built on first use from the shared configuration.
type lazy[T any] struct {
	mu    sync.Mutex
	value T
	built bool
}

// get returns the value, building it on first use. build may wait for
// the configuration, so it runs outside the lock: ctx bounds the wait, and
// when two callers build at once the first value stored wins.
func (l *lazy[T]) get(build func() (T, error)) (T, error) {
	l.mu.Lock()
	v, ok := l.value, l.built
	l.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.built {
		l.value, l.built = v, true
	}
	return l.value, nil
}

// reset drops the value so that the next get builds a new one.
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

// sendBatches sends a batch of n messages as a service takes them: those
// over limit fail at once, the others go in requests of at most maxEntries
// entries and limit bytes, each sent by send, which sets the errors of the
// entries it was given. A failure to connect fails them all.
func sendBatches[C any](ctx context.Context, t destination.Target, n int, size func(i int) int, maxEntries, limit int,
	connect func(context.Context) (C, error), send func(c C, chunk []int, errs []error)) []error {
	errs := make([]error, n)
	todo := make([]int, 0, n)
	for i := range n {
		if s := size(i); s > limit {
			errs[i] = tooLargeError(t, s, limit)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	c, err := connect(ctx)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return errs
	}
	for _, chunk := range split(todo, size, maxEntries, limit) {
		send(c, chunk, errs)
	}
	return errs
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
