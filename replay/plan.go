package replay

import (
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Action is what becomes of a record.
type Action int

const (
	NotSelected Action = iota // the filters leave it out
	Skip                      // it cannot, or must not, be re-driven: Reason says why
	Redrive                   // it is re-driven
)

// Decision is the plan for one record.
type Decision struct {
	Action     Action
	Reason     Reason             // for Skip
	Invocation awsdest.Invocation // for Redrive
	// Of, for a Skip of KindDuplicate, is the index in its batch of the
	// record re-driven instead, or -1 when that one was in an earlier batch
	// (or there is none).
	Of int
}

// history is what earlier batches of a source held, by request id.
type history struct {
	redriven  map[string]earlier   // requests re-driven, from their first record
	succeeded map[string]successAt // requests that succeeded, their latest success record
}

type earlier struct {
	where string
	ok    bool // the re-drive succeeded
}

type successAt struct {
	t     time.Time
	where string
}

func newHistory() *history {
	return &history{redriven: map[string]earlier{}, succeeded: map[string]successAt{}}
}

// plan decides what becomes of each record of a batch:
//
//   - a record that could not be read, or whose event was changed (event
//     says how), is skipped with the reason;
//   - a failure is skipped when the source also holds a success of the
//     same request recorded no earlier: a later attempt did the work;
//   - of the records of one request (one per destination, one per
//     attempt), the first whose event is whole is re-driven and the others
//     are its duplicates, changed or not; a request re-driven from an
//     earlier batch is not re-driven again.
func plan(batch []Found, f Filter, t Target, h *history) []Decision {
	ds := make([]Decision, len(batch))
	for _, fd := range batch {
		if fd.Err == nil && fd.Record.RequestContext.Condition == record.ConditionSuccess {
			h.noteSuccess(fd)
		}
	}
	chosen := map[string]int{} // request id: the record of this batch re-driven
	for i, fd := range batch {
		ds[i] = Decision{Action: Skip, Of: -1}
		id := fd.Record.RequestContext.RequestID
		switch {
		case fd.Err != nil:
			ds[i].Reason = Reason{KindUnreadable, fd.Err.Error()}
			continue
		case !f.matchContext(fd.Record) || !f.matchError(fd.Record):
			ds[i].Action = NotSelected
			continue
		}
		if s, ok := h.succeeded[id]; ok && failed(fd.Record) && !s.t.Before(recordTime(fd.Record)) {
			ds[i].Reason = Reason{KindSucceeded, "a later attempt of the request succeeded (" + s.where + ")"}
			continue
		}
		if e, ok := h.redriven[id]; ok {
			ds[i].Reason = Reason{KindDuplicate, "the request was re-driven from " + e.where}
			continue
		}
		ev, why := event(fd.Record)
		if why.Kind != "" {
			ds[i].Reason = why
			continue
		}
		if j, ok := chosen[id]; ok {
			ds[i].Reason, ds[i].Of = Reason{KindDuplicate, "the request is re-driven from " + batch[j].Where}, j
			continue
		}
		in, err := t.invocation(fd.Record, ev)
		if err != nil {
			ds[i].Reason = Reason{KindBadFunction, err.Error()}
			continue
		}
		chosen[id] = i
		ds[i] = Decision{Action: Redrive, Invocation: in, Of: -1}
	}
	// A changed copy of a request re-driven from another record is a
	// duplicate: its request is taken care of.
	for i, fd := range batch {
		if ds[i].Action != Skip || fd.Err != nil || ds[i].Reason.Kind == KindDuplicate || ds[i].Reason.Kind == KindSucceeded {
			continue
		}
		if j, ok := chosen[fd.Record.RequestContext.RequestID]; ok {
			ds[i].Reason, ds[i].Of = Reason{KindDuplicate, "the request is re-driven from " + batch[j].Where}, j
		}
	}
	return ds
}

// noteSuccess keeps the latest success record of its request.
func (h *history) noteSuccess(fd Found) {
	if fd.Record.Timestamp == "" {
		return
	}
	id, t := fd.Record.RequestContext.RequestID, recordTime(fd.Record)
	if s, ok := h.succeeded[id]; !ok || t.After(s.t) {
		h.succeeded[id] = successAt{t: t, where: fd.Where}
	}
}

// recordTime is the record's timestamp, zero when it has none.
func recordTime(r record.Record) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.Timestamp)
	return t
}
