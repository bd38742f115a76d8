package config

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
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
		c.MaxPayloadBytes != 6<<20 || c.MaxPendingBytes != 8<<20 || c.Flush != flush.End || c.MaxAttempts != 4 || c.AttemptTimeout != time.Second ||
		c.SQSMaxBytes != 0 || c.EventBridgeMaxBytes != 0 || c.Overflow != nil || len(c.Success) != 0 ||
		c.LogLevel != slog.LevelInfo || c.MemorySizeMB != 0 || c.Timeout != 0 || c.SAMLocal ||
		c.Metrics.EMF || c.Metrics.Namespace != "LambdaDestinations" || c.FunctionName != "" {
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
		"AWS_LAMBDA_FUNCTION_NAME":        "orders",
		"DESTINATIONS_METRICS":            "emf",
		"DESTINATIONS_METRICS_NAMESPACE":  " Team/Orders ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Success) != 3 || len(c.Failure) != 1 || c.ProxyPort != 9100 || c.RuntimeAPI != "127.0.0.1:9200" ||
		c.Flush != flush.Background || c.Overflow == nil || c.Overflow.ARN.Resource != "big-records" || c.Timeout != 30*time.Second ||
		c.SQSMaxBytes != 1<<20 || c.LogLevel != slog.LevelDebug || c.MemorySizeMB != 128 || !c.SAMLocal ||
		c.FunctionName != "orders" || !c.Metrics.EMF || c.Metrics.Namespace != "Team/Orders" {
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
		{"DESTINATIONS_MAX_PENDING_BYTES", "1000", "65536 or more"},
		{"DESTINATIONS_MAX_PENDING_BYTES", "8MiB", "not a valid int"},
		{"DESTINATIONS_FLUSH", "later", "end or background"},
		{"DESTINATIONS_MAX_ATTEMPTS", "0", "between 1 and 20"},
		{"DESTINATIONS_ATTEMPT_TIMEOUT_MS", "0", "1 or more"},
		{"DESTINATIONS_SQS_MAX_BYTES", "2000000", "between 1024 and 1048576"},
		{"DESTINATIONS_OVERFLOW_BUCKET", "arn:aws:sqs:us-east-1:123456789012:q", "bucket name"},
		{"DESTINATIONS_METRICS", "cloudwatch", "want emf"},
		{"DESTINATIONS_METRICS_NAMESPACE", "AWS/Lambda", "reserved"},
		{"DESTINATIONS_METRICS_NAMESPACE", "team,orders", "not a CloudWatch namespace"},
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

// TestMistakesToldAtInit: each mistake a user makes in the variables is an
// error naming the variable and its value, webhook paths left out.
func TestMistakesToldAtInit(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string // the whole message
	}{
		{"proxy port with a sign", map[string]string{"DESTINATIONS_PROXY_PORT": "+41559"},
			`DESTINATIONS_PROXY_PORT="+41559": not a port number: want a plain decimal number from 1 to 65535`},
		{"proxy port with a leading zero", map[string]string{"DESTINATIONS_PROXY_PORT": "09009"},
			`DESTINATIONS_PROXY_PORT="09009": not a port number: want a plain decimal number from 1 to 65535`},
		{"proxy port 0", map[string]string{"DESTINATIONS_PROXY_PORT": "0"},
			`DESTINATIONS_PROXY_PORT="0": not a port number: want a plain decimal number from 1 to 65535`},
		{"proxy port out of range", map[string]string{"DESTINATIONS_PROXY_PORT": "65536"},
			`DESTINATIONS_PROXY_PORT="65536": not a port number: want a plain decimal number from 1 to 65535`},
		{"proxy port on the Runtime API's", map[string]string{"DESTINATIONS_PROXY_PORT": "9001"},
			`DESTINATIONS_PROXY_PORT="9001": is the port of the Runtime API itself (AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001): ` +
				`the proxy needs a port of its own; choose another, or leave the variable unset for 9009`},
		{"default proxy port on the Runtime API's", map[string]string{"AWS_LAMBDA_RUNTIME_API": "localhost:9009"},
			`DESTINATIONS_PROXY_PORT="9009": is the port of the Runtime API itself (AWS_LAMBDA_RUNTIME_API=localhost:9009): ` +
				`the proxy needs a port of its own; choose another, or leave the variable unset for 9009`},
		{"Runtime API set to the proxy", map[string]string{"DESTINATIONS_RUNTIME_API": "127.0.0.1:9009"},
			`DESTINATIONS_RUNTIME_API="127.0.0.1:9009": is the proxy's own address (DESTINATIONS_PROXY_PORT=9009): ` +
				`the proxy would forward to itself; set it to the Runtime API the proxy forwards to, or leave it unset for AWS_LAMBDA_RUNTIME_API`},
		{"webhook port out of range", map[string]string{"DESTINATIONS_ON_SUCCESS": "http://127.0.0.1:99999/hooks/SECRET"},
			`DESTINATIONS_ON_SUCCESS="http://127.0.0.1:99999/…": webhook "http://127.0.0.1:99999/…": port 99999 is not a port number (1-65535)`},
		{"webhook port 0", map[string]string{"DESTINATIONS_ON_FAILURE": "https://example.com:0"},
			`DESTINATIONS_ON_FAILURE="https://example.com:0": webhook "https://example.com:0": port 0 is not a port number (1-65535)`},
		{"malformed webhook URL", map[string]string{"DESTINATIONS_ON_SUCCESS": "https://hooks.slack.com/services/T000/%zz/SECRET"},
			`DESTINATIONS_ON_SUCCESS="https://hooks.slack.com/…": malformed webhook URL "https://hooks.slack.com/…": invalid %-escape`},
		{"webhook URL with a control character", map[string]string{"DESTINATIONS_ON_SLOW": "https://example.com/SECRET\x7f", "DESTINATIONS_SLOW_MS": "10"},
			`DESTINATIONS_ON_SLOW="https://example.com/…": malformed webhook URL "https://example.com/…": net/url: invalid control character in URL`},
		{"webhook with user information", map[string]string{"DESTINATIONS_ON_SUCCESS": "https://user:SECRET@:8080/hook"},
			`DESTINATIONS_ON_SUCCESS="https://:8080/…": webhook "https://:8080/…" has no host`},
		{"URL with a misspelt scheme", map[string]string{"DESTINATIONS_ON_SUCCESS": "htps://hooks.slack.com/services/SECRET"},
			`DESTINATIONS_ON_SUCCESS="htps://hooks.slack.com/…": unknown destination "htps://hooks.slack.com/…": ` +
				`want an SQS, SNS, EventBridge bus, Lambda or S3 ARN, an http(s):// URL or stdout`},
		{"URL without a scheme", map[string]string{"DESTINATIONS_ON_SUCCESS": "hooks.slack.com/services/SECRET"},
			`DESTINATIONS_ON_SUCCESS="hooks.slack.com/…": unknown destination "hooks.slack.com/…": ` +
				`want an SQS, SNS, EventBridge bus, Lambda or S3 ARN, an http(s):// URL or stdout`},
		{"flush strategy unknown", map[string]string{"DESTINATIONS_FLUSH": "later"},
			`DESTINATIONS_FLUSH="later": want end or background`},
		{"context not a boolean", map[string]string{"DESTINATIONS_CONTEXT": "yes"},
			`DESTINATIONS_CONTEXT="yes": want true or false`},
		{"SQS limit of 0", map[string]string{"DESTINATIONS_SQS_MAX_BYTES": "0"},
			`DESTINATIONS_SQS_MAX_BYTES="0": must be between 1024 and 1048576 bytes`},
		{"EventBridge limit too high", map[string]string{"DESTINATIONS_EVENTBRIDGE_MAX_BYTES": "1048577"},
			`DESTINATIONS_EVENTBRIDGE_MAX_BYTES="1048577": must be between 1024 and 1048576 bytes`},
		{"metrics format unknown", map[string]string{"DESTINATIONS_METRICS": "prometheus"},
			`DESTINATIONS_METRICS="prometheus": want emf (CloudWatch Embedded Metric Format on the log) or off`},
		{"metrics namespace of AWS", map[string]string{"DESTINATIONS_METRICS": "emf", "DESTINATIONS_METRICS_NAMESPACE": "AWS/Lambda"},
			`DESTINATIONS_METRICS_NAMESPACE="AWS/Lambda": not a CloudWatch namespace: AWS/ is reserved for the namespaces of AWS services`},
		{"metrics namespace with other characters", map[string]string{"DESTINATIONS_METRICS_NAMESPACE": "Équipe"},
			`DESTINATIONS_METRICS_NAMESPACE="Équipe": not a CloudWatch namespace: want letters, digits, spaces and . - _ / # : only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(environ(tt.vars))
			var ce *Error
			if !errors.As(err, &ce) || err.Error() != tt.want {
				t.Fatalf("error %v\nwant  %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("a webhook's secret in the message: %s", err)
			}
		})
	}
}

// Every enumeration takes any letter case.
func TestLetterCase(t *testing.T) {
	c, err := Parse(environ(map[string]string{
		"DESTINATIONS_ON_SUCCESS":      "STDOUT",
		"DESTINATIONS_FLUSH":           "Background",
		"DESTINATIONS_LOG_LEVEL":       "DEBUG",
		"DESTINATIONS_REDACT_NON_JSON": "DROP",
		"DESTINATIONS_INCLUDE":         "REQUEST",
		"DESTINATIONS_CONTEXT":         "TRUE",
		"DESTINATIONS_METRICS":         "EMF",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Success) != 1 || c.Success[0].Kind != destination.Stdout || c.Success[0].Raw != "stdout" ||
		c.Flush != flush.Background || c.LogLevel != slog.LevelDebug || c.Redactor == nil ||
		c.OmitRequest || !c.OmitResponse || !c.AddContext || !c.Metrics.EMF {
		t.Errorf("config %+v", c)
	}
}

func TestCheckRuntimeAPI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := l.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	defer l.Close()
	tests := []struct {
		name     string
		vars     map[string]string
		variable string // "" for no error
	}{
		{"listening", map[string]string{"DESTINATIONS_RUNTIME_API": open}, ""},
		{"nothing listens, chained", map[string]string{"DESTINATIONS_RUNTIME_API": refused}, "DESTINATIONS_RUNTIME_API"},
		{"nothing listens, Lambda's own", map[string]string{"AWS_LAMBDA_RUNTIME_API": refused}, "AWS_LAMBDA_RUNTIME_API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(environ(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckRuntimeAPI(t.Context())
			if tt.variable == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := tt.variable + `="` + refused + `": cannot connect (dial tcp ` + refused + `: connect: connection refused): ` +
				`the proxy forwards every call of the runtime there; start what listens there first, ` +
				`or leave DESTINATIONS_RUNTIME_API unset for the Runtime API itself`
			if err == nil || err.Error() != want {
				t.Errorf("error %v\nwant  %s", err, want)
			}
		})
	}
}

// BenchmarkCheckRuntimeAPI is what the check adds to a cold start: one
// connection on loopback, accepted and closed.
func BenchmarkCheckRuntimeAPI(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c, err := Parse(environ(map[string]string{"DESTINATIONS_RUNTIME_API": l.Addr().String()}))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.CheckRuntimeAPI(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMetricsSetting(t *testing.T) {
	for value, emf := range map[string]bool{"": false, "off": false, " OFF ": false, "emf": true, "Emf": true} {
		c, err := Parse(environ(map[string]string{"DESTINATIONS_METRICS": value, "DESTINATIONS_METRICS_NAMESPACE": " "}))
		if err != nil || c.Metrics.EMF != emf || c.Metrics.Namespace != "LambdaDestinations" {
			t.Errorf("DESTINATIONS_METRICS=%q: %+v, %v; want EMF %v in LambdaDestinations", value, c.Metrics, err, emf)
		}
	}
}
