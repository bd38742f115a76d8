// Package flush decides, without any I/O, when pending records are
// delivered: before the extension asks for its next event, or in the
// background while the function runs.
package flush

import (
	"fmt"
	"strings"
	"time"
)

// Strategy is the DESTINATIONS_FLUSH setting.
type Strategy string

const (
	// End delivers an invocation's records after the caller has its
	// response and before the extension asks for its next event.
	End Strategy = "end"
	// Background delivers during the next invocations and at SHUTDOWN, so
	// the extension asks for its next event at once.
	Background Strategy = "background"
)

// Parse reads a strategy name, in any letter case.
func Parse(s string) (Strategy, error) {
	switch st := Strategy(strings.ToLower(strings.TrimSpace(s))); st {
	case End, Background:
		return st, nil
	}
	return "", fmt.Errorf("unknown flush strategy %q: want end or background", s)
}

// Moment is a point of the lifecycle where pending records may go out.
type Moment int

const (
	Invoked   Moment = iota // an invocation starts
	Completed               // an invocation's outcome is known
	Shutdown                // the environment shuts down
)

// Action is what the agent does with its pending records.
type Action int

const (
	Nothing Action = iota
	Deliver        // deliver now, within the budget, before going on
	Async          // deliver on a goroutine; go on at once
	Final          // deliver within the budget, then log what is left
)

func (a Action) String() string {
	return [...]string{"nothing", "deliver", "async", "final"}[a]
}

// MinBudget is the least time worth starting a delivery in before /next;
// below it, records wait for the next flush rather than risk the deadline.
const MinBudget = 20 * time.Millisecond

// Decide says what to do at a moment, given how many records are pending
// and how much of the budget is left.
func Decide(s Strategy, m Moment, pending int, budget time.Duration) Action {
	switch {
	case m == Shutdown:
		return Final
	case pending == 0:
		return Nothing
	case m == Invoked:
		// Whatever is left over goes out while the function runs: the
		// environment is thawed and the caller is not waiting on it.
		return Async
	case s == Background:
		return Async
	case budget < MinBudget:
		return Async // no time before the deadline; it goes on after the thaw
	}
	return Deliver
}
