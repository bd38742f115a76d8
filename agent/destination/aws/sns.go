package awsdest

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

const (
	snsMaxEntries = 10
	// snsMaxBytes is SNS's limit on a message with its attributes, and on
	// a whole PublishBatch.
	snsMaxBytes = 256 << 10
	// snsAttrReserve is what the two attributes can take: names, type
	// "String" twice, the condition and a function name of up to 64.
	snsAttrReserve = len("condition") + len("String") + len("Failure") +
		len("functionName") + len("String") + 64
)

type snsDest struct {
	common
	fifo   bool
	client lazy[*sns.Client]
}

func newSNS(c common) *snsDest {
	return &snsDest{common: c, fifo: strings.HasSuffix(c.target.ARN.Resource, ".fifo")}
}

// MaxRecordBytes leaves room for the message attributes, which SNS counts
// in the message size.
func (d *snsDest) MaxRecordBytes() int { return snsMaxBytes - snsAttrReserve }

func (d *snsDest) connect(ctx context.Context) (*sns.Client, error) {
	client, err := d.client.get(ctx, d.conf, func(cfg aws.Config) (*sns.Client, error) {
		return sns.NewFromConfig(cfg, func(o *sns.Options) {
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

// snsAttributes are for subscription filter policies.
func snsAttributes(m destination.Message) map[string]types.MessageAttributeValue {
	attrs := make(map[string]types.MessageAttributeValue, 2)
	// SNS refuses empty String values: leave out what is unknown.
	if m.Condition != "" {
		attrs["condition"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.Condition)}
	}
	if fn := functionName(m); fn != "" {
		attrs["functionName"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(fn)}
	}
	return attrs
}

// snsSize is the size SNS counts: the message and each attribute's name,
// type and value.
func snsSize(m destination.Message) int {
	n := len(m.Record)
	if m.Condition != "" {
		n += len("condition") + len("String") + len(m.Condition)
	}
	if fn := functionName(m); fn != "" {
		n += len("functionName") + len("String") + len(fn)
	}
	return n
}

// snsEntry is the batch entry for m; Send uses the same fields.
func (d *snsDest) snsEntry(id string, m destination.Message) types.PublishBatchRequestEntry {
	e := types.PublishBatchRequestEntry{
		Id:                aws.String(id),
		Message:           aws.String(string(m.Record)),
		MessageAttributes: snsAttributes(m),
	}
	if d.fifo {
		e.MessageGroupId = aws.String(functionName(m))
		e.MessageDeduplicationId = aws.String(dedupID(m))
	}
	return e
}

func (d *snsDest) Send(ctx context.Context, m destination.Message) error {
	if n := snsSize(m); n > snsMaxBytes {
		return tooLargeError(d.target, n, snsMaxBytes)
	}
	client, err := d.connect(ctx)
	if err != nil {
		return err
	}
	e := d.snsEntry("", m)
	in := &sns.PublishInput{
		TopicArn:               aws.String(d.target.Raw),
		Message:                e.Message,
		MessageAttributes:      e.MessageAttributes,
		MessageGroupId:         e.MessageGroupId,
		MessageDeduplicationId: e.MessageDeduplicationId,
	}
	var optFns []func(*sns.Options)
	if m.TraceID != "" {
		optFns = append(optFns, func(o *sns.Options) { o.APIOptions = append(o.APIOptions, traceHeader(m.TraceID)) })
	}
	if _, err := client.Publish(ctx, in, optFns...); err != nil {
		return wrap(d.target, err)
	}
	return nil
}

// SendBatch sends up to 10 messages per PublishBatch, within 256 KiB for
// the whole request.
func (d *snsDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	errs := make([]error, len(ms))
	todo := make([]int, 0, len(ms))
	for i, m := range ms {
		if n := snsSize(m); n > snsMaxBytes {
			errs[i] = tooLargeError(d.target, n, snsMaxBytes)
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
	size := func(i int) int { return snsSize(ms[i]) }
	for _, chunk := range split(todo, size, snsMaxEntries, snsMaxBytes) {
		d.sendChunk(ctx, client, ms, chunk, errs)
	}
	return errs
}

func (d *snsDest) sendChunk(ctx context.Context, client *sns.Client, ms []destination.Message, chunk []int, errs []error) {
	entries := make([]types.PublishBatchRequestEntry, len(chunk))
	for k, i := range chunk {
		entries[k] = d.snsEntry(strconv.Itoa(k), ms[i])
	}
	var optFns []func(*sns.Options)
	// One request has one trace header: send it when the batch shares it.
	if tr := sharedTrace(ms, chunk); tr != "" {
		optFns = append(optFns, func(o *sns.Options) { o.APIOptions = append(o.APIOptions, traceHeader(tr)) })
	}
	out, err := client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(d.target.Raw), PublishBatchRequestEntries: entries}, optFns...)
	if err != nil {
		batchFailed(ctx, d.target, d, ms, chunk, errs, err)
		return
	}
	results := make(map[string]error, len(chunk))
	for _, s := range out.Successful {
		results[aws.ToString(s.Id)] = nil
	}
	for _, f := range out.Failed {
		results[aws.ToString(f.Id)] = wrap(d.target, &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault})
	}
	settle(d.target, chunk, results, errs)
}

// sharedTrace is the trace id of all the messages at chunk, or "" when they
// differ.
func sharedTrace(ms []destination.Message, chunk []int) string {
	tr := ms[chunk[0]].TraceID
	for _, i := range chunk[1:] {
		if ms[i].TraceID != tr {
			return ""
		}
	}
	return tr
}
