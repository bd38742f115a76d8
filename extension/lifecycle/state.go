package lifecycle

import "fmt"

// State is where one invocation is in its life, as far as the extension
// knows it. Every source that knows something of an invocation (the proxy,
// the Extensions API's INVOKE, the Telemetry API, the deadline, the
// runtime's process, SHUTDOWN) moves it through these states, and only
// along the transitions listed in next: whatever comes for an invocation
// that has already been settled is dropped, so that it makes one record.
type State uint8

const (
	// Invoked: the Extensions API announced it; the runtime has not
	// received it through the proxy yet.
	Invoked State = iota
	// Running: the runtime received the event.
	Running
	// Exited: the runtime's process ended during the invocation. Whether it
	// crashed or was stopped at the deadline is told by what follows (the
	// deadline, SHUTDOWN's reason, the Telemetry API).
	Exited
	// Succeeded: the Runtime API accepted the runtime's response.
	Succeeded
	// Errored: the Runtime API accepted the runtime's error, or a streamed
	// response that ended with an error trailer.
	Errored
	// Refused: the Runtime API refused the result and failed the
	// invocation (a response over 6 MB).
	Refused
	// TimedOut: the deadline passed with no result.
	TimedOut
	// Crashed: the runtime exited, or failed its init, with no result.
	Crashed
	// Recorded: handed over to be recorded. Final.
	Recorded
)

var stateNames = [...]string{"invoked", "running", "exited", "succeeded", "errored", "refused", "timed out", "crashed", "recorded"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// settled lists the states in which the outcome is known.
var settled = [...]bool{Succeeded: true, Errored: true, Refused: true, TimedOut: true, Crashed: true}

// Settled reports whether the invocation's outcome is known.
func (s State) Settled() bool { return int(s) < len(settled) && settled[s] }

// next lists the transitions allowed from each state; every other one is
// refused.
var next = map[State][]State{
	Invoked:   {Running, TimedOut, Crashed},
	Running:   {Exited, Succeeded, Errored, Refused, TimedOut, Crashed},
	Exited:    {TimedOut, Crashed},
	Succeeded: {Recorded},
	Errored:   {Recorded},
	Refused:   {Recorded},
	TimedOut:  {Recorded},
	Crashed:   {Recorded},
}

// CanMove reports whether an invocation may go from one state to another.
func CanMove(from, to State) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}
