// Package config reads the extension's settings from the function's
// environment. Every error names the variable and the value at fault.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/flush"
)

// Config is the extension's configuration, each setting checked.
type Config struct {
	Success []destination.Target // DESTINATIONS_ON_SUCCESS
	Failure []destination.Target // DESTINATIONS_ON_FAILURE
	// Overflow keeps whole records too large for their destination, which
	// then gets the record with its location; nil when unset.
	Overflow *destination.Target

	ProxyPort  int
	RuntimeAPI string // HOST:PORT the proxy forwards to
	LogLevel   slog.Level

	MaxPayloadBytes int // of each request and response, kept for the record
	// MaxPendingBytes bounds the records the agent holds, waiting or on
	// their way; beyond it the oldest waiting ones go to the log.
	MaxPendingBytes int
	Flush           flush.Strategy
	MaxAttempts     int // per record and destination, the first included
	AttemptTimeout  time.Duration
	// Message size limits of queues and buses configured above 256 KiB;
	// 0 keeps the service's default.
	SQSMaxBytes         int
	EventBridgeMaxBytes int

	Routing // what is worth a record and what it holds: routing.go
	Metrics // delivery metrics: metrics.go

	// Set by Lambda.
	FunctionName    string // "" where not set
	FunctionVersion string // "" where not set
	MemorySizeMB    int
	Timeout         time.Duration // set by the emulator, not by Lambda; 0 where not set
	Region          string
	LogGroup        string
	LogStream       string
	SAMLocal        bool // inside sam local's container

	runtimeAPIVariable string // the variable RuntimeAPI comes from
}

// environment is what Parse reads. Settings whose value deserves a reason
// when it is wrong are read as text.
type environment struct {
	OnSuccess       []string `env:"DESTINATIONS_ON_SUCCESS"`
	OnFailure       []string `env:"DESTINATIONS_ON_FAILURE"`
	ProxyPort       string   `env:"DESTINATIONS_PROXY_PORT" envDefault:"9009"`
	RuntimeAPI      string   `env:"DESTINATIONS_RUNTIME_API"`
	LogLevel        string   `env:"DESTINATIONS_LOG_LEVEL" envDefault:"info"`
	MaxPayloadBytes int      `env:"DESTINATIONS_MAX_PAYLOAD_BYTES" envDefault:"6291456"`
	MaxPendingBytes int      `env:"DESTINATIONS_MAX_PENDING_BYTES" envDefault:"8388608"`
	Flush           string   `env:"DESTINATIONS_FLUSH" envDefault:"end"`
	MaxAttempts     int      `env:"DESTINATIONS_MAX_ATTEMPTS" envDefault:"4"`
	AttemptTimeout  int      `env:"DESTINATIONS_ATTEMPT_TIMEOUT_MS" envDefault:"1000"`
	SQSMaxBytes     string   `env:"DESTINATIONS_SQS_MAX_BYTES"`
	BusMaxBytes     string   `env:"DESTINATIONS_EVENTBRIDGE_MAX_BYTES"`
	OverflowBucket  string   `env:"DESTINATIONS_OVERFLOW_BUCKET"`

	SuccessSampleRate string   `env:"DESTINATIONS_SUCCESS_SAMPLE_RATE" envDefault:"1"`
	FailureErrorTypes []string `env:"DESTINATIONS_FAILURE_ERROR_TYPES"`
	OnSlow            []string `env:"DESTINATIONS_ON_SLOW"`
	SlowMS            string   `env:"DESTINATIONS_SLOW_MS"`
	Redact            []string `env:"DESTINATIONS_REDACT"`
	RedactNonJSON     string   `env:"DESTINATIONS_REDACT_NON_JSON" envDefault:"keep"`
	Include           []string `env:"DESTINATIONS_INCLUDE" envDefault:"request,response"`
	WebhookSecret     string   `env:"DESTINATIONS_WEBHOOK_SECRET"`
	AddContext        string   `env:"DESTINATIONS_CONTEXT" envDefault:"false"`
	Metrics           string   `env:"DESTINATIONS_METRICS" envDefault:"off"`
	MetricsNamespace  string   `env:"DESTINATIONS_METRICS_NAMESPACE"`

	LambdaRuntimeAPI string `env:"AWS_LAMBDA_RUNTIME_API"`
	FunctionName     string `env:"AWS_LAMBDA_FUNCTION_NAME"`
	FunctionVersion  string `env:"AWS_LAMBDA_FUNCTION_VERSION"`
	MemorySize       string `env:"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"`
	FunctionTimeout  string `env:"AWS_LAMBDA_FUNCTION_TIMEOUT"`
	Region           string `env:"AWS_REGION"`
	LogGroup         string `env:"AWS_LAMBDA_LOG_GROUP_NAME"`
	LogStream        string `env:"AWS_LAMBDA_LOG_STREAM_NAME"`
	SAMLocal         string `env:"AWS_SAM_LOCAL"`
}

// Error is an invalid setting.
type Error struct {
	Variable string
	Value    string
	Reason   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Variable, e.Value, e.Reason)
}

// Load reads the configuration from the process environment.
func Load() (*Config, error) { return Parse(nil) }

// Parse reads the configuration from environ (KEY -> value); nil means the
// process environment.
func Parse(environ map[string]string) (*Config, error) {
	var e environment
	if err := env.ParseWithOptions(&e, env.Options{Environment: environ}); err != nil {
		return nil, parseError(err, environ)
	}
	c := &Config{
		MaxPayloadBytes: e.MaxPayloadBytes,
		MaxPendingBytes: e.MaxPendingBytes,
		MaxAttempts:     e.MaxAttempts,
		FunctionName:    e.FunctionName,
		FunctionVersion: e.FunctionVersion,
		Region:          e.Region,
		LogGroup:        e.LogGroup,
		LogStream:       e.LogStream,
		SAMLocal:        e.SAMLocal != "",
	}
	if err := c.read(&e); err != nil {
		return nil, err
	}
	if err := c.Routing.read(&e); err != nil {
		return nil, err
	}
	if err := c.Metrics.read(&e); err != nil {
		return nil, err
	}
	return c, nil
}

// read derives and checks the settings of e that are not routing's.
func (c *Config) read(e *environment) error {
	var err error
	if c.Success, err = targets("DESTINATIONS_ON_SUCCESS", e.OnSuccess); err != nil {
		return err
	}
	if c.Failure, err = targets("DESTINATIONS_ON_FAILURE", e.OnFailure); err != nil {
		return err
	}
	if err := c.readAddresses(e); err != nil {
		return err
	}
	if c.MaxPayloadBytes < 0 {
		return &Error{"DESTINATIONS_MAX_PAYLOAD_BYTES", strconv.Itoa(c.MaxPayloadBytes), "must be 0 or more"}
	}
	if c.MaxPendingBytes < minPendingBytes {
		return &Error{"DESTINATIONS_MAX_PENDING_BYTES", strconv.Itoa(c.MaxPendingBytes), "must be 65536 or more"}
	}
	if c.Flush, err = flush.Parse(e.Flush); err != nil {
		return &Error{"DESTINATIONS_FLUSH", e.Flush, "want end or background"}
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		return &Error{"DESTINATIONS_MAX_ATTEMPTS", strconv.Itoa(c.MaxAttempts), "must be between 1 and 20"}
	}
	if e.AttemptTimeout < 1 {
		return &Error{"DESTINATIONS_ATTEMPT_TIMEOUT_MS", strconv.Itoa(e.AttemptTimeout), "must be 1 or more"}
	}
	c.AttemptTimeout = time.Duration(e.AttemptTimeout) * time.Millisecond
	if c.SQSMaxBytes, err = messageLimit("DESTINATIONS_SQS_MAX_BYTES", e.SQSMaxBytes); err != nil {
		return err
	}
	if c.EventBridgeMaxBytes, err = messageLimit("DESTINATIONS_EVENTBRIDGE_MAX_BYTES", e.BusMaxBytes); err != nil {
		return err
	}
	if b := e.OverflowBucket; b != "" {
		if !strings.HasPrefix(b, "arn:") {
			b = "arn:aws:s3:::" + b
		}
		t, err := destination.Parse(b)
		if err != nil || t.Kind != destination.S3 {
			return &Error{"DESTINATIONS_OVERFLOW_BUCKET", e.OverflowBucket, "want a bucket name or arn:aws:s3:::BUCKET"}
		}
		c.Overflow = &t
	}
	if s, err := strconv.Atoi(e.FunctionTimeout); err == nil && s > 0 {
		c.Timeout = time.Duration(s) * time.Second
	}
	c.MemorySizeMB, _ = strconv.Atoi(e.MemorySize) // 0 when Lambda did not say
	if err := c.LogLevel.UnmarshalText([]byte(e.LogLevel)); err != nil {
		return &Error{"DESTINATIONS_LOG_LEVEL", e.LogLevel, "want debug, info, warn or error"}
	}
	return nil
}

// readAddresses reads where the proxy listens and where it forwards.
func (c *Config) readAddresses(e *environment) error {
	port, ok := parsePort(e.ProxyPort)
	if !ok {
		// The wrapper puts the text itself in AWS_LAMBDA_RUNTIME_API: a
		// sign or a leading zero would reach the runtime as it is.
		return &Error{"DESTINATIONS_PROXY_PORT", e.ProxyPort, "not a port number: want a plain decimal number from 1 to 65535"}
	}
	c.ProxyPort = port
	c.RuntimeAPI, c.runtimeAPIVariable = e.RuntimeAPI, "DESTINATIONS_RUNTIME_API"
	if c.RuntimeAPI == "" {
		c.RuntimeAPI, c.runtimeAPIVariable = e.LambdaRuntimeAPI, "AWS_LAMBDA_RUNTIME_API"
	}
	if c.RuntimeAPI == "" {
		return &Error{"DESTINATIONS_RUNTIME_API", "", "no Runtime API address: neither it nor AWS_LAMBDA_RUNTIME_API is set"}
	}
	host, upstreamPort, err := net.SplitHostPort(c.RuntimeAPI)
	if err != nil {
		return &Error{c.runtimeAPIVariable, c.RuntimeAPI, "not a HOST:PORT address"}
	}
	if up, _ := parsePort(upstreamPort); up != port || (host != "127.0.0.1" && host != "localhost") {
		return nil
	}
	if e.RuntimeAPI != "" {
		return &Error{"DESTINATIONS_RUNTIME_API", e.RuntimeAPI, fmt.Sprintf(
			"is the proxy's own address (DESTINATIONS_PROXY_PORT=%d): the proxy would forward to itself; "+
				"set it to the Runtime API the proxy forwards to, or leave it unset for AWS_LAMBDA_RUNTIME_API", port)}
	}
	return &Error{"DESTINATIONS_PROXY_PORT", e.ProxyPort, fmt.Sprintf(
		"is the port of the Runtime API itself (AWS_LAMBDA_RUNTIME_API=%s): the proxy needs a port of its own; "+
			"choose another, or leave the variable unset for 9009", c.RuntimeAPI)}
}

// parsePort reads a port as the wrapper uses it: plain decimal, 1 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= 65535
}

// minPendingBytes is the least DESTINATIONS_MAX_PENDING_BYTES: a few small
// records.
const minPendingBytes = 64 << 10

// messageLimit reads a queue's or a bus's message size limit; "" is 0,
// which keeps the service's default.
func messageLimit(variable, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1024 || n > 1<<20 {
		return 0, &Error{variable, value, "must be between 1024 and 1048576 bytes"}
	}
	return n, nil
}

// Records reports whether any destination is configured: without one, the
// extension only passes invocations through.
func (c *Config) Records() bool {
	return len(c.Success)+len(c.Failure)+len(c.Slow) > 0
}

// ProxyAddress is where the Runtime API proxy listens.
func (c *Config) ProxyAddress() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ProxyPort))
}

func targets(variable string, values []string) ([]destination.Target, error) {
	var out []destination.Target
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		t, err := destination.Parse(v)
		if err != nil {
			// The entry at fault only, and redacted: webhook URLs are secrets.
			return nil, &Error{variable, destination.Redact(strings.TrimSpace(v)), err.Error()}
		}
		out = append(out, t)
	}
	return out, nil
}

// parseError turns the env library's error, which names a Go field, into one
// that names the variable and its value.
func parseError(err error, environ map[string]string) error {
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("reading configuration: %w", err)
	}
	f, _ := reflect.TypeFor[environment]().FieldByName(pe.Name)
	key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	value, ok := environ[key]
	if environ == nil {
		value, ok = os.LookupEnv(key)
	}
	if !ok {
		value = f.Tag.Get("envDefault")
	}
	return &Error{key, value, fmt.Sprintf("not a valid %s", pe.Type)}
}
