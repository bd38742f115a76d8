package awsdest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

const (
	busMaxEntries = 10
	busSource     = "lambda"
	// The detail types of native Lambda destinations; both are 43 bytes.
	busSuccess = "Lambda Function Invocation Result - Success"
	busFailure = "Lambda Function Invocation Result - Failure"
	// maxFunctionARN is the longest unqualified function ARN, for when the
	// function's own is not known in advance.
	maxFunctionARN = 140
)

type busDest struct {
	common
	maxBytes  int // of an entry, and of a request
	recordMax int
	client    lazy[*eventbridge.Client]
}

func newEventBridge(c common, maxBytes int, s self) *busDest {
	fn := maxFunctionARN
	if s.arn != "" {
		fn = len(s.arn)
	}
	overhead := len(busSource) + len(busSuccess) + len(c.target.Raw) + fn
	return &busDest{common: c, maxBytes: maxBytes, recordMax: max(maxBytes-overhead, 0)}
}

// MaxRecordBytes is the entry limit less what else the entry counts
// (source, detail type, resources).
func (d *busDest) MaxRecordBytes() int { return d.recordMax }

func (d *busDest) connect(ctx context.Context) (*eventbridge.Client, error) {
	client, err := d.client.get(ctx, d.conf, func(cfg aws.Config) (*eventbridge.Client, error) {
		return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
			o.Region = d.target.ARN.Region
			if d.http != nil {
				o.HTTPClient = d.http
			}
		}), nil
	})
	if err != nil {
		return nil, d.named(err)
	}
	return client, nil
}

// busEntry is the PutEvents entry for m, in the shape of a native Lambda
// destination's event.
func (d *busDest) busEntry(m destination.Message) types.PutEventsRequestEntry {
	detailType := busFailure
	if m.Condition == "Success" {
		detailType = busSuccess
	}
	e := types.PutEventsRequestEntry{
		EventBusName: aws.String(d.target.Raw),
		Source:       aws.String(busSource),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(m.Record)),
		Resources:    []string{d.target.Raw},
	}
	if m.FunctionARN != "" {
		e.Resources = append(e.Resources, unqualified(m.FunctionARN))
	}
	if m.TraceID != "" {
		e.TraceHeader = aws.String(m.TraceID)
	}
	return e
}

// entrySize counts an entry as EventBridge does ("Calculating PutEvents
// event entry size"): 14 bytes for Time if set, then the UTF-8 bytes of
// Source, DetailType, Detail and each resource. EventBusName and
// TraceHeader do not count.
func entrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (d *busDest) Send(ctx context.Context, m destination.Message) error {
	return d.SendBatch(ctx, []destination.Message{m})[0]
}

// SendBatch sends up to 10 entries per PutEvents, within the size limit
// for the whole request. A failed entry in a 200 answer fails its message
// only.
func (d *busDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	errs := make([]error, len(ms))
	entries := make([]types.PutEventsRequestEntry, len(ms))
	sizes := make([]int, len(ms))
	todo := make([]int, 0, len(ms))
	for i, m := range ms {
		entries[i] = d.busEntry(m)
		sizes[i] = entrySize(entries[i])
		if sizes[i] > d.maxBytes {
			errs[i] = tooLargeError(d.target, sizes[i], d.maxBytes)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	client, err := d.connect(ctx)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return errs
	}
	size := func(i int) int { return sizes[i] }
	for _, chunk := range split(todo, size, busMaxEntries, d.maxBytes) {
		d.sendChunk(ctx, client, ms, entries, chunk, errs)
	}
	return errs
}

func (d *busDest) sendChunk(ctx context.Context, client *eventbridge.Client, ms []destination.Message, entries []types.PutEventsRequestEntry, chunk []int, errs []error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(chunk))}
	for k, i := range chunk {
		in.Entries[k] = entries[i]
	}
	out, err := client.PutEvents(ctx, in)
	if err != nil {
		batchFailed(ctx, d.target, d, ms, chunk, errs, err)
		return
	}
	// Result entries come in the order of the request's.
	for k, i := range chunk {
		switch {
		case k >= len(out.Entries):
			errs[i] = fmt.Errorf("destination %s: the PutEvents answer has no result for entry %d", d.target.Raw, k)
		case aws.ToString(out.Entries[k].ErrorCode) != "":
			r := out.Entries[k]
			// EventBridge has no SenderFault: codes it may retry are
			// isRetryableCode, the rest are the request's fault.
			errs[i] = wrap(d.target, &EntryError{Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage), SenderFault: true})
		case aws.ToString(out.Entries[k].EventId) == "" && out.FailedEntryCount > 0:
			errs[i] = fmt.Errorf("destination %s: PutEvents reported %d failed entries, entry %d has neither id nor error", d.target.Raw, out.FailedEntryCount, k)
		}
	}
}
