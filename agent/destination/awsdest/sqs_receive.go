package awsdest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
)

// The receiving side of SQS, for the replay command: the layer only sends,
// and none of this is reachable from it.

// receiveAnswerLimit bounds a ReceiveMessage answer: ten messages of the
// largest size SQS takes, each escaped in JSON (a quote or a control
// character can take up to six bytes), and the envelope.
const receiveAnswerLimit = 10*6*MaxMaxBytes + 1<<20

// Queue is an SQS queue to receive messages from.
type Queue struct {
	ARN arn.ARN
	URL string // as GetQueueUrl gave it
	c   *client
}

// QueueMessage is a message received from a queue.
type QueueMessage struct {
	ID            string
	ReceiptHandle string
	Body          string
}

// OpenQueue finds the URL of the queue with GetQueueUrl, which tells a
// queue that does not exist, or that the credentials may not read, before
// anything is received.
func OpenQueue(ctx context.Context, conf *Config, queue arn.ARN) (*Queue, error) {
	c, err := common{conf: conf}.connect(ctx, sqsService, queue.Region, "", awsJSON)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", queue, err)
	}
	k, err := sqsCall("GetQueueUrl", struct{ QueueName, QueueOwnerAWSAccountId string }{queue.Resource, queue.Account})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", queue, err)
	}
	a, err := c.do(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", queue, err)
	}
	var out struct{ QueueUrl string }
	if err := json.Unmarshal(a.body, &out); err != nil || out.QueueUrl == "" {
		return nil, fmt.Errorf("queue %s: GetQueueUrl: no queue URL in the answer %.200q", queue, a.body)
	}
	return &Queue{ARN: queue, URL: out.QueueUrl, c: c}, nil
}

// Receive takes up to max (at most 10) messages, waiting up to wait for
// one to come, and hides them from other consumers for visibility. The
// body of each is checked against the MD5 digest SQS sends, as the SDK does.
func (q *Queue) Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]QueueMessage, error) {
	in := struct {
		QueueUrl            string
		MaxNumberOfMessages int
		VisibilityTimeout   int
		WaitTimeSeconds     int
	}{q.URL, max, int(visibility / time.Second), int(wait / time.Second)}
	k, err := sqsCall("ReceiveMessage", in)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", q.ARN, err)
	}
	k.answerLimit = receiveAnswerLimit
	a, err := q.c.do(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", q.ARN, err)
	}
	var out struct {
		Messages []struct{ MessageId, ReceiptHandle, MD5OfBody, Body string }
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		return nil, fmt.Errorf("queue %s: ReceiveMessage: reading the answer: %w", q.ARN, err)
	}
	ms := make([]QueueMessage, 0, len(out.Messages))
	for _, m := range out.Messages {
		if err := checkMD5(m.Body, m.MD5OfBody); err != nil {
			return nil, fmt.Errorf("queue %s: ReceiveMessage: message %s: %w", q.ARN, m.MessageId, err)
		}
		ms = append(ms, QueueMessage{ID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body})
	}
	return ms, nil
}

// Delete deletes messages with DeleteMessageBatch, ten at a time. It
// returns one error per message, nil for those deleted.
func (q *Queue) Delete(ctx context.Context, ms []QueueMessage) []error {
	return q.perMessage(ctx, "DeleteMessageBatch", ms, func(id string, m QueueMessage) any {
		return struct{ Id, ReceiptHandle string }{id, m.ReceiptHandle}
	})
}

// Release makes messages visible to consumers again at once, with
// ChangeMessageVisibilityBatch. It returns one error per message.
func (q *Queue) Release(ctx context.Context, ms []QueueMessage) []error {
	return q.perMessage(ctx, "ChangeMessageVisibilityBatch", ms, func(id string, m QueueMessage) any {
		return struct {
			Id, ReceiptHandle string
			VisibilityTimeout int
		}{id, m.ReceiptHandle, 0}
	})
}

// perMessage sends op for ms in requests of ten entries, each made by
// entry with its id, and reads the per-entry answer both operations give.
func (q *Queue) perMessage(ctx context.Context, op string, ms []QueueMessage, entry func(id string, m QueueMessage) any) []error {
	errs := make([]error, len(ms))
	for start := 0; start < len(ms); start += sqsMaxEntries {
		chunk := ms[start:min(start+sqsMaxEntries, len(ms))]
		entries := make([]any, len(chunk))
		for i, m := range chunk {
			entries[i] = entry(strconv.Itoa(i), m)
		}
		results, err := q.entries(ctx, op, entries)
		for i, m := range chunk {
			switch e, ok := results[strconv.Itoa(i)]; {
			case err != nil:
				errs[start+i] = fmt.Errorf("queue %s: message %s: %w", q.ARN, m.ID, err)
			case !ok:
				errs[start+i] = fmt.Errorf("queue %s: message %s: %s: the answer has no result for it", q.ARN, m.ID, op)
			case e != nil:
				errs[start+i] = fmt.Errorf("queue %s: message %s: %s: %w", q.ARN, m.ID, op, e)
			}
		}
	}
	return errs
}

// entries sends one batch request and returns its result per entry id.
func (q *Queue) entries(ctx context.Context, op string, entries []any) (map[string]error, error) {
	k, err := sqsCall(op, struct {
		QueueUrl string
		Entries  []any
	}{q.URL, entries})
	if err != nil {
		return nil, err
	}
	a, err := q.c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	var out struct {
		Successful []struct{ Id string }
		Failed     []struct {
			Id, Code, Message string
			SenderFault       bool
		}
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	results := make(map[string]error, len(entries))
	for _, s := range out.Successful {
		results[s.Id] = nil
	}
	for _, f := range out.Failed {
		results[f.Id] = &EntryError{Code: f.Code, Message: f.Message, SenderFault: f.SenderFault}
	}
	return results, nil
}
