package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
	"github.com/lambda-destinations/lambda-destinations/replay"
)

// The emulator's log of the layer, with four failures whose events are whole.
var emulatorLog = filepath.Join("..", "..", "replay", "testdata", "emulator.log")

func runCmd(t *testing.T, terminal bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, terminal)
	return code, stdout.String(), stderr.String()
}

func TestRunFromLog(t *testing.T) {
	lambda := fakeaws.NewLambda(t)
	fakeaws.Env(t, "AWS_ENDPOINT_URL_LAMBDA", lambda.URL)
	summary := filepath.Join(t.TempDir(), "summary.json")
	code, out, errOut := runCmd(t, false, "--from", "log:"+emulatorLog, "--function", "function", "--summary", summary)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var events []string
	for _, c := range lambda.Calls() {
		if c.Target != "function" || c.Header.Get("X-Amz-Invocation-Type") != "Event" || !c.Auth.Valid {
			t.Errorf("call %+v", c)
		}
		events = append(events, c.Entries[0].Body)
	}
	want := []string{`{"Success":false,"n":1}`, `{"Success":false,"pad":"` + strings.Repeat("x", 229) + `"}`, `{"Crash":true}`, `{"Success":false,"pad":"` + strings.Repeat("y", 1500) + `"}`}
	if !slices.Equal(events, want) {
		t.Errorf("events %q", events)
	}
	if !strings.Contains(out, "succeeded       req-fail  line 18  function\n") ||
		!strings.Contains(out, "skipped         req-secret  line 28  redacted: requestPayload redacted (DESTINATIONS_REDACT)\n") ||
		!strings.HasSuffix(out, "re-driven (Event): 4, 4 succeeded, 0 failed again\nskipped: 9 (duplicate 5, redacted 2, truncated 2)\n") {
		t.Errorf("output:\n%s", out)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var s replay.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Read != 14 || s.Selected != 13 || s.Redriven != 4 || s.Succeeded != 4 || s.SkippedReasons[replay.KindTruncated] != 2 || len(s.Records) != 13 {
		t.Errorf("summary %+v", s)
	}
}

func TestRunDryRunInvokesNothing(t *testing.T) {
	lambda := fakeaws.NewLambda(t)
	fakeaws.Env(t, "AWS_ENDPOINT_URL_LAMBDA", lambda.URL, "AWS_ACCESS_KEY_ID", "")
	code, out, errOut := runCmd(t, true, "--from", "log:"+emulatorLog, "--dry-run", "--error-type", "Runtime.*")
	if code != exitOK || len(lambda.Calls()) != 0 {
		t.Fatalf("exit %d, %d calls: %s", code, len(lambda.Calls()), errOut)
	}
	if !strings.Contains(out, "would-re-drive  req-crash  line 54  arn:aws:lambda:us-east-1:012345678912:function:function:$LATEST\n") ||
		strings.Contains(out, "req-fail") || !strings.Contains(out, "dry run: 1 would be re-driven") {
		t.Errorf("a dry run, on a terminal too, lists the records:\n%s", out)
	}
}

func TestRunFailures(t *testing.T) {
	lambda := fakeaws.NewLambda(t)
	queues := fakeaws.NewQueues(t, "arn:aws:sqs:us-east-1:123456789012:failures")
	fakeaws.Env(t, "AWS_ENDPOINT_URL_LAMBDA", lambda.URL, "AWS_ENDPOINT_URL_SQS", queues.URL)

	lambda.FailNext(fakeaws.NotFound, 1)
	code, out, _ := runCmd(t, true, "--from", "log:"+emulatorLog, "--function", "function", "--request-id", "req-fail,req-crash")
	if code != exitFailed {
		t.Errorf("a re-drive failed: exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(out, "failed-again    req-fail  line 18  function function: Invoke: HTTP 404 ResourceNotFoundException") ||
		!strings.Contains(out, "re-driven (Event): 2, 1 succeeded, 1 failed again") {
		t.Errorf("output:\n%s", out)
	}

	code, _, errOut := runCmd(t, false, "--from", "sqs:arn:aws:sqs:us-east-1:123456789012:other")
	if code != exitUsage || !strings.Contains(errOut, "queue arn:aws:sqs:us-east-1:123456789012:other: GetQueueUrl: HTTP 400 AWS.SimpleQueueService.NonExistentQueue") {
		t.Errorf("a queue that does not exist: exit %d: %s", code, errOut)
	}

	queues.FailNext(fakeaws.AccessDenied, 1)
	code, _, errOut = runCmd(t, false, "--from", "sqs:arn:aws:sqs:us-east-1:123456789012:failures")
	if code != exitUsage || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("no permission on the queue: exit %d: %s", code, errOut)
	}

	code, _, errOut = runCmd(t, false, "--from", "log:"+filepath.Join(t.TempDir(), "missing.log"))
	if code != exitUsage || !strings.Contains(errOut, "missing.log: no such file") {
		t.Errorf("a missing log: exit %d: %s", code, errOut)
	}

	fakeaws.Env(t, "AWS_ACCESS_KEY_ID", "")
	code, _, errOut = runCmd(t, false, "--from", "log:"+emulatorLog)
	if code != exitUsage || !strings.Contains(errOut, "no AWS credentials in the environment") {
		t.Errorf("no credentials: exit %d: %s", code, errOut)
	}
	if n := len(lambda.Calls()); n != 2 {
		t.Errorf("%d invocations, want the 2 of the first run", n)
	}
}

func TestRunUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, false, "--help"); code != exitOK || !strings.Contains(errOut, "Usage:\n  destinations-replay --from SOURCE [flags]") {
		t.Errorf("--help: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, false, "--from", "queue"); code != exitUsage || !strings.Contains(errOut, "want log:PATH, sqs:QUEUE_ARN or s3:BUCKET/PREFIX") {
		t.Errorf("a bad source: exit %d: %s", code, errOut)
	}
	if code, out, _ := runCmd(t, false, "--version"); code != exitOK || out != "destinations-replay dev\n" {
		t.Errorf("--version: exit %d: %q", code, out)
	}
}
