package awsdest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

const (
	busMaxEntries = 10
	busSource     = "lambda"
	// The detail types of native Lambda destinations; both are 43 bytes.
	busSuccess = "Lambda Function Invocation Result - Success"
	busFailure = "Lambda Function Invocation Result - Failure"
	// maxFunctionARN is the longest function ARN with its qualifier (an
	// alias of up to 128 characters), for when the function's own is not
	// known in advance.
	maxFunctionARN = 140 + 1 + 128
	// maxQualifier is the longest qualifier, added to a known ARN.
	maxQualifier = 1 + 128
)

type busDest struct {
	common
	maxBytes  int // of an entry, and of a request
	recordMax int
	client    lazy[*client]
}

func newEventBridge(c common, maxBytes int, self arn.ARN) *busDest {
	fn := maxFunctionARN
	if self.Resource != "" {
		fn = len(self.String()) + maxQualifier
	}
	overhead := len(busSource) + len(busSuccess) + len(c.target.Raw) + fn
	return &busDest{common: c, maxBytes: maxBytes, recordMax: max(maxBytes-overhead, 0)}
}

// MaxRecordBytes is the entry limit less what else the entry counts
// (source, detail type, resources).
func (d *busDest) MaxRecordBytes() int { return d.recordMax }

func (d *busDest) connect(ctx context.Context) (*client, error) {
	return d.regional(ctx, &d.client, eventsService, awsJSON)
}

// busEntry is a PutEvents entry. Time is never set: EventBridge stamps the
// event when it receives it.
type busEntry struct {
	Source       string
	DetailType   string
	Detail       string
	Resources    []string `json:",omitempty"`
	EventBusName string
	TraceHeader  string `json:",omitempty"`
}

// busEntry is the PutEvents entry for m, in the shape of a native Lambda
// destination's event.
func (d *busDest) busEntry(m destination.Message) busEntry {
	detailType := busFailure
	if m.Condition == "Success" {
		detailType = busSuccess
	}
	e := busEntry{
		EventBusName: d.target.Raw,
		Source:       busSource,
		DetailType:   detailType,
		Detail:       string(m.Record),
		Resources:    []string{d.target.Raw},
		TraceHeader:  m.TraceID,
	}
	if m.FunctionARN != "" {
		// As native records have it: the ARN the caller invoked, qualified.
		e.Resources = append(e.Resources, m.FunctionARN)
	}
	return e
}

// entrySize counts an entry as EventBridge does ("Calculating PutEvents
// event entry size"): 14 bytes for Time if set (never here), then the
// UTF-8 bytes of Source, DetailType, Detail and each resource.
// EventBusName and TraceHeader do not count.
func entrySize(e busEntry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (d *busDest) Send(ctx context.Context, m destination.Message) error {
	return d.SendBatch(ctx, []destination.Message{m})[0]
}

// MaxBatch is the most entries one request takes.
func (d *busDest) MaxBatch() int { return busMaxEntries }

// SendBatch sends up to 10 entries per PutEvents, within the size limit
// for the whole request. A failed entry in a 200 answer fails its message
// only. Each request's entries are made as it goes: an entry copies its
// record.
func (d *busDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	sizes := make([]int, len(ms))
	for i, m := range ms {
		m.Record = nil
		sizes[i] = entrySize(d.busEntry(m)) + len(ms[i].Record)
	}
	size := func(i int) int { return sizes[i] }
	return sendBatches(ctx, d.target, len(ms), size, busMaxEntries, d.maxBytes, d.connect,
		func(c *client, chunk []int, errs []error) { d.sendChunk(ctx, c, ms, chunk, errs) })
}

// putEventsCall is PutEvents in AWS JSON 1.1.
func putEventsCall(entries []busEntry) (call, error) {
	body, err := jsonBody(struct{ Entries []busEntry }{entries})
	if err != nil {
		return call{}, fmt.Errorf("PutEvents: %w", err)
	}
	return call{op: "PutEvents", method: http.MethodPost, header: jsonHeader("1.1", "AWSEvents.PutEvents"), body: body}, nil
}

func (d *busDest) sendChunk(ctx context.Context, c *client, ms []destination.Message, chunk []int, errs []error) {
	in := make([]busEntry, len(chunk))
	for k, i := range chunk {
		in[k] = d.busEntry(ms[i])
	}
	fail := func(err error) {
		for _, i := range chunk {
			errs[i] = err
		}
	}
	k, err := putEventsCall(in)
	if err != nil {
		fail(d.named(err))
		return
	}
	a, err := c.do(ctx, k)
	if err != nil {
		batchFailed(ctx, d.target, d, ms, chunk, errs, err)
		return
	}
	var out struct {
		FailedEntryCount int
		Entries          []struct{ EventId, ErrorCode, ErrorMessage string }
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		fail(d.named(fmt.Errorf("PutEvents: reading the answer: %w", err)))
		return
	}
	// Result entries come in the order of the request's.
	for k, i := range chunk {
		switch {
		case k >= len(out.Entries):
			errs[i] = fmt.Errorf("destination %s: the PutEvents answer has no result for entry %d", d.target.Raw, k)
		case out.Entries[k].ErrorCode != "":
			r := out.Entries[k]
			// EventBridge has no SenderFault: codes it may retry are
			// isRetryableCode, the rest are the request's fault.
			errs[i] = wrap(d.target, &EntryError{Code: r.ErrorCode, Message: r.ErrorMessage, SenderFault: true})
		case out.Entries[k].EventId == "" && out.FailedEntryCount > 0:
			errs[i] = fmt.Errorf("destination %s: PutEvents reported %d failed entries, entry %d has neither id nor error", d.target.Raw, out.FailedEntryCount, k)
		}
	}
}
