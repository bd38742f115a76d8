package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	now := time.Date(2024, 5, 10, 8, 0, 0, 0, time.UTC)
	const queue = "sqs:arn:aws:sqs:eu-west-1:123456789012:failures"
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{"defaults", []string{"--from", queue}, func(t *testing.T, o options) {
			if o.filter.Condition != "Failure" || o.target.Type != "Event" || o.target.Function != "" || o.concurrency != 1 || o.rate != 0 || o.dryRun {
				t.Errorf("%+v", o)
			}
			if o.from.Kind != "sqs" || o.from.Queue.Resource != "failures" || o.source != queue {
				t.Errorf("from %+v", o.from)
			}
		}, ""},
		{"every flag", []string{"-from=log:-", "--condition", "any", "--error-type", "Sandbox.Timedout, Runtime.*", "--since", "2h", "--until", "2024-05-11",
			"--request-id", "a,b", "--function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:orders", "--function", "orders:live",
			"--invocation-type", "requestresponse", "--dry-run", "--rate", "2.5", "--concurrency", "4", "--summary", "out.json"}, func(t *testing.T, o options) {
			if o.filter.Condition != "" || len(o.filter.ErrorTypes) != 2 || o.filter.ErrorTypes[1] != "Runtime.*" ||
				!o.filter.Since.Equal(now.Add(-2*time.Hour)) || !o.filter.Until.Equal(time.Date(2024, 5, 11, 0, 0, 0, 0, time.UTC)) ||
				!o.filter.RequestIDs["b"] || o.filter.Function.FunctionName() != "orders" {
				t.Errorf("filter %+v", o.filter)
			}
			if o.target.Function != "orders:live" || o.target.Type != "RequestResponse" || !o.dryRun || o.rate != 2.5 || o.concurrency != 4 || o.summary != "out.json" {
				t.Errorf("%+v", o)
			}
		}, ""},
		{"version", []string{"--version"}, func(t *testing.T, o options) {
			if !o.version {
				t.Error("no version")
			}
		}, ""},
		{"no source", nil, nil, "--from is required"},
		{"a malformed queue ARN", []string{"--from", "sqs:arn:aws:sqs:eu-west-1:1:q"}, nil, "malformed sqs ARN"},
		{"all the errors at once", []string{"--from", queue, "--condition", "maybe", "--invocation-type", "Async", "--concurrency", "0", "--rate", "-1"}, nil,
			"--condition \"maybe\": want Failure, Success or any\n--invocation-type \"Async\": want Event or RequestResponse\n--rate -1: want 0 (no limit) or more\n--concurrency 0: want 1 or more"},
		{"a malformed --function", []string{"--from", queue, "--function", "arn:aws:lambda:eu-west-1:123456789012:f"}, nil, "--function: malformed lambda ARN"},
		{"--since after --until", []string{"--from", queue, "--since", "1h", "--until", "2h"}, nil, "--since 1h is not before --until 2h"},
		{"a stray argument", []string{"--from", queue, "now"}, nil, "unexpected arguments"},
		{"an unknown flag", []string{"--from", queue, "--queue", "q"}, nil, "flag provided but not defined: -queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, now, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}
