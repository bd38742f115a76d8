package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
	"github.com/lambda-destinations/lambda-destinations/replay"
)

const failuresARN = "arn:aws:sqs:us-east-1:123456789012:failures"

// The events function A is invoked with, by request id: two successes,
// failures whose events are whole, one whose event is redacted, one
// truncated, one whose record is over the queue's size limit (the queue
// gets it without its payloads, the overflow bucket whole), and a crash.
var replayEvents = []struct{ id, event string }{
	{"req-ok", `{"Success": true, "n": "ok"}`},
	{"req-echo", `{"Echo": {"order": 7}}`},
	{"req-fail-1", `{"Success": false, "n": 1}`},
	{"req-fail-2", `{"Success": false, "n": 2, "note": "<&> é"}`},
	{"req-crash", `{"Crash": true, "n": 3}`},
	{"req-secret", `{"Success": false, "password": "hunter2"}`},
	{"req-long", `{"Success": false, "pad": "` + strings.Repeat("x", 3000) + `"}`},
	{"req-big", `{"Success": false, "pad": "` + strings.Repeat("y", 1500) + `"}`},
}

// TestReplay: records the layer wrote under the emulator, to its log, an
// SQS queue and an S3 bucket, are re-driven by destinations-replay to a
// second emulator running the function, whose own layer writes the event
// each invocation got. Only the selected records are re-driven, each with
// its original event; a dry run invokes and deletes nothing; a message is
// deleted only once its re-drive succeeded; truncated and redacted records
// are skipped.
func TestReplay(t *testing.T) {
	queue := fakeaws.NewQueues(t, failuresARN)
	s3 := fakeaws.NewS3(t, "records", "overflow")
	envA := awsEnv(queue.Server, nil, nil, s3, "")
	envA["DESTINATIONS_ON_FAILURE"] = "stdout," + failuresARN + ",arn:aws:s3:::records"
	envA["DESTINATIONS_ON_SUCCESS"] = "stdout," + failuresARN
	envA["DESTINATIONS_MAX_PAYLOAD_BYTES"] = "2000"
	envA["DESTINATIONS_REDACT"] = "password"
	envA["DESTINATIONS_SQS_MAX_BYTES"] = "1024"
	envA["DESTINATIONS_OVERFLOW_BUCKET"] = "overflow"
	a := start(t, setup{layer: true, env: envA})
	b := start(t, setup{layer: true, env: map[string]string{"DESTINATIONS_ON_SUCCESS": "stdout", "DESTINATIONS_ON_FAILURE": "stdout"}})
	bin := riet.FunctionT(t, "./cmd/replay", "destinations-replay")

	for _, e := range replayEvents {
		invoke(t, a, e.id, []byte(e.event))
	}
	var keys []string
	waitFor(t, 20*time.Second, "the records in the queue and the bucket", func() bool {
		keys, _ = s3.Keys("records")
		return len(queue.Messages(failuresARN)) == 8 && len(keys) == 6
	})
	original := map[string]string{} // request id: the requestPayload of A's record
	for id, l := range stdoutRecords(t, a.Output(), "execution record") {
		original[id] = string(l.Record.RequestPayload)
	}
	crash := original["req-crash"]
	logFile := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(logFile, []byte(a.Output()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The command invokes the emulator directly, or through a front that
	// answers a function's error as Lambda does (see invokeAPI).
	direct := awsEnv(queue.Server, nil, nil, s3, b.InvokeURL())
	lambdaAPI := awsEnv(queue.Server, nil, nil, s3, invokeAPI(t, b))

	run := func(t *testing.T, env map[string]string, wantCode int, args ...string) (*replay.Summary, []string) {
		t.Helper()
		before := len(b.Output())
		summary := filepath.Join(t.TempDir(), "summary.json")
		args = append(args, "--function", "function", "--summary", summary)
		code, out := replayCmd(t, bin, env, args...)
		if code != wantCode {
			t.Errorf("exit %d, want %d:\n%s", code, wantCode, out)
		}
		var s replay.Summary
		data, err := os.ReadFile(summary)
		if err == nil {
			err = json.Unmarshal(data, &s)
		}
		if err != nil {
			t.Fatalf("summary: %v\n%s", err, out)
		}
		// The layer records a crash once it has noticed it, which may be
		// after the emulator answered, and in the next run's output. The
		// other records are written before the emulator answers, but reach
		// its output through a pipe: wait for one per invocation succeeded.
		var got []string
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got = slices.DeleteFunc(eventsGot(t, b, before), func(ev string) bool { return ev == crash })
			if len(got) >= s.Succeeded || time.Now().After(end) {
				break
			}
		}
		return &s, got
	}
	want := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, original[id])
		}
		slices.Sort(out)
		return out
	}
	skipped := func(t *testing.T, s *replay.Summary, id, reason string) {
		t.Helper()
		for _, o := range s.Records {
			if o.RequestID == id && o.Outcome == replay.OutcomeSkipped && o.Reason == reason && o.Detail != "" {
				return
			}
		}
		t.Errorf("%s not skipped as %s: %+v", id, reason, s.Records)
	}

	t.Run("log, dry run", func(t *testing.T) {
		s, got := run(t, direct, 0, "--from", "log:"+logFile, "--dry-run")
		if len(got) != 0 {
			t.Errorf("a dry run invoked the function with %q", got)
		}
		if s.Read != 8 || s.Selected != 6 || s.WouldRedrive != 4 || s.Redriven != 0 {
			t.Errorf("summary %+v", s)
		}
	})

	t.Run("log, by error type", func(t *testing.T) {
		s, got := run(t, direct, 0, "--from", "log:"+logFile, "--error-type", "Sample*")
		if w := want("req-fail-1", "req-fail-2", "req-big"); !slices.Equal(got, w) {
			t.Errorf("events re-driven\n %q\nwant\n %q", got, w)
		}
		if s.Redriven != 3 || s.Succeeded != 3 || s.Skipped != 2 {
			t.Errorf("summary %+v", s)
		}
		skipped(t, s, "req-secret", replay.KindRedacted)
		skipped(t, s, "req-long", replay.KindTruncated)
	})

	t.Run("SQS, dry run", func(t *testing.T) {
		s, got := run(t, direct, 0, "--from", "sqs:"+failuresARN, "--dry-run")
		left := queue.Messages(failuresARN)
		if len(got) != 0 || len(left) != 8 || s.WouldRedrive != 4 {
			t.Errorf("a dry run invoked %q, left %d messages; summary %+v", got, len(left), s)
		}
		for _, m := range left {
			if !m.Visible {
				t.Errorf("message %s hidden after a dry run", m.ID)
			}
		}
	})

	t.Run("SQS", func(t *testing.T) {
		// Successes and failures alike, waiting for each function to
		// answer: the successes succeed again and their messages are
		// deleted; the failures fail again, and their messages stay with
		// those that were not re-driven.
		s, got := run(t, lambdaAPI, 1, "--from", "sqs:"+failuresARN, "--condition", "any", "--invocation-type", "RequestResponse")
		if w := want("req-ok", "req-echo", "req-fail-1", "req-fail-2", "req-big"); !slices.Equal(got, w) {
			t.Errorf("events re-driven\n %q\nwant\n %q", got, w)
		}
		left := queueRequests(queue)
		if w := []string{"req-big", "req-crash", "req-fail-1", "req-fail-2", "req-long", "req-secret"}; !slices.Equal(left, w) {
			t.Errorf("left in the queue: %q, want %q", left, w)
		}
		if s.Deleted != 2 || s.Succeeded != 2 || s.FailedAgain != 4 {
			t.Errorf("summary %+v", s)
		}
		skipped(t, s, "req-secret", replay.KindRedacted)
		skipped(t, s, "req-long", replay.KindTruncated)
		for _, o := range s.Records {
			if o.RequestID == "req-big" && !strings.Contains(o.Where, "(whole at s3://overflow/") {
				t.Errorf("req-big re-driven from %s, not from the overflow bucket's copy", o.Where)
			}
			if o.RequestID == "req-fail-1" && !strings.Contains(o.Detail, "function function failed again (Unhandled): SampleError") {
				t.Errorf("req-fail-1: %+v", o)
			}
		}
	})

	t.Run("SQS, failures again, asynchronously", func(t *testing.T) {
		// The emulator runs each event and answers 200 (Lambda: 202):
		// every message re-driven is deleted, and only those.
		s, got := run(t, direct, 0, "--from", "sqs:"+failuresARN, "--error-type", "SampleError")
		if w := want("req-fail-1", "req-fail-2", "req-big"); !slices.Equal(got, w) {
			t.Errorf("events re-driven\n %q\nwant\n %q", got, w)
		}
		if left := queueRequests(queue); !slices.Equal(left, []string{"req-crash", "req-long", "req-secret"}) || s.Deleted != 3 {
			t.Errorf("left in the queue %q, %d deleted", left, s.Deleted)
		}
	})

	t.Run("S3, by request id, RequestResponse", func(t *testing.T) {
		s, got := run(t, lambdaAPI, 1, "--from", "s3:records/aws/lambda/async/function/", "--request-id", "req-fail-1,req-big,req-long", "--invocation-type", "RequestResponse")
		if w := want("req-fail-1", "req-big"); !slices.Equal(got, w) {
			t.Errorf("events re-driven\n %q\nwant\n %q", got, w)
		}
		if s.Read != 6 || s.Selected != 3 || s.Redriven != 2 || s.FailedAgain != 2 || s.InvocationType != "RequestResponse" {
			t.Errorf("summary %+v", s)
		}
		skipped(t, s, "req-long", replay.KindTruncated)
	})
}

// queueRequests lists, sorted, the request ids of the records in the
// queue's messages.
func queueRequests(q *fakeaws.Queues) []string {
	var ids []string
	for _, m := range q.Messages(failuresARN) {
		var r struct {
			RequestContext struct{ RequestID string } `json:"requestContext"`
		}
		json.Unmarshal([]byte(m.Body), &r)
		ids = append(ids, r.RequestContext.RequestID)
	}
	slices.Sort(ids)
	return ids
}

// invokeAPI puts Lambda's Invoke API in front of an emulator: the emulator
// takes an Event invocation as it takes any other and answers a function's
// error as a success, where Lambda answers 202 at once for Event and, for
// RequestResponse, 200 with X-Amz-Function-Error. It returns its URL.
func invokeAPI(t *testing.T, e *rie.Emulator) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != rie.InvokePath {
			http.Error(w, "not the emulator's function", http.StatusNotFound)
			return
		}
		resp, err := e.Invoke(r.Context(), body, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if resp.Status == http.StatusBadGateway || bytes.HasPrefix(resp.Body, []byte(`{"errorMessage"`)) ||
			bytes.HasPrefix(resp.Body, []byte(`{"errorType"`)) || bytes.HasPrefix(resp.Body, []byte("Task timed out")) {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		w.Write(resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// replayCmd runs the command with env only (no AWS settings of the
// machine) and returns its exit status and output.
func replayCmd(t *testing.T, bin string, env map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	case err != nil:
		t.Fatalf("running %s: %v", bin, err)
	}
	return 0, out.String()
}

// eventsGot lists, sorted, the events the target function got since its
// output was after bytes long: its layer's records say.
func eventsGot(t *testing.T, b *rie.Emulator, after int) []string {
	t.Helper()
	var out []string
	for _, l := range stdoutRecords(t, b.Output()[after:], "execution record") {
		out = append(out, string(l.Record.RequestPayload))
	}
	slices.Sort(out)
	return out
}
