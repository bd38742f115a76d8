package replay

import (
	"context"
	"testing"
	"time"
)

func TestSlot(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	tests := []struct {
		name             string
		now, next        time.Time
		wantStart, after time.Time
	}{
		{"the first: at once", t0, time.Time{}, t0, t0.Add(100 * ms)},
		{"asked early: waits for its slot", t0.Add(30 * ms), t0.Add(100 * ms), t0.Add(100 * ms), t0.Add(200 * ms)},
		{"asked late: at once, no burst saved up", t0.Add(time.Second), t0.Add(100 * ms), t0.Add(time.Second), t0.Add(1100 * ms)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, after := slot(tt.now, tt.next, 100*ms)
			if !start.Equal(tt.wantStart) || !after.Equal(tt.after) {
				t.Errorf("slot %v, next %v; want %v, %v", start, after, tt.wantStart, tt.after)
			}
		})
	}
}

func TestPacerStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := newPacer(0.001) // one every 1000 s: the second waits
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.wait(ctx); err == nil {
		t.Error("a cancelled wait returned no error")
	}
	if err := newPacer(0).wait(context.Background()); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
