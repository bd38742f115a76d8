package destination

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		kind    Kind
		wantErr string
	}{
		{"stdout", Stdout, ""},
		{" stdout ", Stdout, ""},
		{"https://hooks.example.com/records?x=1", Webhook, ""},
		{"http://127.0.0.1:8080/", Webhook, ""},
		{"arn:aws:sqs:us-east-1:123456789012:q", SQS, ""},
		{"arn:aws:sqs:us-east-1:123456789012:q.fifo", SQS, ""},
		{"arn:aws-cn:sqs:cn-north-1:123456789012:q", SQS, ""},
		{"arn:aws:sns:eu-west-1:123456789012:t.fifo", SNS, ""},
		{"arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", SNS, ""},
		{"arn:aws:events:us-east-1:123456789012:event-bus/default", EventBridge, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", Lambda, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:live", Lambda, ""},
		{"arn:aws:s3:::my-bucket", S3, ""},
		{"", "", "empty destination"},
		{"sqs://q", "", "unknown destination"},
		{"https://", "", "no host"},
		{"arn:aws:sqs:us-east-1:12345:q", "", "12-digit account"},
		{"arn:aws:sqs:us-east-1:123456789012", "", "malformed ARN"},
		{"arn:aws:sqs::123456789012:q", "", "want a region"},
		{"arn:aws:sqs:us-east-1:123456789012:a/b", "", "malformed sqs ARN"},
		{"arn:aws:events:us-east-1:123456789012:rule/r", "", "event-bus/NAME"},
		{"arn:aws:lambda:us-east-1:123456789012:function:", "", "function:NAME"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:a:b", "", "function:NAME"},
		{"arn:aws:s3:us-east-1::bucket", "", "arn:aws:s3:::BUCKET"},
		{"arn:aws:s3:::bucket/key", "", "arn:aws:s3:::BUCKET"},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/t", "", "unsupported ARN"},
		{"arn:gcp:sqs:us-east-1:123456789012:q", "", "unknown partition"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error %v, want one saying %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Kind != tt.kind {
				t.Fatalf("Parse(%q) = %v, %v; want kind %s", tt.in, got.Kind, err, tt.kind)
			}
		})
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T000/B000/SECRET": "https://hooks.slack.com/…",
		"https://example.com/hook?token=SECRET":             "https://example.com/…",
		"https://user:SECRET@example.com":                   "https://example.com/…",
		"http://127.0.0.1:8080":                             "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":                            "http://127.0.0.1:8080",
		"arn:aws:sqs:us-east-1:123456789012:q":              "arn:aws:sqs:us-east-1:123456789012:q",
		"stdout":                                            "stdout",
	} {
		tg, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.Name(); got != want || strings.Contains(got, "SECRET") {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
