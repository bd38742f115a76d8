package awsdest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// sqsMaxEntries is the most entries SendMessageBatch takes.
const sqsMaxEntries = 10

type sqsDest struct {
	common
	fifo     bool
	maxBytes int
	conn     lazy[sqsConn]
}

type sqsConn struct {
	client   *sqs.Client
	queueURL string
}

func newSQS(c common, maxBytes int) *sqsDest {
	return &sqsDest{common: c, fifo: strings.HasSuffix(c.target.ARN.Resource, ".fifo"), maxBytes: maxBytes}
}

// MaxRecordBytes is the queue's message size limit: only the body counts,
// and the trace header is a system attribute, which does not.
func (d *sqsDest) MaxRecordBytes() int { return d.maxBytes }

func (d *sqsDest) connect(ctx context.Context) (sqsConn, error) {
	conn, err := d.conn.get(ctx, d.conf, func(cfg aws.Config) (sqsConn, error) {
		client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.Region = d.target.ARN.Region
			if d.http != nil {
				o.HTTPClient = d.http
			}
		})
		u, err := queueURL(ctx, client.Options(), d.target.ARN)
		return sqsConn{client: client, queueURL: u}, err
	})
	if err != nil {
		return conn, d.named(err)
	}
	return conn, nil
}

// queueURL builds the queue URL from the ARN. The SDK sends every call to
// its endpoint whatever the URL says, but the service (and LocalStack) finds
// the queue by the URL's ACCOUNT/NAME path, so the URL is the endpoint the
// client resolved (a custom AWS_ENDPOINT_URL[_SQS], or the regional one of
// the ARN's partition) plus that path.
func queueURL(ctx context.Context, o sqs.Options, arn destination.ARN) (string, error) {
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, sqs.EndpointParameters{
		Region:   aws.String(arn.Region),
		Endpoint: o.BaseEndpoint,
	})
	if err != nil {
		return "", fmt.Errorf("resolving the SQS endpoint: %w", err)
	}
	return strings.TrimSuffix(ep.URI.String(), "/") + "/" + arn.Account + "/" + arn.Resource, nil
}

// sqsEntry is the batch entry for m; Send uses the same fields.
func (d *sqsDest) sqsEntry(id string, m destination.Message) types.SendMessageBatchRequestEntry {
	e := types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(m.Record))}
	if d.fifo {
		e.MessageGroupId = aws.String(functionName(m))
		e.MessageDeduplicationId = aws.String(dedupID(m))
	}
	if m.TraceID != "" {
		e.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {
				DataType: aws.String("String"), StringValue: aws.String(m.TraceID),
			},
		}
	}
	return e
}

func (d *sqsDest) Send(ctx context.Context, m destination.Message) error {
	if len(m.Record) > d.maxBytes {
		return tooLargeError(d.target, len(m.Record), d.maxBytes)
	}
	conn, err := d.connect(ctx)
	if err != nil {
		return err
	}
	e := d.sqsEntry("", m)
	_, err = conn.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:                aws.String(conn.queueURL),
		MessageBody:             e.MessageBody,
		MessageGroupId:          e.MessageGroupId,
		MessageDeduplicationId:  e.MessageDeduplicationId,
		MessageSystemAttributes: e.MessageSystemAttributes,
	})
	if err != nil {
		return wrap(d.target, err)
	}
	return nil
}

// SendBatch sends up to 10 messages per SendMessageBatch, within the
// queue's size limit for the whole request.
func (d *sqsDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	errs := make([]error, len(ms))
	todo := make([]int, 0, len(ms))
	for i, m := range ms {
		if len(m.Record) > d.maxBytes {
			errs[i] = tooLargeError(d.target, len(m.Record), d.maxBytes)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	conn, err := d.connect(ctx)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return errs
	}
	size := func(i int) int { return len(ms[i].Record) }
	for _, chunk := range split(todo, size, sqsMaxEntries, d.maxBytes) {
		d.sendChunk(ctx, conn, ms, chunk, errs)
	}
	return errs
}

func (d *sqsDest) sendChunk(ctx context.Context, conn sqsConn, ms []destination.Message, chunk []int, errs []error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
	for k, i := range chunk {
		entries[k] = d.sqsEntry(strconv.Itoa(k), ms[i])
	}
	out, err := conn.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(conn.queueURL), Entries: entries})
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

// batchFailed records a whole-request failure for every message of chunk.
// A batch refused for its total size is sent again one message at a time,
// so that only the messages really too large are reported so.
func batchFailed(ctx context.Context, t destination.Target, d destination.Destination, ms []destination.Message, chunk []int, errs []error, err error) {
	err = wrap(t, err)
	if errors.Is(err, ErrTooLarge) && len(chunk) > 1 {
		for _, i := range chunk {
			errs[i] = d.Send(ctx, ms[i])
		}
		return
	}
	for _, i := range chunk {
		errs[i] = err
	}
}

// settle reports the per-entry results of a batch answer, keyed by entry
// id (the position in chunk). An entry the answer does not mention is
// reported as a retryable failure.
func settle(t destination.Target, chunk []int, results map[string]error, errs []error) {
	for k, i := range chunk {
		err, ok := results[strconv.Itoa(k)]
		if !ok {
			err = fmt.Errorf("destination %s: the batch answer has no result for entry %d", t.Raw, k)
		}
		errs[i] = err
	}
}
