package awsdest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// sqsMaxEntries is the most entries SendMessageBatch takes.
const sqsMaxEntries = 10

type sqsDest struct {
	common
	fifo     bool
	maxBytes int
	conn     lazy[*sqsConn]
}

type sqsConn struct {
	*client
	queueURL string
}

func newSQS(c common, maxBytes int) *sqsDest {
	return &sqsDest{common: c, fifo: strings.HasSuffix(c.target.ARN.Resource, ".fifo"), maxBytes: maxBytes}
}

// MaxRecordBytes is the queue's message size limit: only the body counts,
// and the trace header is a system attribute, which does not.
func (d *sqsDest) MaxRecordBytes() int { return d.maxBytes }

func (d *sqsDest) connect(ctx context.Context) (*sqsConn, error) {
	conn, err := d.conn.get(func() (*sqsConn, error) {
		c, err := d.common.connect(ctx, sqsService, d.target.ARN.Region, "", awsJSON)
		if err != nil {
			return nil, err
		}
		return &sqsConn{client: c, queueURL: queueURL(c.ep, d.target.ARN)}, nil
	})
	if err != nil {
		return nil, d.named(err)
	}
	return conn, nil
}

// queueURL builds the queue URL from the ARN. Requests go to the endpoint
// whatever the URL says, but the service (and LocalStack) finds the queue
// by the URL's ACCOUNT/NAME path, so the URL is the endpoint (a custom
// AWS_ENDPOINT_URL[_SQS], or the regional one of the ARN's partition) plus
// that path.
func queueURL(ep endpoint, queue arn.ARN) string {
	return strings.TrimSuffix(ep.url.String(), "/") + "/" + queue.Account + "/" + queue.Resource
}

// sqsAttribute is a message (system) attribute of type String.
type sqsAttribute struct {
	DataType    string
	StringValue string
}

// sqsMessage is SendMessage's input and SendMessageBatch's entry.
type sqsMessage struct {
	Id                      string `json:",omitempty"`
	QueueUrl                string `json:",omitempty"`
	MessageBody             string
	MessageGroupId          string                  `json:",omitempty"`
	MessageDeduplicationId  string                  `json:",omitempty"`
	MessageSystemAttributes map[string]sqsAttribute `json:",omitempty"`
}

// sqsEntry is the batch entry for m; Send uses the same fields.
func (d *sqsDest) sqsEntry(id string, m destination.Message) sqsMessage {
	e := sqsMessage{Id: id, MessageBody: string(m.Record)}
	if d.fifo {
		e.MessageGroupId = functionName(m)
		e.MessageDeduplicationId = dedupID(m)
	}
	if m.TraceID != "" {
		e.MessageSystemAttributes = map[string]sqsAttribute{
			"AWSTraceHeader": {DataType: "String", StringValue: m.TraceID},
		}
	}
	return e
}

// sqsCall is an SQS operation in AWS JSON 1.0. SQS also speaks the query
// protocol's error codes, which X-Amzn-Query-Mode asks for.
func sqsCall(op string, in any) (call, error) {
	body, err := jsonBody(in)
	if err != nil {
		return call{}, fmt.Errorf("%s: %w", op, err)
	}
	h := jsonHeader("1.0", "AmazonSQS."+op)
	h["X-Amzn-Query-Mode"] = []string{"true"}
	return call{op: op, method: http.MethodPost, header: h, body: body}, nil
}

func (d *sqsDest) Send(ctx context.Context, m destination.Message) error {
	if len(m.Record) > d.maxBytes {
		return tooLargeError(d.target, len(m.Record), d.maxBytes)
	}
	conn, err := d.connect(ctx)
	if err != nil {
		return err
	}
	in := d.sqsEntry("", m)
	in.QueueUrl = conn.queueURL
	k, err := sqsCall("SendMessage", in)
	if err != nil {
		return d.named(err)
	}
	a, err := conn.do(ctx, k)
	if err != nil {
		return wrap(d.target, err)
	}
	var out struct{ MD5OfMessageBody string }
	if err := json.Unmarshal(a.body, &out); err != nil {
		return d.named(fmt.Errorf("SendMessage: reading the answer: %w", err))
	}
	if err := checkMD5(in.MessageBody, out.MD5OfMessageBody); err != nil {
		return d.named(fmt.Errorf("SendMessage: %w", err))
	}
	return nil
}

// checkMD5 compares the digest SQS computed of the body it received with
// the body sent, as the SDK does. A body that is not UTF-8 is sent with
// replacement characters, and not checked.
func checkMD5(body, digest string) error {
	if !utf8.ValidString(body) {
		return nil
	}
	sum := md5.Sum([]byte(body))
	if want := hex.EncodeToString(sum[:]); digest != want {
		return fmt.Errorf("the MD5 of the message body received, %q, is not that of the body sent, %s", digest, want)
	}
	return nil
}

// MaxBatch is the most entries one request takes.
func (d *sqsDest) MaxBatch() int { return sqsMaxEntries }

// SendBatch sends up to 10 messages per SendMessageBatch, within the
// queue's size limit for the whole request.
func (d *sqsDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	size := func(i int) int { return len(ms[i].Record) }
	return sendBatches(ctx, d.target, len(ms), size, sqsMaxEntries, d.maxBytes, d.connect,
		func(conn *sqsConn, chunk []int, errs []error) { d.sendChunk(ctx, conn, ms, chunk, errs) })
}

func (d *sqsDest) sendChunk(ctx context.Context, conn *sqsConn, ms []destination.Message, chunk []int, errs []error) {
	in := struct {
		QueueUrl string
		Entries  []sqsMessage
	}{QueueUrl: conn.queueURL, Entries: make([]sqsMessage, len(chunk))}
	for k, i := range chunk {
		in.Entries[k] = d.sqsEntry(strconv.Itoa(k), ms[i])
	}
	k, err := sqsCall("SendMessageBatch", in)
	if err != nil {
		for _, i := range chunk {
			errs[i] = d.named(err)
		}
		return
	}
	a, err := conn.do(ctx, k)
	if err != nil {
		batchFailed(ctx, d.target, d, ms, chunk, errs, err)
		return
	}
	var out struct {
		Successful []struct{ Id, MD5OfMessageBody string }
		Failed     []struct {
			Id, Code, Message string
			SenderFault       bool
		}
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		err = d.named(fmt.Errorf("SendMessageBatch: reading the answer: %w", err))
		for _, i := range chunk {
			errs[i] = err
		}
		return
	}
	results := make(map[string]error, len(chunk))
	for _, s := range out.Successful {
		results[s.Id] = nil
		if k, err := strconv.Atoi(s.Id); err == nil && k >= 0 && k < len(in.Entries) {
			if err := checkMD5(in.Entries[k].MessageBody, s.MD5OfMessageBody); err != nil {
				results[s.Id] = d.named(fmt.Errorf("SendMessageBatch entry %s: %w", s.Id, err))
			}
		}
	}
	for _, f := range out.Failed {
		results[f.Id] = wrap(d.target, &EntryError{Code: f.Code, Message: f.Message, SenderFault: f.SenderFault})
	}
	settle(d.target, chunk, results, errs)
}
