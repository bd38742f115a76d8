package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Queues is a fake SQS that keeps what it is sent. Messages sent with
// SendMessage or SendMessageBatch to a queue it holds can be received
// (ReceiveMessage, which hides them for their visibility timeout), shown
// again (ChangeMessageVisibilityBatch) and deleted (DeleteMessageBatch);
// GetQueueUrl finds the queues. Calls, signatures and faults are those of
// Server: a GetQueueUrl call's Target is ACCOUNT/NAME, a ReceiveMessage
// call has one Entry with its parameters, a batch call one per entry.
// ReceiveMessage answers at once, without waiting for messages to come.
type Queues struct {
	*Server
	store *queueStore
}

// QueueMessage is a message a queue holds.
type QueueMessage struct {
	ID       string
	Body     string
	Receives int  // how many times it was received
	Visible  bool // whether a ReceiveMessage would return it now
}

// NewQueues starts a fake SQS holding the given queues (by ARN), empty.
func NewQueues(tb testing.TB, queueARNs ...string) *Queues {
	tb.Helper()
	st := &queueStore{queues: map[string]*fakeQueue{}}
	for _, a := range queueARNs {
		key, err := queueKeyOfARN(a)
		if err != nil {
			tb.Fatalf("fakeaws SQS: %v", err)
		}
		st.queues[key] = &fakeQueue{}
	}
	return &Queues{Server: newServer(tb, sqsQueues{store: st}, sqsFaults), store: st}
}

// Messages returns the messages a queue holds, visible or not, oldest first.
func (q *Queues) Messages(queueARN string) []QueueMessage {
	key, _ := queueKeyOfARN(queueARN)
	q.store.mu.Lock()
	defer q.store.mu.Unlock()
	fq := q.store.queues[key]
	if fq == nil {
		return nil
	}
	now := time.Now()
	out := make([]QueueMessage, 0, len(fq.messages))
	for _, m := range fq.messages {
		out = append(out, QueueMessage{ID: m.id, Body: m.body, Receives: m.receives, Visible: !now.Before(m.visibleAt)})
	}
	return out
}

// Send puts a message in a queue, as SendMessage does, and returns its id.
func (q *Queues) Send(queueARN, body string) string {
	key, _ := queueKeyOfARN(queueARN)
	return q.store.put(key, body, q.messageID())
}

// queueKeyOfARN is ACCOUNT/NAME of arn:PARTITION:sqs:REGION:ACCOUNT:NAME.
func queueKeyOfARN(a string) (string, error) {
	parts := strings.Split(a, ":")
	if len(parts) != 6 || parts[2] != "sqs" {
		return "", fmt.Errorf("%q is not an SQS queue ARN", a)
	}
	return parts[4] + "/" + parts[5], nil
}

// queueKeyOfURL is ACCOUNT/NAME of a queue URL, whatever its host.
func queueKeyOfURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.Trim(p.Path, "/")
}

type queueStore struct {
	mu     sync.Mutex
	queues map[string]*fakeQueue
	seq    int
}

type fakeQueue struct {
	messages []*storedMessage
}

type storedMessage struct {
	id, body  string
	handle    string // of the latest receive; "" before the first
	receives  int
	visibleAt time.Time
}

func (st *queueStore) put(key, body, id string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if fq := st.queues[key]; fq != nil {
		fq.messages = append(fq.messages, &storedMessage{id: id, body: body})
	}
	return id
}

// sqsQueues is the service behind Queues: SQS's sending side as sqsFake
// decodes and answers it, and the receiving side.
type sqsQueues struct {
	sqsFake
	store *queueStore
}

// Requests of the receiving side, decoded strictly.
type (
	getQueueURLRequest struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	receiveRequest struct {
		QueueUrl                    string
		MaxNumberOfMessages         int
		VisibilityTimeout           *int
		WaitTimeSeconds             int
		AttributeNames              []string
		MessageAttributeNames       []string
		MessageSystemAttributeNames []string
		ReceiveRequestAttemptId     string
	}
	receiptRequest struct {
		QueueUrl string
		Entries  []struct {
			Id                string
			ReceiptHandle     string
			VisibilityTimeout *int
		}
	}
)

func (q sqsQueues) batch(op string) bool {
	return op == "SendMessageBatch" || op == "DeleteMessageBatch" || op == "ChangeMessageVisibilityBatch"
}

func (q sqsQueues) decode(r *http.Request, body []byte) (Call, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	switch op {
	case "GetQueueUrl", "ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch":
		if ct := r.Header.Get("Content-Type"); r.Method != http.MethodPost || r.URL.Path != "/" || ct != "application/x-amz-json-1.0" {
			return Call{}, fmt.Errorf("not an SQS JSON call: %s %s Content-Type %q", r.Method, r.URL.Path, ct)
		}
	}
	switch op {
	case "GetQueueUrl":
		var req getQueueURLRequest
		if err := strictJSON(body, &req); err != nil {
			return Call{}, fmt.Errorf("%s body: %w", op, err)
		}
		target := req.QueueName
		if req.QueueOwnerAWSAccountId != "" {
			target = req.QueueOwnerAWSAccountId + "/" + req.QueueName
		}
		return Call{Operation: op, Target: target}, nil
	case "ReceiveMessage":
		var req receiveRequest
		if err := strictJSON(body, &req); err != nil {
			return Call{}, fmt.Errorf("%s body: %w", op, err)
		}
		e := Entry{MaxMessages: req.MaxNumberOfMessages, WaitSeconds: req.WaitTimeSeconds, VisibilityTimeout: -1}
		if req.VisibilityTimeout != nil {
			e.VisibilityTimeout = *req.VisibilityTimeout
		}
		return Call{Operation: op, Target: req.QueueUrl, Entries: []Entry{e}}, nil
	case "DeleteMessageBatch", "ChangeMessageVisibilityBatch":
		var req receiptRequest
		if err := strictJSON(body, &req); err != nil {
			return Call{}, fmt.Errorf("%s body: %w", op, err)
		}
		c := Call{Operation: op, Target: req.QueueUrl}
		for _, e := range req.Entries {
			entry := Entry{ID: e.Id, ReceiptHandle: e.ReceiptHandle}
			if e.VisibilityTimeout != nil {
				entry.VisibilityTimeout = *e.VisibilityTimeout
			}
			c.Entries = append(c.Entries, entry)
		}
		return c, nil
	}
	return q.sqsFake.decode(r, body)
}

func (q sqsQueues) answer(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError) {
	if c.Operation == "GetQueueUrl" {
		q.getQueueURL(s, w, c)
		return
	}
	key := queueKeyOfURL(c.Target)
	q.store.mu.Lock()
	fq := q.store.queues[key]
	q.store.mu.Unlock()
	if fq == nil {
		q.writeError(w, sqsFaults[NotFound])
		return
	}
	switch c.Operation {
	case "SendMessage", "SendMessageBatch":
		q.send(s, w, c, failed, key)
	case "ReceiveMessage":
		q.receive(w, c, fq)
	default:
		q.settle(w, c, failed, fq)
	}
}

func (q sqsQueues) getQueueURL(s *Server, w http.ResponseWriter, c Call) {
	key := c.Target
	if !strings.Contains(key, "/") {
		key = "123456789012/" + key // the caller's own account
	}
	q.store.mu.Lock()
	_, ok := q.store.queues[key]
	q.store.mu.Unlock()
	if !ok {
		q.writeError(w, sqsFaults[NotFound])
		return
	}
	writeJSON(w, 200, "application/x-amz-json-1.0", map[string]string{"QueueUrl": s.URL + "/" + key})
}

// send answers as sqsFake does and keeps the messages it accepted, under
// the ids its answer gives.
func (q sqsQueues) send(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError, key string) {
	rec := httptest.NewRecorder()
	q.sqsFake.answer(s, rec, c, failed)
	var out struct {
		MessageId  string
		Successful []struct{ Id, MessageId string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err == nil {
		if c.Operation == "SendMessage" {
			q.store.put(key, c.Entries[0].Body, out.MessageId)
		}
		for _, ok := range out.Successful {
			for _, e := range c.Entries {
				if e.ID == ok.Id {
					q.store.put(key, e.Body, ok.MessageId)
				}
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// receive returns up to MaxMessages visible messages, oldest first, each
// with a new receipt handle, and hides them for the visibility timeout
// (30 seconds, the default of a queue, when the call sets none).
func (q sqsQueues) receive(w http.ResponseWriter, c Call, fq *fakeQueue) {
	p := c.Entries[0]
	visibility := 30 * time.Second
	if p.VisibilityTimeout >= 0 {
		visibility = time.Duration(p.VisibilityTimeout) * time.Second
	}
	type message struct{ MessageId, ReceiptHandle, MD5OfBody, Body string }
	out := struct{ Messages []message }{Messages: []message{}}
	q.store.mu.Lock()
	now := time.Now()
	for _, m := range fq.messages {
		if len(out.Messages) == max(p.MaxMessages, 1) {
			break
		}
		if now.Before(m.visibleAt) {
			continue
		}
		q.store.seq++
		m.handle = "receipt-" + m.id + "-" + strconv.Itoa(q.store.seq)
		m.receives++
		m.visibleAt = now.Add(visibility)
		out.Messages = append(out.Messages, message{m.id, m.handle, md5Hex(m.body), m.body})
	}
	q.store.mu.Unlock()
	writeJSON(w, 200, "application/x-amz-json-1.0", out)
}

// settle deletes the messages, or sets their visibility, by receipt
// handle: only the handle of a message's latest receive is valid.
func (q sqsQueues) settle(w http.ResponseWriter, c Call, failed map[int]wireError, fq *fakeQueue) {
	type bad struct {
		Id          string
		Code        string
		Message     string
		SenderFault bool
	}
	type ok struct{ Id string }
	out := struct {
		Successful []ok
		Failed     []bad
	}{Successful: []ok{}, Failed: []bad{}}
	q.store.mu.Lock()
	for k, e := range c.Entries {
		if we, isFailed := failed[k]; isFailed {
			out.Failed = append(out.Failed, bad{e.ID, entryCode(we), we.message, we.sender})
			continue
		}
		i := slices.IndexFunc(fq.messages, func(m *storedMessage) bool { return m.handle != "" && m.handle == e.ReceiptHandle })
		if i < 0 {
			out.Failed = append(out.Failed, bad{e.ID, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.", true})
			continue
		}
		if c.Operation == "DeleteMessageBatch" {
			fq.messages = slices.Delete(fq.messages, i, i+1)
		} else {
			fq.messages[i].visibleAt = time.Now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
		}
		out.Successful = append(out.Successful, ok{e.ID})
	}
	q.store.mu.Unlock()
	writeJSON(w, 200, "application/x-amz-json-1.0", out)
}
