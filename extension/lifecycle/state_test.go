package lifecycle

import (
	"strings"
	"testing"
)

func TestTransitions(t *testing.T) {
	all := []State{Invoked, Running, Exited, Succeeded, Errored, Refused, TimedOut, Crashed, Recorded}
	allowed := map[[2]State]bool{}
	for _, tr := range [][2]State{
		{Invoked, Running}, {Invoked, TimedOut}, {Invoked, Crashed},
		{Running, Exited}, {Running, Succeeded}, {Running, Errored}, {Running, Refused}, {Running, TimedOut}, {Running, Crashed},
		{Exited, TimedOut}, {Exited, Crashed},
		{Succeeded, Recorded}, {Errored, Recorded}, {Refused, Recorded}, {TimedOut, Recorded}, {Crashed, Recorded},
	} {
		allowed[tr] = true
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanMove(from, to); got != allowed[[2]State{from, to}] {
				t.Errorf("CanMove(%v, %v) = %v", from, to, got)
			}
		}
	}
	for _, s := range all {
		want := s == Succeeded || s == Errored || s == Refused || s == TimedOut || s == Crashed
		if s.Settled() != want {
			t.Errorf("%v.Settled() = %v", s, s.Settled())
		}
		if strings.HasPrefix(s.String(), "state(") {
			t.Errorf("%d has no name: %q", s, s.String())
		}
	}
}
