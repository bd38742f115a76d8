package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// fakeAWS is a destination with every optional ability: batches, a size
// limit, storing; its answers are scripted per call.
type fakeAWS struct {
	mu      sync.Mutex
	max     int
	batches [][]destination.Message
	// script answers the n-th call (from 0) for the i-th message of it.
	script func(call, i int, m destination.Message) error
	stored map[string][]byte
}

func (f *fakeAWS) Send(ctx context.Context, m destination.Message) error {
	return f.SendBatch(ctx, []destination.Message{m})[0]
}

func (f *fakeAWS) SendBatch(_ context.Context, ms []destination.Message) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := len(f.batches)
	f.batches = append(f.batches, ms)
	errs := make([]error, len(ms))
	for i, m := range ms {
		if f.script != nil {
			errs[i] = f.script(call, i, m)
		}
	}
	return errs
}

func (f *fakeAWS) MaxBatch() int { return 10 }

func (f *fakeAWS) MaxRecordBytes() int { return f.max }

func (f *fakeAWS) Store(_ context.Context, m destination.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stored == nil {
		f.stored = map[string][]byte{}
	}
	loc := fmt.Sprintf("s3://overflow/key-%d", len(f.stored))
	f.stored[loc] = m.Record
	return loc, nil
}

func (f *fakeAWS) calls() [][]destination.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]destination.Message(nil), f.batches...)
}

const queue = "arn:aws:sqs:us-east-1:123456789012:q"

func newAWSAgent(t *testing.T, dest destination.Destination, overflow destination.Storer, vars map[string]string) (*Agent, *syncBuffer) {
	t.Helper()
	environ := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":  "127.0.0.1:9001",
		"DESTINATIONS_ON_SUCCESS": queue,
	}
	maps.Copy(environ, vars)
	cfg, err := config.Parse(environ)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	a, err := New(Options{
		Config: cfg, Stdout: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AWS:      func(destination.Target) (destination.Destination, error) { return dest, nil },
		Overflow: overflow,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.policy.Base, a.policy.Cap = time.Millisecond, time.Millisecond
	return a, &out
}

func TestBatchResendsOnlyFailedEntries(t *testing.T) {
	dest := &fakeAWS{max: 1 << 20, script: func(call, i int, m destination.Message) error {
		switch {
		case call == 0 && (i == 1 || i == 3):
			return errors.New("throttled")
		case call == 0 && i == 4:
			return fmt.Errorf("%w: access denied", destination.ErrPermanent)
		}
		return nil
	}}
	a, out := newAWSAgent(t, dest, nil, map[string]string{"DESTINATIONS_FLUSH": "background"})
	for i := range 5 {
		a.Add(success(fmt.Sprintf("r%d", i), `{}`, `{}`, time.Millisecond))
	}
	a.Shutdown(context.Background())
	calls := dest.calls()
	if len(calls) != 2 || len(calls[0]) != 5 {
		t.Fatalf("calls: %d, first of %d", len(calls), len(calls[0]))
	}
	var again []string
	for _, m := range calls[1] {
		again = append(again, m.RequestID)
	}
	if strings.Join(again, ",") != "r1,r3" {
		t.Errorf("resent %v, want r1,r3", again)
	}
	lines := logLines(t, out.String())
	if len(lines) != 1 || lines[0].Msg != "undelivered record" || lines[0].RequestID != "r4" {
		t.Errorf("log lines %+v", lines)
	}
}

func TestOversizeRecords(t *testing.T) {
	big := `"` + strings.Repeat("x", 10000) + `"`
	marker := func(t *testing.T, record []byte) Omitted {
		t.Helper()
		var r struct{ ResponsePayload Omitted }
		if err := json.Unmarshal(record, &r); err != nil {
			t.Fatal(err)
		}
		return r.ResponsePayload
	}
	t.Run("over the limit: marked, whole record on the log", func(t *testing.T) {
		dest := &fakeAWS{max: 4000}
		a, out := newAWSAgent(t, dest, nil, nil)
		a.Completed(context.Background(), success("r1", `{}`, big, time.Millisecond))
		sent := dest.calls()[0][0].Record
		if len(sent) > 4000 || !marker(t, sent).Omitted || marker(t, sent).Size != len(big) {
			t.Errorf("sent %d bytes: %.300s", len(sent), sent)
		}
		lines := logLines(t, out.String())
		if len(lines) != 1 || lines[0].Msg != "oversize record" || !strings.Contains(string(lines[0].Record), big) {
			t.Errorf("log lines %+v", lines)
		}
	})
	t.Run("refused by the service: marked and sent again", func(t *testing.T) {
		dest := &fakeAWS{max: 1 << 20, script: func(call, i int, m destination.Message) error {
			if call == 0 {
				return fmt.Errorf("%w: %w: message too long", destination.ErrTooLarge, destination.ErrPermanent)
			}
			return nil
		}}
		a, out := newAWSAgent(t, dest, nil, nil)
		a.Completed(context.Background(), success("r1", `{}`, big, time.Millisecond))
		calls := dest.calls()
		if len(calls) != 2 || !marker(t, calls[1][0].Record).Omitted {
			t.Fatalf("calls %d", len(calls))
		}
		if lines := logLines(t, out.String()); len(lines) != 1 || lines[0].Msg != "oversize record" {
			t.Errorf("log lines %+v", lines)
		}
	})
	t.Run("claim check", func(t *testing.T) {
		dest := &fakeAWS{max: 4000}
		bucket := &fakeAWS{}
		a, out := newAWSAgent(t, dest, bucket, nil)
		a.Completed(context.Background(), success("r1", `{}`, big, time.Millisecond))
		m := marker(t, dest.calls()[0][0].Record)
		if !strings.Contains(string(bucket.stored[m.Location]), big) {
			t.Errorf("location %q does not hold the record", m.Location)
		}
		if lines := logLines(t, out.String()); len(lines) != 0 {
			t.Errorf("log lines %+v", lines)
		}
	})
}

func TestBackgroundDoesNotWait(t *testing.T) {
	release := make(chan struct{})
	dest := &fakeAWS{max: 1 << 20, script: func(int, int, destination.Message) error {
		<-release
		return nil
	}}
	a, _ := newAWSAgent(t, dest, nil, map[string]string{"DESTINATIONS_FLUSH": "background"})
	done := make(chan struct{})
	go func() {
		a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Completed waited for the delivery")
	}
	close(release)
	a.Shutdown(context.Background())
	if n := len(dest.calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	if a.Pending() != 0 {
		t.Errorf("%d pending after shutdown", a.Pending())
	}
}

func TestPanickingDestinationIsAFailure(t *testing.T) {
	dest := &fakeAWS{max: 1 << 20, script: func(int, int, destination.Message) error { panic("boom") }}
	a, out := newAWSAgent(t, dest, nil, map[string]string{"DESTINATIONS_MAX_ATTEMPTS": "1"})
	a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
	lines := logLines(t, out.String())
	if len(lines) != 1 || lines[0].Msg != "undelivered record" || !strings.Contains(lines[0].Reason, "panicked") {
		t.Errorf("log lines %+v", lines)
	}
}

// logLine is a line the agent wrote to the log, with its record raw.
type logLine struct {
	Msg       string          `json:"msg"`
	Reason    string          `json:"reason"`
	RequestID string          `json:"requestId"`
	Record    json.RawMessage `json:"record"`
}

func logLines(t *testing.T, out string) []logLine {
	t.Helper()
	var lines []logLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("line %.200s: %v", l, err)
		}
		lines = append(lines, ll)
	}
	return lines
}

func TestPendingIsBounded(t *testing.T) {
	block := make(chan struct{})
	dest := &fakeAWS{max: 1 << 30, script: func(int, int, destination.Message) error { <-block; return nil }}
	a, out := newAWSAgent(t, dest, nil, map[string]string{"DESTINATIONS_FLUSH": "background"})
	big := `"` + strings.Repeat("x", 1<<20) + `"`
	for i := range 40 {
		a.Completed(context.Background(), success(fmt.Sprintf("r%d", i), `{}`, big, time.Millisecond))
	}
	close(block)
	a.Shutdown(context.Background())
	shed := 0
	for _, l := range logLines(t, out.String()) {
		if strings.Contains(l.Reason, "waiting for delivery") {
			shed++
		}
	}
	delivered := 0
	for _, c := range dest.calls() {
		delivered += len(c)
	}
	if shed == 0 || shed+delivered < 40 {
		t.Errorf("%d shed to the log, %d delivered, of 40", shed, delivered)
	}
}
