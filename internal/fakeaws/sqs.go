package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// NewSQS starts a fake SQS: SendMessage and SendMessageBatch in AWS JSON
// 1.0, answered with the MD5 digests the SDK checks.
func NewSQS(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, sqsFake{}, sqsFaults)
}

type sqsFake struct{}

type sqsAttr struct {
	DataType         string
	StringValue      string `json:",omitempty"`
	BinaryValue      []byte `json:",omitempty"`
	StringListValues []string
	BinaryListValues [][]byte
}

type sqsMessage struct {
	Id                      string
	QueueUrl                string
	MessageBody             string
	DelaySeconds            int
	MessageGroupId          string
	MessageDeduplicationId  string
	MessageAttributes       map[string]sqsAttr
	MessageSystemAttributes map[string]sqsAttr
}

type sqsRequest struct {
	sqsMessage
	Entries []sqsMessage
}

func (sqsFake) signingName() string { return "sqs" }

func (sqsFake) batch(op string) bool { return op == "SendMessageBatch" }

func (sqsFake) decode(r *http.Request, body []byte) (Call, error) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok || r.Method != http.MethodPost || r.URL.Path != "/" {
		return Call{}, fmt.Errorf("not an SQS JSON call: %s %s X-Amz-Target %q", r.Method, r.URL.Path, r.Header.Get("X-Amz-Target"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		return Call{}, fmt.Errorf("Content-Type %q, want application/x-amz-json-1.0", ct)
	}
	var req sqsRequest
	if err := strictJSON(body, &req); err != nil {
		return Call{}, fmt.Errorf("%s body: %w", op, err)
	}
	c := Call{Operation: op, Target: req.QueueUrl}
	switch op {
	case "SendMessage":
		c.Entries = []Entry{sqsEntry(req.sqsMessage)}
	case "SendMessageBatch":
		for _, m := range req.Entries {
			c.Entries = append(c.Entries, sqsEntry(m))
		}
	default:
		return Call{}, fmt.Errorf("operation %s is not faked", op)
	}
	if c.Target == "" {
		return Call{}, fmt.Errorf("%s without QueueUrl", op)
	}
	return c, nil
}

func sqsEntry(m sqsMessage) Entry {
	conv := func(in map[string]sqsAttr) map[string]Attribute {
		if in == nil {
			return nil
		}
		out := make(map[string]Attribute, len(in))
		for k, v := range in {
			out[k] = Attribute{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue}
		}
		return out
	}
	return Entry{
		ID: m.Id, Body: m.MessageBody, GroupID: m.MessageGroupId, DeduplicationID: m.MessageDeduplicationId,
		DelaySeconds: m.DelaySeconds, Attributes: conv(m.MessageAttributes), SystemAttrs: conv(m.MessageSystemAttributes),
	}
}

// sqsFaults is how SQS spells each fault.
var sqsFaults = &faultTable{
	// SQS throttles with a 403: a test that 4xx alone is not permanent.
	Throttle:    {403, "RequestThrottled", "RequestThrottled", "Rate exceeded", true},
	ServerError: {500, "InternalError", "InternalError", "We encountered an internal error. Please try again.", false},
	TooLarge: {400, "com.amazon.coral.validate#ValidationException", "InvalidParameterValue",
		"One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.", true},
	NotFound: {400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
		"The specified queue does not exist.", true},
	AccessDenied: {403, "com.amazon.coral.service#AccessDeniedException", "AccessDenied",
		"User is not authorized to perform: sqs:sendmessage", true},
	badSignature: {403, "com.amazon.coral.service#InvalidSignatureException", "InvalidClientTokenId",
		"The request signature we calculated does not match the signature you provided", true},
}

func (sqsFake) writeError(w http.ResponseWriter, e wireError) {
	fault := "Receiver"
	if e.sender {
		fault = "Sender"
	}
	if e.queryCode != "" {
		w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+fault)
	}
	writeJSON(w, e.status, "application/x-amz-json-1.0", map[string]string{"__type": e.code, "message": e.message})
}

func (sqsFake) answer(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError) {
	type ok struct {
		Id               string `json:",omitempty"`
		MessageId        string
		MD5OfMessageBody string
		SequenceNumber   string `json:",omitempty"`
	}
	fifo := strings.HasSuffix(c.Target, ".fifo")
	success := func(e Entry) ok {
		r := ok{Id: e.ID, MessageId: s.messageID(), MD5OfMessageBody: md5Hex(e.Body)}
		if fifo {
			r.SequenceNumber = "1" + strings.Repeat("0", 19)
		}
		return r
	}
	if c.Operation == "SendMessage" {
		writeJSON(w, 200, "application/x-amz-json-1.0", success(c.Entries[0]))
		return
	}
	type bad struct {
		Id          string
		Code        string
		Message     string
		SenderFault bool
	}
	out := struct {
		Successful []ok
		Failed     []bad
	}{Successful: []ok{}, Failed: []bad{}}
	for k, e := range c.Entries {
		if we, isFailed := failed[k]; isFailed {
			out.Failed = append(out.Failed, bad{e.ID, entryCode(we), we.message, we.sender})
			continue
		}
		out.Successful = append(out.Successful, success(e))
	}
	writeJSON(w, 200, "application/x-amz-json-1.0", out)
}

// entryCode is the short code a batch answer gives for a failure.
func entryCode(e wireError) string {
	if e.queryCode != "" {
		return e.queryCode
	}
	if i := strings.LastIndex(e.code, "#"); i >= 0 {
		return e.code[i+1:]
	}
	return e.code
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", "fakeaws-"+strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
