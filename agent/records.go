package agent

import (
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Add builds the record of inv and queues it for each of its destinations.
func (a *Agent) Add(inv invocation.Invocation) {
	condition, dests := a.router.Route(inv)
	if len(dests) == 0 {
		return
	}
	rec := record.Build(inv, a.fn)
	body, err := record.Marshal(&rec)
	if err != nil {
		// Build only embeds valid JSON, so this is a bug; say so loudly.
		a.log.Error("cannot serialise record", "requestId", inv.RequestID, "error", err)
		return
	}
	msg := destination.Message{
		Record:       body,
		Condition:    condition,
		RequestID:    inv.RequestID,
		FunctionARN:  rec.RequestContext.FunctionARN,
		FunctionName: destination.FunctionName(rec.RequestContext.FunctionARN),
		TraceID:      inv.TraceID,
		Attempt:      rec.RequestContext.ApproximateInvokeCount,
	}
	a.mu.Lock()
	for _, i := range dests {
		a.pending = append(a.pending, job{to: a.dests[i], msg: msg})
	}
	a.mu.Unlock()
}
