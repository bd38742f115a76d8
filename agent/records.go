package agent

import (
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// Add builds the records of inv and queues each for its destinations. The
// payloads are left out or redacted first, so no record, destination or
// fallback log line ever holds what the configuration keeps out.
func (a *Agent) Add(inv invocation.Invocation) {
	deliveries, sampledOut := a.router.Route(inv)
	if sampledOut {
		a.metrics.SampledOut()
	}
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
}

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
	var ended int64
	if !inv.End.IsZero() {
		ended = inv.End.UnixNano()
	}
	jobs := make([]*job, len(d.Dests))
	var short *shortenable
	for k, i := range d.Dests {
		jobs[k] = &job{to: a.dests[i], msg: msg, ended: ended}
		if _, ok := jobs[k].to.d.(destination.Sizer); ok {
			if short == nil {
				short = newShortenable(rec)
			}
			jobs[k].short = short
		}
	}
	a.queue(jobs)
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
