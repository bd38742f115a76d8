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

// Config is the extension's configuration.
type Config struct {
	OnSuccess  []string `env:"DESTINATIONS_ON_SUCCESS"`
	OnFailure  []string `env:"DESTINATIONS_ON_FAILURE"`
	ProxyPort  string   `env:"DESTINATIONS_PROXY_PORT" envDefault:"9009"`
	RuntimeAPI string   `env:"DESTINATIONS_RUNTIME_API"`
	LogLevel   string   `env:"DESTINATIONS_LOG_LEVEL" envDefault:"info"`
	// Bytes of each request and response body kept for the record; the
	// rest streams through and the record says it was truncated.
	MaxPayloadBytes int `env:"DESTINATIONS_MAX_PAYLOAD_BYTES" envDefault:"6291456"`
	// When records are delivered: end (before the next event) or background.
	FlushStrategy string `env:"DESTINATIONS_FLUSH" envDefault:"end"`
	// Attempts per record and destination, the first included, and the
	// time one attempt may take.
	MaxAttempts      int `env:"DESTINATIONS_MAX_ATTEMPTS" envDefault:"4"`
	AttemptTimeoutMs int `env:"DESTINATIONS_ATTEMPT_TIMEOUT_MS" envDefault:"1000"`
	// Message size limits of queues and buses configured above the default
	// 256 KiB (up to 1 MiB).
	SQSMaxBytes         int `env:"DESTINATIONS_SQS_MAX_BYTES" envDefault:"262144"`
	EventBridgeMaxBytes int `env:"DESTINATIONS_EVENTBRIDGE_MAX_BYTES" envDefault:"262144"`
	// A bucket (name or arn:aws:s3:::NAME) that keeps whole records too large
	// for their destination, which then gets the record with its location.
	OverflowBucket string `env:"DESTINATIONS_OVERFLOW_BUCKET"`

	// Set by Lambda.
	OriginalRuntimeAPI string `env:"AWS_LAMBDA_RUNTIME_API"`
	FunctionName       string `env:"AWS_LAMBDA_FUNCTION_NAME"`
	FunctionVersion    string `env:"AWS_LAMBDA_FUNCTION_VERSION" envDefault:"$LATEST"`
	FunctionMemoryMB   string `env:"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"`
	FunctionTimeout    string `env:"AWS_LAMBDA_FUNCTION_TIMEOUT"` // set by the emulator, not by Lambda
	Region             string `env:"AWS_REGION"`
	LogGroup           string `env:"AWS_LAMBDA_LOG_GROUP_NAME"`
	LogStream          string `env:"AWS_LAMBDA_LOG_STREAM_NAME"`
	SAMLocal           string `env:"AWS_SAM_LOCAL"` // set inside sam local's container

	Routing // what is worth a record and what it holds: routing.go

	// Derived by Load.
	Success []destination.Target `env:"-"`
	Failure []destination.Target `env:"-"`
	Port    int                  `env:"-"`
	Level   slog.Level           `env:"-"`
	Timeout time.Duration        `env:"-"` // from AWS_LAMBDA_FUNCTION_TIMEOUT where set
	Flush   flush.Strategy       `env:"-"`
	// Overflow is the parsed DESTINATIONS_OVERFLOW_BUCKET, nil when unset.
	Overflow *destination.Target `env:"-"`
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
	c := &Config{}
	opts := env.Options{Environment: environ}
	if err := env.ParseWithOptions(c, opts); err != nil {
		return nil, parseError(err, environ)
	}
	if err := c.derive(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) derive() error {
	var err error
	if c.Success, err = targets("DESTINATIONS_ON_SUCCESS", c.OnSuccess); err != nil {
		return err
	}
	if c.Failure, err = targets("DESTINATIONS_ON_FAILURE", c.OnFailure); err != nil {
		return err
	}
	port, perr := strconv.Atoi(c.ProxyPort)
	if perr != nil || port < 1 || port > 65535 {
		return &Error{"DESTINATIONS_PROXY_PORT", c.ProxyPort, "not a port number (1-65535)"}
	}
	c.Port = port
	if c.RuntimeAPI == "" {
		c.RuntimeAPI = c.OriginalRuntimeAPI
	}
	if c.RuntimeAPI == "" {
		return &Error{"DESTINATIONS_RUNTIME_API", "", "no Runtime API address: neither it nor AWS_LAMBDA_RUNTIME_API is set"}
	}
	if _, _, err := net.SplitHostPort(c.RuntimeAPI); err != nil {
		return &Error{"DESTINATIONS_RUNTIME_API", c.RuntimeAPI, "not a HOST:PORT address"}
	}
	if c.RuntimeAPI == c.ProxyAddress() {
		return &Error{"DESTINATIONS_RUNTIME_API", c.RuntimeAPI, "is the proxy's own address; the wrapper must run in the runtime, not the extension"}
	}
	if c.MaxPayloadBytes < 0 {
		return &Error{"DESTINATIONS_MAX_PAYLOAD_BYTES", strconv.Itoa(c.MaxPayloadBytes), "must be 0 or more"}
	}
	if c.Flush, err = flush.Parse(c.FlushStrategy); err != nil {
		return &Error{"DESTINATIONS_FLUSH", c.FlushStrategy, "want end or background"}
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		return &Error{"DESTINATIONS_MAX_ATTEMPTS", strconv.Itoa(c.MaxAttempts), "must be between 1 and 20"}
	}
	if c.AttemptTimeoutMs < 1 {
		return &Error{"DESTINATIONS_ATTEMPT_TIMEOUT_MS", strconv.Itoa(c.AttemptTimeoutMs), "must be 1 or more"}
	}
	for _, v := range []struct {
		name  string
		value int
	}{{"DESTINATIONS_SQS_MAX_BYTES", c.SQSMaxBytes}, {"DESTINATIONS_EVENTBRIDGE_MAX_BYTES", c.EventBridgeMaxBytes}} {
		if v.value < 1024 || v.value > 1<<20 {
			return &Error{v.name, strconv.Itoa(v.value), "must be between 1024 and 1048576 bytes"}
		}
	}
	if b := c.OverflowBucket; b != "" {
		if !strings.HasPrefix(b, "arn:") {
			b = "arn:aws:s3:::" + b
		}
		t, err := destination.Parse(b)
		if err != nil || t.Kind != destination.S3 {
			return &Error{"DESTINATIONS_OVERFLOW_BUCKET", c.OverflowBucket, "want a bucket name or arn:aws:s3:::BUCKET"}
		}
		c.Overflow = &t
	}
	if s, err := strconv.Atoi(c.FunctionTimeout); err == nil && s > 0 {
		c.Timeout = time.Duration(s) * time.Second
	}
	if err := c.Routing.derive(); err != nil {
		return err
	}
	if err := c.Level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return &Error{"DESTINATIONS_LOG_LEVEL", c.LogLevel, "want debug, info, warn or error"}
	}
	return nil
}

// Records reports whether any destination is configured: without one, the
// extension only passes invocations through.
func (c *Config) Records() bool {
	return len(c.Success)+len(c.Failure)+len(c.Slow) > 0
}

// ProxyAddress is where the Runtime API proxy listens.
func (c *Config) ProxyAddress() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
}

func targets(variable string, values []string) ([]destination.Target, error) {
	var out []destination.Target
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		t, err := destination.Parse(v)
		if err != nil {
			// The entry at fault only: the others may be webhook URLs, secrets.
			return nil, &Error{variable, strings.TrimSpace(v), err.Error()}
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
	f, _ := reflect.TypeFor[Config]().FieldByName(pe.Name)
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
