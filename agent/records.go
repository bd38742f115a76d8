package agent

import (
	"fmt"
	"runtime/debug"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// Add builds the records of inv and queues each for its destinations. The
// payloads are left out or redacted first, so no record, destination or
// fallback log line ever holds what the configuration keeps out.
func (a *Agent) Add(inv invocation.Invocation) {
	deliveries := a.router.Route(inv)
	if len(deliveries) == 0 {
		return
	}
	inv = a.scrub(inv)
	rec := record.Build(inv, a.fn)
	var ictx *record.InvocationContext
	if a.cfg.AddContext {
		ictx = record.Context(inv, record.Environment{
			MemorySizeMB: a.cfg.MemorySizeMB,
			LogGroup:     a.cfg.LogGroup,
			LogStream:    a.cfg.LogStream,
		})
	}
	for _, d := range deliveries {
		r := rec
		r.InvocationContext = ictx
		if d.Slow {
			r.DestinationsCondition = record.ConditionSlow
			if r.InvocationContext == nil { // the duration is what made it slow
				r.InvocationContext = &record.InvocationContext{DurationMs: record.DurationMs(inv), ColdStart: inv.ColdStart}
			}
		}
		a.enqueue(d, inv, &r)
	}
	if inv.Request.Len()+inv.Response.Len() >= releaseAfter {
		// The captured body is garbage now, held in the records alone:
		// its pages go back to the system, in the background, rather
		// than stay counted as the extension's (and the function's)
		// memory until a large body needs them again.
		go debug.FreeOSMemory()
	}
}

// releaseAfter is the size of the payloads whose records are followed by
// returning free memory to the system.
const releaseAfter = 1 << 20

// enqueue serialises one record and queues it for the delivery's destinations.
func (a *Agent) enqueue(d route.Delivery, inv invocation.Invocation, rec *record.Record) {
	body, err := record.Marshal(rec)
	if err != nil {
		// Build only embeds valid JSON, so this is a bug; say so loudly.
		a.log.Error("cannot serialise record", "requestId", inv.RequestID, "error", err)
		return
	}
	msg := destination.Message{
		Record:      body,
		Condition:   d.Condition,
		RequestID:   inv.RequestID,
		FunctionARN: rec.RequestContext.FunctionARN,
		TraceID:     inv.TraceID,
		Attempt:     rec.RequestContext.ApproximateInvokeCount,
	}
	a.mu.Lock()
	for _, i := range d.Dests {
		j := &job{to: a.dests[i], msg: msg}
		if _, ok := j.to.d.(destination.Sizer); ok {
			j.rec = rec // to shorten it, if it is too large
		}
		a.pending = append(a.pending, j)
	}
	shed := a.shedLocked()
	a.mu.Unlock()
	for _, j := range shed {
		a.fallback(j, fmt.Errorf("more than %d bytes of records waiting for delivery: written to the log instead", maxPendingBytes))
	}
}

// scrub leaves out the payloads DESTINATIONS_INCLUDE does not name and
// redacts the rest, the client context and Cognito identity included.
func (a *Agent) scrub(inv invocation.Invocation) invocation.Invocation {
	red := a.cfg.Redactor
	if a.cfg.OmitRequest {
		inv.Request = invocation.Payload{}
	} else {
		inv.Request = red.Payload(inv.Request)
	}
	if a.cfg.OmitResponse {
		inv.Response = invocation.Payload{}
	} else {
		inv.Response = red.Payload(inv.Response)
	}
	if a.cfg.AddContext && red.Active() {
		inv.ClientContext = string(red.Payload(invocation.Payload{Bytes: []byte(inv.ClientContext)}).Bytes)
		inv.CognitoIdentity = string(red.Payload(invocation.Payload{Bytes: []byte(inv.CognitoIdentity)}).Bytes)
	}
	return inv
}

// maxPendingBytes bounds the records waiting in memory: the extension shares
// the function's memory, and a destination that is down for long must not
// take it. Beyond it, the oldest records go to the log.
const maxPendingBytes = 16 << 20

// shedLocked takes the oldest pending records out while they weigh more
// than maxPendingBytes; the caller holds mu and logs them.
func (a *Agent) shedLocked() []*job {
	total := 0
	for _, j := range a.pending {
		total += len(j.msg.Record)
	}
	var shed []*job
	for total > maxPendingBytes && len(a.pending) > 1 {
		j := a.pending[0]
		a.pending = a.pending[1:]
		total -= len(j.msg.Record)
		shed = append(shed, j)
	}
	return shed
}
