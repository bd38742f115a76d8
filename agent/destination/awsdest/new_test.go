package awsdest

import (
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

func TestNew(t *testing.T) {
	tests := []struct {
		raw     string
		opts    Options
		wantErr string
		batcher bool
	}{
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", batcher: true},
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", opts: Options{SQSMaxBytes: MaxMaxBytes + 1}, wantErr: "SQS size limit"},
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", opts: Options{SQSMaxBytes: -1}, wantErr: "SQS size limit"},
		{raw: "arn:aws:sns:us-east-1:123456789012:t", batcher: true},
		{raw: "arn:aws:events:us-east-1:123456789012:event-bus/b", batcher: true},
		{raw: "arn:aws:events:us-east-1:123456789012:event-bus/b", opts: Options{EventBridgeMaxBytes: 2 << 20}, wantErr: "EventBridge size limit"},
		{raw: "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{raw: "arn:aws:s3:::bucket"},
		{raw: "https://example.com/hook", wantErr: "not an AWS destination"},
		{raw: "stdout", wantErr: "not an AWS destination"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			target, err := destination.Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(target, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.raw) {
					t.Fatalf("New: %v, want an error naming %q and %q", err, tt.raw, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := d.(destination.Sizer); !ok {
				t.Error("not a Sizer")
			}
			if _, ok := d.(destination.Batcher); ok != tt.batcher {
				t.Errorf("Batcher: %v, want %v", ok, tt.batcher)
			}
		})
	}
}

func TestMaxRecordBytes(t *testing.T) {
	bus := "arn:aws:events:us-east-1:123456789012:event-bus/b"
	busOverhead := len("lambda") + len(busSuccess) + len(bus)
	tests := []struct {
		raw  string
		opts Options
		want int
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q", Options{}, 262144},
		{"arn:aws:sqs:us-east-1:123456789012:q", Options{SQSMaxBytes: 1 << 20}, 1048576},
		{"arn:aws:sns:us-east-1:123456789012:t", Options{}, 262144 - 104},
		{bus, Options{FunctionARN: fnARN}, 262144 - busOverhead - len(fnARNBare) - maxQualifier},
		{bus, Options{FunctionARN: "unknown"}, 262144 - busOverhead - maxFunctionARN},
		{bus, Options{FunctionARN: fnARN, EventBridgeMaxBytes: 1 << 20}, 1048576 - busOverhead - len(fnARNBare) - maxQualifier},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", Options{}, 1048576 - 1024},
	}
	for _, tt := range tests {
		d := newDest(t, tt.raw, tt.opts)
		if got := d.(destination.Sizer).MaxRecordBytes(); got != tt.want {
			t.Errorf("%s %+v: MaxRecordBytes %d, want %d", tt.raw, tt.opts, got, tt.want)
		}
	}
	if got := newDest(t, "arn:aws:s3:::b", Options{}).(destination.Sizer).MaxRecordBytes(); got < 1<<30 {
		t.Errorf("S3: MaxRecordBytes %d, want no practical limit", got)
	}
}
