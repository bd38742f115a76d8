package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// lineCounter counts the lines written to it and keeps none of them.
type lineCounter struct {
	mu    sync.Mutex
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// heap is the bytes of the live heap.
func heap() int {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int(m.HeapAlloc)
}

// TestBacklogMemoryIsBounded: with a destination slower than the
// invocations, what the agent holds, records waiting and on their way,
// stays within DESTINATIONS_MAX_PENDING_BYTES and one record, and so does
// the heap; the rest goes to the log, and nothing is lost.
func TestBacklogMemoryIsBounded(t *testing.T) {
	const (
		maxPending = 4 << 20
		n          = 400
		size       = 50 << 10 // of each response
	)
	next := make(chan struct{}) // lets one send through
	var mu sync.Mutex
	delivered := 0
	dest := sender(func(ctx context.Context, m destination.Message) error {
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		delivered++
		mu.Unlock()
		return nil
	})
	cfg, err := config.Parse(map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          "127.0.0.1:9001",
		"DESTINATIONS_ON_SUCCESS":         queue,
		"DESTINATIONS_FLUSH":              "background",
		"DESTINATIONS_MAX_PENDING_BYTES":  fmt.Sprint(maxPending),
		"DESTINATIONS_ATTEMPT_TIMEOUT_MS": "600000",
	})
	if err != nil {
		t.Fatal(err)
	}
	var out lineCounter
	a, err := New(Options{Config: cfg, Stdout: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AWS: func(destination.Target) (destination.Destination, error) { return dest, nil }})
	if err != nil {
		t.Fatal(err)
	}
	base := heap()
	response := `{"data":"` + strings.Repeat("x", size) + `"}`
	most := 0
	for i := range n {
		inv := success(fmt.Sprintf("r%d", i), `{}`, response, time.Millisecond)
		inv.Response.Bytes = []byte(response) // a capture of its own, as the proxy's
		a.Completed(context.Background(), inv)
		a.mu.Lock()
		held, waiting := a.held, 0
		for _, j := range a.pending {
			waiting += j.weight
		}
		a.mu.Unlock()
		if held > maxPending+2*size || held < waiting {
			t.Fatalf("after %d records the agent counts %d bytes, %d of them waiting: want at most %d and one record", i+1, held, waiting, maxPending)
		}
		most = max(most, held)
		if i%40 == 39 {
			if got := heap() - base; got > maxPending+(1<<20) {
				t.Fatalf("after %d records the heap grew by %d bytes, the agent counts %d: want at most the cap and 1 MiB", i+1, got, held)
			}
		}
		if i%4 == 3 {
			next <- struct{}{} // the destination takes one record in four
		}
	}
	go func() {
		for {
			select {
			case next <- struct{}{}:
			case <-t.Context().Done():
				return
			}
		}
	}()
	a.Shutdown(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if shed := out.count(); delivered+shed != n || shed == 0 || delivered < n/4 {
		t.Errorf("%d delivered, %d written to the log, of %d", delivered, shed, n)
	}
	if a.held != 0 || a.Pending() != 0 || most < maxPending/2 {
		t.Errorf("after the shutdown the agent counts %d bytes, %d pending; at most it held %d", a.held, a.Pending(), most)
	}
}
