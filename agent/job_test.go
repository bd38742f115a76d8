package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/retry"
)

func TestJobAfter(t *testing.T) {
	open := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	throttled := errors.New("throttled")
	tooLarge := fmt.Errorf("message too long (%w, %w)", destination.ErrTooLarge, destination.ErrPermanent)
	denied := fmt.Errorf("access denied (%w)", destination.ErrPermanent)
	tests := []struct {
		name        string
		ctx         context.Context
		err         error
		before      int  // attempts before, all failed
		shortenable bool // the job still has its record to shorten
		want        verdict
		attempts    int // after
		failures    int
	}{
		{"delivered", open, nil, 0, true, delivered, 1, 0},
		{"delivered after failures", open, nil, 2, false, delivered, 3, 2},
		{"retryable", open, throttled, 0, false, retryLater, 1, 1},
		{"retryable, last attempt", open, throttled, 3, false, giveUp, 4, 4},
		{"permanent", open, denied, 0, false, permanent, 1, 1},
		{"too large, can be shortened", open, tooLarge, 0, true, shorten, 0, 0},
		{"too large once shortened", open, tooLarge, 0, false, permanent, 1, 1},
		{"cut short by the flush", ended, context.Canceled, 1, false, nextFlush, 2, 1},
		{"failed as the flush ended", ended, throttled, 3, false, nextFlush, 4, 4},
		{"deadline of the attempt alone", open, context.DeadlineExceeded, 0, false, retryLater, 1, 1},
	}
	policy := retry.Policy{MaxAttempts: 4, Base: time.Millisecond, Cap: time.Millisecond}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &job{attempts: tt.before, failures: tt.before}
			if tt.shortenable {
				j.short = &shortenable{}
			}
			if got := j.after(tt.ctx, tt.err, policy); got != tt.want || j.attempts != tt.attempts || j.failures != tt.failures {
				t.Errorf("after(%v) = %s with %d attempts, %d failed; want %s with %d, %d failed",
					tt.err, got, j.attempts, j.failures, tt.want, tt.attempts, tt.failures)
			}
			if tt.want != shorten && j.lastErr != tt.err {
				t.Errorf("lastErr %v, want %v", j.lastErr, tt.err)
			}
		})
	}
}

func TestJobUnsent(t *testing.T) {
	refused := errors.New("webhook https://example.com answered 503")
	cut := fmt.Errorf("webhook https://example.com: Post: %w", context.Canceled)
	timedOut := fmt.Errorf("webhook https://example.com: Post: %w", context.DeadlineExceeded)
	tests := []struct {
		attempts int
		last     error
		want     string
	}{
		{0, nil, "not delivered before the shutdown deadline: no attempt made"},
		{1, cut, "not delivered before the shutdown deadline (1 attempt): the last one had no answer, and the record may have been delivered: " + cut.Error()},
		{3, timedOut, "not delivered before the shutdown deadline (3 attempts): the last one had no answer, and the record may have been delivered: " + timedOut.Error()},
		{2, refused, "not delivered before the shutdown deadline (2 attempts): " + refused.Error()},
	}
	for _, tt := range tests {
		j := &job{attempts: tt.attempts, lastErr: tt.last}
		if got := j.unsent().Error(); got != tt.want {
			t.Errorf("unsent() = %q\nwant        %q", got, tt.want)
		}
	}
}

// sender is a destination that takes one record at a time.
type sender func(ctx context.Context, m destination.Message) error

func (f sender) Send(ctx context.Context, m destination.Message) error { return f(ctx, m) }

// A flush that ends while a record is on its way keeps it, and those not
// sent yet, for the next flush, which the next invocation starts.
func TestCutShortFlushGoesOnAtTheNextInvocation(t *testing.T) {
	flush, cut := context.WithCancel(context.Background())
	var mu sync.Mutex
	var sent []string
	delivered := make(chan string, 10)
	dest := sender(func(ctx context.Context, m destination.Message) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, m.RequestID)
		if len(sent) == 1 {
			cut() // the budget ends while the first record is on its way
			<-ctx.Done()
			return ctx.Err()
		}
		delivered <- m.RequestID
		return nil
	})
	a, out := newAWSAgent(t, dest, nil, nil)
	a.Add(success("r1", `{}`, `{}`, time.Millisecond))
	a.Add(success("r2", `{}`, `{}`, time.Millisecond))
	a.Flush(flush)

	a.mu.Lock()
	var left []string
	for _, j := range a.pending {
		left = append(left, fmt.Sprintf("%s:%d/%d", j.msg.RequestID, j.attempts, j.failures))
	}
	a.mu.Unlock()
	if fmt.Sprint(left) != "[r1:1/0 r2:0/0]" {
		t.Errorf("pending after the cut %v, want [r1:1/0 r2:0/0]: both kept in order, the attempt counted but not as a failure", left)
	}
	if out.String() != "" {
		t.Errorf("log: %s", out)
	}

	a.Invoked(context.Background(), "r3", time.Now().Add(time.Minute))
	for _, want := range []string{"r1", "r2"} {
		select {
		case got := <-delivered:
			if got != want {
				t.Errorf("delivered %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not delivered after Invoked", want)
		}
	}
	a.Shutdown(context.Background())
	if a.Pending() != 0 || out.String() != "" {
		t.Errorf("%d pending, log %q", a.Pending(), out)
	}
}

// Under Lambda Managed Instances the background strategy batches the
// records of the invocations that complete while a batch is on its way.
func TestBackgroundBatchesManyInvocations(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	dest := &fakeAWS{max: 1 << 20, script: func(call, i int, m destination.Message) error {
		if call == 0 {
			close(started)
			<-release // a slow destination
		}
		return nil
	}}
	a, out := newAWSAgent(t, dest, nil, map[string]string{"DESTINATIONS_FLUSH": "background"})
	a.Completed(context.Background(), success("r0", `{}`, `{}`, time.Millisecond))
	<-started
	for i := 1; i <= 25; i++ {
		a.Completed(context.Background(), success(fmt.Sprintf("r%d", i), `{}`, `{}`, time.Millisecond))
	}
	close(release)
	a.Shutdown(context.Background())
	var sizes []int
	n := 0
	for _, c := range dest.calls() {
		sizes = append(sizes, len(c))
		for _, m := range c {
			if want := fmt.Sprintf("r%d", n); m.RequestID != want {
				t.Errorf("record %d is %s, want %s", n, m.RequestID, want)
			}
			n++
		}
	}
	if fmt.Sprint(sizes) != "[1 10 10 5]" {
		t.Errorf("calls of %v records, want [1 10 10 5]", sizes)
	}
	if out.String() != "" {
		t.Errorf("log: %s", out)
	}
}
