package replay

import (
	"context"
	"sync"
	"time"
)

// pacer spaces the starts of re-drives so that there are at most rate a
// second, however many run at once.
type pacer struct {
	every time.Duration // 0: no limit

	mu   sync.Mutex
	next time.Time // the earliest start of the next re-drive
}

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return &pacer{}
	}
	return &pacer{every: time.Duration(float64(time.Second) / rate)}
}

// wait returns when the next re-drive may start, or when ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.every == 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	var start time.Time
	start, p.next = slot(time.Now(), p.next, p.every)
	p.mu.Unlock()
	d := time.Until(start)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slot is when a re-drive asked for at now starts, given the earliest
// start of the next one, and the earliest start of the one after it.
// Time not used is not saved up: a pause gives no burst after it.
func slot(now, next time.Time, every time.Duration) (start, after time.Time) {
	start = next
	if now.After(start) {
		start = now
	}
	return start, start.Add(every)
}
