package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Omitted replaces a payload left out of a record too large for its
// destination. Location is set when the whole record was stored in the
// overflow bucket.
type Omitted struct {
	Omitted  bool   `json:"destinationsOmitted"`
	Reason   string `json:"reason"`
	Size     int    `json:"size"` // bytes of the payload as it was in the record
	Location string `json:"location,omitempty"`
}

// shortenable is what shortening a record needs: the record without its
// payloads, which the serialised record holds already, and their sizes.
type shortenable struct {
	rec               record.Record
	request, response int // bytes of the payloads in the record
}

func newShortenable(rec *record.Record) *shortenable {
	s := &shortenable{rec: *rec, request: len(rec.RequestPayload), response: len(rec.ResponsePayload)}
	s.rec.RequestPayload, s.rec.ResponsePayload = nil, nil
	return s
}

// fit makes a record that is larger than its destination accepts fit, before
// sending: the payloads are replaced by markers, and the whole record goes
// to the overflow bucket or, without one, to the log. Nothing is dropped.
func (a *Agent) fit(ctx context.Context, j *job) {
	s, ok := j.to.d.(destination.Sizer)
	if !ok || j.short == nil || len(j.msg.Record) <= s.MaxRecordBytes() {
		return
	}
	a.shrink(ctx, j, fmt.Sprintf("record of %d bytes is over the %d-byte limit of %s", len(j.msg.Record), s.MaxRecordBytes(), j.to.Name()))
}

// fitRefused does the same for a record the service refused for its size.
func (a *Agent) fitRefused(ctx context.Context, j *job, err error) {
	a.shrink(ctx, j, fmt.Sprintf("record of %d bytes refused by %s for its size: %v", len(j.msg.Record), j.to.Name(), err))
}

func (a *Agent) shrink(ctx context.Context, j *job, reason string) {
	short := j.short
	j.short = nil
	location := ""
	if a.overflow != nil {
		loc, err := a.overflow.Store(ctx, j.msg)
		if err != nil {
			a.log.Warn("overflow bucket refused a record", "destination", j.to.Name(), "requestId", j.msg.RequestID, "error", err)
		}
		location = loc
	}
	logged := false
	if location == "" {
		// Whole, on the log, so that it can be recovered from CloudWatch Logs.
		err := a.lines.Line("WARN", "oversize record", j.msg.Record,
			"destination", j.to.Name(), "reason", reason, "condition", j.msg.Condition, "requestId", j.msg.RequestID)
		if err != nil {
			a.log.Error("cannot write oversize record", "requestId", j.msg.RequestID, "error", err)
		}
		logged = err == nil
	}
	a.metrics.Oversize(j.to.metric, logged)
	small := short.rec
	small.RequestPayload = marker(reason, short.request, location)
	small.ResponsePayload = marker(reason, short.response, location)
	body, err := record.Marshal(&small)
	if err != nil {
		a.log.Error("cannot serialise a shortened record", "requestId", j.msg.RequestID, "error", err)
		return
	}
	j.msg.Record = body
	a.reweigh(j)
	a.log.Info("record shortened for its destination", "destination", j.to.Name(), "requestId", j.msg.RequestID,
		"bytes", len(body), "location", location)
}

func marker(reason string, size int, location string) json.RawMessage {
	b, _ := json.Marshal(Omitted{Omitted: true, Reason: reason, Size: size, Location: location})
	return b
}
