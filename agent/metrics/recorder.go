package metrics

import (
	"sync"
	"time"
)

// Tally is what a Recorder counted between two Takes.
type Tally struct {
	Destinations []DestinationTally // in the order they first had work
	SampledOut   int                // success records that sampling kept from their destinations
}

// Empty reports whether there is nothing to write.
func (t Tally) Empty() bool { return len(t.Destinations) == 0 && t.SampledOut == 0 }

// DestinationTally is what became of one destination's records.
type DestinationTally struct {
	Name      string // as the logs name the destination
	Delivered int
	Failures  int // records whose delivery finally failed
	Retries   int // attempts made after the first of a record
	ToLog     int // records written whole to the log instead
	Oversize  int // records shortened for the destination
	// Latency holds, per record delivered, the milliseconds from the end of
	// its invocation to the destination's acceptance.
	Latency []float64
}

// Recorder counts what becomes of records until they are taken for a
// flush's documents. It is safe for concurrent use; a nil Recorder counts
// nothing, which is what the agent has when metrics are off.
type Recorder struct {
	mu    sync.Mutex
	tally Tally
	index map[string]int // of Destinations, by name
	now   func() time.Time
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// Delivered counts a record the destination accepted, for an invocation
// that ended at ended (zero when unknown: no latency then).
func (r *Recorder) Delivered(dest string, ended time.Time) {
	if r == nil {
		return
	}
	ms := -1.0
	if !ended.IsZero() {
		ms = max(float64(r.now().Sub(ended).Microseconds())/1000, 0)
	}
	r.update(dest, func(d *DestinationTally) {
		d.Delivered++
		if ms >= 0 {
			d.Latency = append(d.Latency, ms)
		}
	})
}

// Attempted counts an attempt about to be made at a record that had made
// attempts before: a retry.
func (r *Recorder) Attempted(dest string, attemptsBefore int) {
	if r == nil || attemptsBefore == 0 {
		return
	}
	r.update(dest, func(d *DestinationTally) { d.Retries++ })
}

// Undelivered counts a record given up for the destination, written whole
// to the log unless that failed too.
func (r *Recorder) Undelivered(dest string, logged bool) {
	if r == nil {
		return
	}
	r.update(dest, func(d *DestinationTally) {
		d.Failures++
		if logged {
			d.ToLog++
		}
	})
}

// Oversize counts a record shortened for the destination, whose whole
// copy went to the overflow bucket or, when logged, to the log.
func (r *Recorder) Oversize(dest string, logged bool) {
	if r == nil {
		return
	}
	r.update(dest, func(d *DestinationTally) {
		d.Oversize++
		if logged {
			d.ToLog++
		}
	})
}

// SampledOut counts a success record that sampling kept from its destinations.
func (r *Recorder) SampledOut() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tally.SampledOut++
}

// Take returns what was counted since the last Take, and starts afresh.
func (r *Recorder) Take() Tally {
	if r == nil {
		return Tally{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tally
	r.tally, r.index = Tally{}, nil
	return t
}

func (r *Recorder) update(dest string, f func(*DestinationTally)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[dest]
	if !ok {
		if r.index == nil {
			r.index = map[string]int{}
		}
		i = len(r.tally.Destinations)
		r.index[dest] = i
		r.tally.Destinations = append(r.tally.Destinations, DestinationTally{Name: dest})
	}
	f(&r.tally.Destinations[i])
}
