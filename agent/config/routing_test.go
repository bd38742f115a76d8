package config

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

func parseRouting(t *testing.T, vars map[string]string) (*Config, error) {
	t.Helper()
	environ := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
	maps.Copy(environ, vars)
	return Parse(environ)
}

func TestRoutingDefaults(t *testing.T) {
	c, err := parseRouting(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Routing
	if r.SampleSuccesses || r.SampleRate != 1 || r.ErrorTypes != nil || r.Slow != nil || r.SlowThreshold != 0 ||
		r.Redactor != nil || r.OmitRequest || r.OmitResponse || r.WebhookSecret != "" || r.AddContext {
		t.Errorf("defaults: %+v", r)
	}
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		check func(*testing.T, Routing)
	}{
		{"sample rate", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0.25"}, func(t *testing.T, r Routing) {
			if !r.SampleSuccesses || r.SampleRate != 0.25 {
				t.Errorf("SampleRate = %v", r.SampleRate)
			}
		}},
		{"sample rate 0", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0"}, func(t *testing.T, r Routing) {
			if !r.SampleSuccesses || r.SampleRate != 0 {
				t.Errorf("SampleRate = %v", r.SampleRate)
			}
		}},
		{"empty sample rate is the default", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": ""}, func(t *testing.T, r Routing) {
			if r.SampleSuccesses || r.SampleRate != 1 {
				t.Errorf("SampleRate = %v", r.SampleRate)
			}
		}},
		{"error types", map[string]string{"DESTINATIONS_FAILURE_ERROR_TYPES": "Sandbox.Timedout, Runtime.*,,SampleError"}, func(t *testing.T, r Routing) {
			if strings.Join(r.ErrorTypes, "|") != "Sandbox.Timedout|Runtime.*|SampleError" {
				t.Errorf("ErrorTypes = %q", r.ErrorTypes)
			}
		}},
		{"slow", map[string]string{"DESTINATIONS_ON_SLOW": "stdout,https://example.com/slow", "DESTINATIONS_SLOW_MS": "1500"}, func(t *testing.T, r Routing) {
			if len(r.Slow) != 2 || r.Slow[1].URL != "https://example.com/slow" || r.SlowThreshold != 1500*time.Millisecond {
				t.Errorf("Slow = %+v, SlowThreshold = %v", r.Slow, r.SlowThreshold)
			}
		}},
		{"slow ms alone is harmless", map[string]string{"DESTINATIONS_SLOW_MS": "100"}, func(t *testing.T, r Routing) {
			if r.Slow != nil {
				t.Errorf("Slow = %+v", r.Slow)
			}
		}},
		{"redact", map[string]string{"DESTINATIONS_REDACT": "password, authorization,$.items[*].secret"}, func(t *testing.T, r Routing) {
			got := r.Redactor.Payload(invocation.Payload{Bytes: []byte(`{"Password":"p","items":[{"secret":1}]}`)})
			if string(got.Bytes) != `{"Password":"[REDACTED]","items":[{"secret":"[REDACTED]"}]}` {
				t.Errorf("redacted %s", got.Bytes)
			}
		}},
		{"drop non-JSON", map[string]string{"DESTINATIONS_REDACT_NON_JSON": "drop"}, func(t *testing.T, r Routing) {
			if got := r.Redactor.Payload(invocation.Payload{Bytes: []byte("text")}); !strings.HasPrefix(string(got.Bytes), "[REDACTED non-JSON") {
				t.Errorf("non-JSON kept: %s", got.Bytes)
			}
		}},
		{"include request", map[string]string{"DESTINATIONS_INCLUDE": "request"}, func(t *testing.T, r Routing) {
			if r.OmitRequest || !r.OmitResponse {
				t.Errorf("omit %v %v", r.OmitRequest, r.OmitResponse)
			}
		}},
		{"include response", map[string]string{"DESTINATIONS_INCLUDE": " Response "}, func(t *testing.T, r Routing) {
			if !r.OmitRequest || r.OmitResponse {
				t.Errorf("omit %v %v", r.OmitRequest, r.OmitResponse)
			}
		}},
		{"include both, any order", map[string]string{"DESTINATIONS_INCLUDE": "response,request"}, func(t *testing.T, r Routing) {
			if r.OmitRequest || r.OmitResponse {
				t.Errorf("omit %v %v", r.OmitRequest, r.OmitResponse)
			}
		}},
		{"include none", map[string]string{"DESTINATIONS_INCLUDE": "none"}, func(t *testing.T, r Routing) {
			if !r.OmitRequest || !r.OmitResponse {
				t.Errorf("omit %v %v", r.OmitRequest, r.OmitResponse)
			}
		}},
		{"secret and context", map[string]string{"DESTINATIONS_WEBHOOK_SECRET": "s3cret", "DESTINATIONS_CONTEXT": "true"}, func(t *testing.T, r Routing) {
			if r.WebhookSecret != "s3cret" || !r.AddContext {
				t.Errorf("secret %q context %v", r.WebhookSecret, r.AddContext)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseRouting(t, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Routing)
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		variable string
		reason   string // a part of the reason
	}{
		{"rate above 1", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "1.5"}, "DESTINATIONS_SUCCESS_SAMPLE_RATE", "from 0 to 1"},
		{"negative rate", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "-0.1"}, "DESTINATIONS_SUCCESS_SAMPLE_RATE", "from 0 to 1"},
		{"rate not a number", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "half"}, "DESTINATIONS_SUCCESS_SAMPLE_RATE", "from 0 to 1"},
		{"rate NaN", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "NaN"}, "DESTINATIONS_SUCCESS_SAMPLE_RATE", "from 0 to 1"},
		{"rate percent", map[string]string{"DESTINATIONS_SUCCESS_SAMPLE_RATE": "10%"}, "DESTINATIONS_SUCCESS_SAMPLE_RATE", "from 0 to 1"},
		{"star inside an error type", map[string]string{"DESTINATIONS_FAILURE_ERROR_TYPES": "Sandbox.*out"}, "DESTINATIONS_FAILURE_ERROR_TYPES", "only at the end"},
		{"slow threshold -1", map[string]string{"DESTINATIONS_ON_SLOW": "stdout", "DESTINATIONS_SLOW_MS": "-1"}, "DESTINATIONS_SLOW_MS", "above 0"},
		{"slow threshold 0", map[string]string{"DESTINATIONS_ON_SLOW": "stdout", "DESTINATIONS_SLOW_MS": "0"}, "DESTINATIONS_SLOW_MS", "above 0"},
		{"slow threshold with unit", map[string]string{"DESTINATIONS_ON_SLOW": "stdout", "DESTINATIONS_SLOW_MS": "2s"}, "DESTINATIONS_SLOW_MS", "milliseconds"},
		{"slow threshold alone and wrong", map[string]string{"DESTINATIONS_SLOW_MS": "-1"}, "DESTINATIONS_SLOW_MS", "above 0"},
		{"slow without threshold", map[string]string{"DESTINATIONS_ON_SLOW": "stdout"}, "DESTINATIONS_SLOW_MS", "required when DESTINATIONS_ON_SLOW"},
		{"slow destination malformed", map[string]string{"DESTINATIONS_ON_SLOW": "arn:aws:sqs:eu-west-1:123:q", "DESTINATIONS_SLOW_MS": "10"}, "DESTINATIONS_ON_SLOW", "malformed sqs ARN"},
		{"slow destination unknown", map[string]string{"DESTINATIONS_ON_SLOW": "stderr", "DESTINATIONS_SLOW_MS": "10"}, "DESTINATIONS_ON_SLOW", "unknown destination"},
		{"malformed path", map[string]string{"DESTINATIONS_REDACT": "password,$.a["}, "DESTINATIONS_REDACT", `"$.a["`},
		{"path without $", map[string]string{"DESTINATIONS_REDACT": "$a"}, "DESTINATIONS_REDACT", "malformed JSON path"},
		{"bad index", map[string]string{"DESTINATIONS_REDACT": "$.a[-1]"}, "DESTINATIONS_REDACT", "whole number"},
		{"non-JSON policy", map[string]string{"DESTINATIONS_REDACT_NON_JSON": "remove"}, "DESTINATIONS_REDACT_NON_JSON", "keep or drop"},
		{"include unknown", map[string]string{"DESTINATIONS_INCLUDE": "request,headers"}, "DESTINATIONS_INCLUDE", "want request, response"},
		{"include none and more", map[string]string{"DESTINATIONS_INCLUDE": "none,request"}, "DESTINATIONS_INCLUDE", "cannot be combined"},
		{"context not a bool", map[string]string{"DESTINATIONS_CONTEXT": "yes please"}, "DESTINATIONS_CONTEXT", "want true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRouting(t, tt.vars)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse error = %v, want a *config.Error", err)
			}
			if ce.Variable != tt.variable || !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("Parse error = %v, want it to name %s and say %q", err, tt.variable, tt.reason)
			}
			if v, ok := tt.vars[tt.variable]; ok && ce.Value != v {
				t.Errorf("error value %q, want %q", ce.Value, v)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("message %q does not name %s", err.Error(), tt.variable)
			}
		})
	}
}
