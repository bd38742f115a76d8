package agent

import (
	"fmt"
	"runtime/debug"
)

// What the agent holds is bounded by DESTINATIONS_MAX_PENDING_BYTES: the
// extension shares the function's memory, and a destination that is slow
// or down for long must not take it. Every job counts from the moment it
// is queued until it is delivered or written to the log, while it waits,
// while it is on its way and between its retries.

// jobOverhead is what a job holds besides its record's bytes: the job and
// its message, and the record's fields that shortening it needs.
const jobOverhead = 1 << 10

// releaseAfter is how much the agent must have held for its memory to be
// handed back to the system when it holds nothing again.
const releaseAfter = 1 << 20

// weight is what j holds: the record's bytes, as allocated, and the rest.
func weight(j *job) int { return cap(j.msg.Record) + jobOverhead }

// queue adds the jobs of one record. While the agent then holds more than
// its cap, the oldest waiting records go to the log instead: those on their
// way cannot be taken back, and the new ones stay, so that what is held
// stays within the cap and one record.
func (a *Agent) queue(jobs []*job) {
	a.mu.Lock()
	for _, j := range jobs {
		j.weight = weight(j)
		a.held += j.weight
	}
	a.pending = append(a.pending, jobs...)
	var shed []*job
	for a.held > a.maxPending && len(a.pending) > len(jobs) {
		j := a.pending[0]
		a.pending[0] = nil // or the queue's array would keep it
		a.pending = a.pending[1:]
		a.held -= j.weight
		shed = append(shed, j)
	}
	a.peak = max(a.peak, a.held)
	a.mu.Unlock()
	for _, j := range shed {
		a.fallback(j, fmt.Errorf("more than %d bytes of records waiting for delivery: written to the log instead", a.maxPending))
	}
}

// take empties the queue for a flush; the jobs still count.
func (a *Agent) take() []*job {
	a.mu.Lock()
	defer a.mu.Unlock()
	jobs := a.pending
	a.pending = nil
	return jobs
}

// requeue puts jobs back at the head of the queue, for the next flush.
func (a *Agent) requeue(jobs []*job) {
	if len(jobs) == 0 {
		return
	}
	a.mu.Lock()
	a.pending = append(jobs, a.pending...)
	a.mu.Unlock()
}

// reweigh counts j anew after its record changed (shortened).
func (a *Agent) reweigh(j *job) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := weight(j)
	a.held += w - j.weight
	j.weight = w
}

// done forgets a job delivered or written to the log. When the agent holds
// nothing any more after a backlog or a large record, the memory they took
// goes back to the system, in the background, rather than stay counted as
// the extension's (and the function's) until a backlog needs it again.
func (a *Agent) done(j *job) {
	a.mu.Lock()
	a.held -= j.weight
	j.weight = 0
	drained := a.held == 0 && a.peak >= releaseAfter
	if drained {
		a.peak = 0
	}
	a.mu.Unlock()
	if drained {
		go debug.FreeOSMemory()
	}
}

// Pending is the number of records waiting for delivery, those on their
// way left out.
func (a *Agent) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}
