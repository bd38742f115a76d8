package flush

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		moment   Moment
		pending  int
		budget   time.Duration
		want     Action
	}{
		{"end: result in, time left", End, Completed, 2, time.Second, Deliver},
		{"end: result in, no time left", End, Completed, 2, 5 * time.Millisecond, Async},
		{"end: nothing pending", End, Completed, 0, time.Second, Nothing},
		{"end: leftovers at the next invoke", End, Invoked, 1, time.Second, Async},
		{"end: shutdown", End, Shutdown, 0, time.Second, Final},
		{"background: result in", Background, Completed, 3, time.Second, Async},
		{"background: invoke with pending", Background, Invoked, 3, time.Second, Async},
		{"background: invoke, nothing pending", Background, Invoked, 0, time.Second, Nothing},
		{"background: shutdown", Background, Shutdown, 5, 0, Final},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.strategy, tt.moment, tt.pending, tt.budget); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Strategy{"end": End, "background": Background, "END": End, " Background ": Background} {
		if got, err := Parse(s); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"", "ending", "async"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
