package config

import (
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/flush"
)

func environ(vars map[string]string) map[string]string {
	e := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
	maps.Copy(e, vars)
	return e
}

func TestDefaults(t *testing.T) {
	c, err := Parse(environ(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyPort != 9009 || c.RuntimeAPI != "127.0.0.1:9001" || c.FunctionVersion != "" ||
		c.MaxPayloadBytes != 6<<20 || c.Flush != flush.End || c.MaxAttempts != 4 || c.AttemptTimeout != time.Second ||
		c.SQSMaxBytes != 0 || c.EventBridgeMaxBytes != 0 || c.Overflow != nil || len(c.Success) != 0 ||
		c.LogLevel != slog.LevelInfo || c.MemorySizeMB != 0 || c.Timeout != 0 || c.SAMLocal {
		t.Errorf("defaults: %+v", c)
	}
	if c.ProxyAddress() != "127.0.0.1:9009" {
		t.Errorf("proxy address %s", c.ProxyAddress())
	}
}

func TestValues(t *testing.T) {
	c, err := Parse(environ(map[string]string{
		"DESTINATIONS_ON_SUCCESS":         "stdout, https://example.com/h ,arn:aws:sqs:us-east-1:123456789012:q",
		"DESTINATIONS_ON_FAILURE":         "arn:aws:s3:::b",
		"DESTINATIONS_PROXY_PORT":         "9100",
		"DESTINATIONS_RUNTIME_API":        "127.0.0.1:9200",
		"DESTINATIONS_FLUSH":              "background",
		"DESTINATIONS_OVERFLOW_BUCKET":    "big-records",
		"DESTINATIONS_SQS_MAX_BYTES":      "1048576",
		"DESTINATIONS_LOG_LEVEL":          "debug",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "30",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_SAM_LOCAL":                   "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Success) != 3 || len(c.Failure) != 1 || c.ProxyPort != 9100 || c.RuntimeAPI != "127.0.0.1:9200" ||
		c.Flush != flush.Background || c.Overflow == nil || c.Overflow.ARN.Resource != "big-records" || c.Timeout != 30*time.Second ||
		c.SQSMaxBytes != 1<<20 || c.LogLevel != slog.LevelDebug || c.MemorySizeMB != 128 || !c.SAMLocal {
		t.Errorf("values: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		variable, value, says string
	}{
		{"DESTINATIONS_ON_SUCCESS", "sqs://q", "unknown destination"},
		{"DESTINATIONS_ON_FAILURE", "arn:aws:sqs:us-east-1:1:q", "12-digit account"},
		{"DESTINATIONS_PROXY_PORT", "99999", "not a port number"},
		{"DESTINATIONS_PROXY_PORT", "http", "not a port number"},
		{"DESTINATIONS_RUNTIME_API", "localhost", "HOST:PORT"},
		{"DESTINATIONS_RUNTIME_API", "127.0.0.1:9009", "proxy's own address"},
		{"DESTINATIONS_LOG_LEVEL", "loud", "debug, info"},
		{"DESTINATIONS_MAX_PAYLOAD_BYTES", "lots", "not a valid int"},
		{"DESTINATIONS_MAX_PAYLOAD_BYTES", "-1", "0 or more"},
		{"DESTINATIONS_FLUSH", "later", "end or background"},
		{"DESTINATIONS_MAX_ATTEMPTS", "0", "between 1 and 20"},
		{"DESTINATIONS_ATTEMPT_TIMEOUT_MS", "0", "1 or more"},
		{"DESTINATIONS_SQS_MAX_BYTES", "2000000", "between 1024 and 1048576"},
		{"DESTINATIONS_OVERFLOW_BUCKET", "arn:aws:sqs:us-east-1:123456789012:q", "bucket name"},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.value, func(t *testing.T) {
			_, err := Parse(environ(map[string]string{tt.variable: tt.value}))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *config.Error", err)
			}
			msg := err.Error()
			if ce.Variable != tt.variable || !strings.Contains(msg, tt.variable) || !strings.Contains(msg, tt.value) || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q: want %s, %q and %q in it", msg, tt.variable, tt.value, tt.says)
			}
		})
	}
	if _, err := Parse(map[string]string{}); err == nil || !strings.Contains(err.Error(), "AWS_LAMBDA_RUNTIME_API") {
		t.Errorf("no Runtime API: %v", err)
	}
}

// TestListErrorShowsTheEntryOnly: a bad entry is named alone; its
// neighbours may be webhook URLs, whose paths are secrets.
func TestListErrorShowsTheEntryOnly(t *testing.T) {
	_, err := Parse(environ(map[string]string{
		"DESTINATIONS_ON_SUCCESS": "https://hooks.slack.com/services/T000/B000/SECRET, sqs://q",
	}))
	if err == nil || !strings.Contains(err.Error(), `"sqs://q"`) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}
}
