package awsdest

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
	snsVersion = "2010-03-31"
)

type snsDest struct {
	common
	fifo   bool
	client lazy[*client]
}

func newSNS(c common) *snsDest {
	return &snsDest{common: c, fifo: strings.HasSuffix(c.target.ARN.Resource, ".fifo")}
}

// MaxRecordBytes leaves room for the message attributes, which SNS counts
// in the message size.
func (d *snsDest) MaxRecordBytes() int { return snsMaxBytes - snsAttrReserve }

func (d *snsDest) connect(ctx context.Context) (*client, error) {
	return d.regional(ctx, &d.client, snsService, awsQuery)
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

// snsEntry adds the fields of m to a Publish request (prefix "") or to
// PublishBatch's entry (prefix "PublishBatchRequestEntries.member.N.").
// The message attributes are for subscription filter policies; SNS refuses
// empty String values, so what is unknown is left out. Attributes are
// numbered in the order of their names, as the SDK does.
func (d *snsDest) snsEntry(v url.Values, prefix string, m destination.Message) {
	v.Set(prefix+"Message", string(m.Record))
	n := 0
	attr := func(name, value string) {
		if value == "" {
			return
		}
		n++
		p := prefix + "MessageAttributes.entry." + strconv.Itoa(n) + "."
		v.Set(p+"Name", name)
		v.Set(p+"Value.DataType", "String")
		v.Set(p+"Value.StringValue", value)
	}
	attr("condition", m.Condition)
	attr("functionName", functionName(m))
	if d.fifo {
		v.Set(prefix+"MessageGroupId", functionName(m))
		v.Set(prefix+"MessageDeduplicationId", dedupID(m))
	}
}

// snsCall is an SNS operation in the query protocol. The trace header goes
// with the request, where SNS reads it: the trace continues, and Lambda's
// recursive loop detection sees the chain.
func snsCall(op string, v url.Values, trace string) call {
	v.Set("Action", op)
	v.Set("Version", snsVersion)
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if trace != "" {
		h["X-Amzn-Trace-Id"] = []string{trace}
	}
	return call{op: op, method: http.MethodPost, header: h, body: queryBody(v)}
}

func (d *snsDest) Send(ctx context.Context, m destination.Message) error {
	if n := snsSize(m); n > snsMaxBytes {
		return tooLargeError(d.target, n, snsMaxBytes)
	}
	c, err := d.connect(ctx)
	if err != nil {
		return err
	}
	v := url.Values{"TopicArn": {d.target.Raw}}
	d.snsEntry(v, "", m)
	if _, err := c.do(ctx, snsCall("Publish", v, m.TraceID)); err != nil {
		return wrap(d.target, err)
	}
	return nil
}

// MaxBatch is the most entries one request takes.
func (d *snsDest) MaxBatch() int { return snsMaxEntries }

// SendBatch sends up to 10 messages per PublishBatch, within 256 KiB for
// the whole request.
func (d *snsDest) SendBatch(ctx context.Context, ms []destination.Message) []error {
	size := func(i int) int { return snsSize(ms[i]) }
	return sendBatches(ctx, d.target, len(ms), size, snsMaxEntries, snsMaxBytes, d.connect,
		func(c *client, chunk []int, errs []error) { d.sendChunk(ctx, c, ms, chunk, errs) })
}

func (d *snsDest) sendChunk(ctx context.Context, c *client, ms []destination.Message, chunk []int, errs []error) {
	v := url.Values{"TopicArn": {d.target.Raw}}
	for k, i := range chunk {
		prefix := "PublishBatchRequestEntries.member." + strconv.Itoa(k+1) + "."
		v.Set(prefix+"Id", strconv.Itoa(k))
		d.snsEntry(v, prefix, ms[i])
	}
	// One request has one trace header: send it when the batch shares it.
	a, err := c.do(ctx, snsCall("PublishBatch", v, sharedTrace(ms, chunk)))
	if err != nil {
		batchFailed(ctx, d.target, d, ms, chunk, errs, err)
		return
	}
	var out struct {
		Result struct {
			Successful []struct{ Id string } `xml:"Successful>member"`
			Failed     []struct {
				Id, Code, Message string
				SenderFault       bool
			} `xml:"Failed>member"`
		} `xml:"PublishBatchResult"`
	}
	if err := xml.Unmarshal(a.body, &out); err != nil {
		err = d.named(fmt.Errorf("PublishBatch: reading the answer: %w", err))
		for _, i := range chunk {
			errs[i] = err
		}
		return
	}
	results := make(map[string]error, len(chunk))
	for _, s := range out.Result.Successful {
		results[s.Id] = nil
	}
	for _, f := range out.Result.Failed {
		results[f.Id] = wrap(d.target, &EntryError{Code: f.Code, Message: f.Message, SenderFault: f.SenderFault})
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
