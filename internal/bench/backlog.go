package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
)

// BacklogResult is the extension's memory while its records wait for a
// webhook slower than the invocations, and once they have gone out.
type BacklogResult struct {
	Invocations   int     `json:"invocations"`
	ResponseBytes int     `json:"responseBytes"`
	DelayMs       float64 `json:"delayMs"`   // the webhook's time per record
	CapBytes      int     `json:"capBytes"`  // DESTINATIONS_MAX_PENDING_BYTES, its default
	Delivered     int     `json:"delivered"` // records the webhook took; the others went to the log
	Idle          Memory  `json:"idle"`      // before the backlog
	PeakKiB       int64   `json:"peakKiB"`   // VmHWM during it
	DrainedKiB    int64   `json:"drainedKiB"`
	DrainSeconds  float64 `json:"drainSeconds"` // from the last invocation to the last record delivered
	BoundKiB      int64   `json:"boundKiB"`     // idle + 2 × the cap + 8 MiB
}

// backlog runs invocations with large responses faster than a webhook
// takes their records, in the background strategy, and reads the
// extension's peak memory, then its memory once the backlog is gone.
func (r *runner) backlog(ctx context.Context, rep *Report) error {
	c, err := config.Parse(map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
	if err != nil {
		return err
	}
	hook, err := newSlowHook(r.o.BacklogDelay)
	if err != nil {
		return err
	}
	defer hook.Close()
	for _, s := range r.in(backlog) {
		em, err := r.start(ctx, s, hook.URL)
		if err != nil {
			return err
		}
		defer em.e.Stop()
		for range 20 { // the runtime and the extension warmed up
			if _, err := r.invoke(ctx, em, r.event, len(r.event)); err != nil {
				return err
			}
		}
		if _, err := hook.quiet(ctx, 10*r.o.BacklogDelay); err != nil { // their records delivered
			return err
		}
		idle, err := r.memory(em)
		if err != nil {
			return err
		}
		if err := ResetPeak(em.pid); err != nil {
			return err
		}
		fmt.Fprintf(r.progress, "backlog: %d invocations with %d-byte responses, a webhook taking %s a record\n",
			r.o.Backlog, r.o.BacklogBytes, r.o.BacklogDelay)
		event := LargeResponseEvent(r.o.BacklogBytes)
		before, _ := hook.count()
		for range r.o.Backlog {
			if _, err := r.invoke(ctx, em, event, r.o.BacklogBytes); err != nil {
				return err
			}
		}
		end := time.Now()
		last, err := hook.quiet(ctx, 10*r.o.BacklogDelay)
		if err != nil {
			return err
		}
		time.Sleep(r.o.BacklogDelay) // for the memory handed back in the background
		mem, err := r.memory(em)
		if err != nil {
			return err
		}
		n, _ := hook.count()
		rep.Backlog = &BacklogResult{
			Invocations: r.o.Backlog, ResponseBytes: r.o.BacklogBytes, DelayMs: float64(r.o.BacklogDelay) / float64(time.Millisecond),
			CapBytes: c.MaxPendingBytes, Delivered: n - before, Idle: idle, PeakKiB: mem.HWM, DrainedKiB: mem.RSS,
			DrainSeconds: max(last.Sub(end).Seconds(), 0),
			BoundKiB:     idle.RSS + int64(2*c.MaxPendingBytes/1024) + 8<<10,
		}
	}
	return nil
}

// slowHook is a webhook that takes delay to answer each request, keeping
// nothing but the count: a receiver keeping hundreds of large records
// would weigh on the machine under measure.
type slowHook struct {
	URL   string
	delay time.Duration
	srv   *http.Server

	mu   sync.Mutex
	n    int
	last time.Time
}

func newSlowHook(delay time.Duration) (*slowHook, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("slow webhook: %w", err)
	}
	h := &slowHook{URL: "http://" + l.Addr().String(), delay: delay}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	go func() { _ = h.srv.Serve(l) }()
	return h, nil
}

func (h *slowHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	time.Sleep(h.delay)
	h.mu.Lock()
	h.n++
	h.last = time.Now()
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *slowHook) count() (int, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n, h.last
}

// quiet waits until the webhook has had nothing for d, and returns when it
// answered last.
func (h *slowHook) quiet(ctx context.Context, d time.Duration) (time.Time, error) {
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for the backlog to drain: %w", ctx.Err())
		case <-time.After(d / 10):
		}
		if _, last := h.count(); time.Since(last) >= d {
			return last, nil
		}
	}
}

func (h *slowHook) Close() error { return h.srv.Close() }
