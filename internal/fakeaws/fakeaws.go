// Package fakeaws runs in-process stand-ins for the AWS services the
// destinations call: SQS (AWS JSON 1.0), SNS (query protocol), EventBridge
// (AWS JSON 1.1), Lambda Invoke (REST JSON), and S3 through gofakes3.
//
// The servers decode requests in the real SDK's wire format as they come
// off the wire, strictly (an unknown field fails the test), check their
// SigV4 signature against the package's credentials by signing them again
// with the SDK's signer, record every call, and fail on demand. Tests send
// the same message through the SDK and through the destinations' own
// clients and compare the decoded calls.
package fakeaws

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The credentials the servers accept: put them in AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY.
const (
	AccessKeyID     = "AKIDFAKEAWS000000000"
	SecretAccessKey = "fakeaws/secret/key/000000000000000000000"
)

// Fault is a failure a server produces on demand.
type Fault int

const (
	Throttle     Fault = iota + 1 // the service's throttling refusal
	ServerError                   // a 500
	TooLarge                      // the service's refusal of a message for its size
	NotFound                      // the queue, topic, bus or function does not exist
	AccessDenied                  // the caller may not do this
	badSignature                  // the Authorization header does not check out
)

// faultTable is how a service spells each Fault: one entry for every one.
type faultTable [badSignature + 1]wireError

// faultQueue holds the whole-request faults asked for and not yet produced.
type faultQueue struct {
	mu   sync.Mutex
	next []Fault
}

// FailNext makes the next n requests fail as a whole with f.
func (q *faultQueue) FailNext(f Fault, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.next = append(q.next, f)
	}
}

// take returns the next fault to produce, 0 for none.
func (q *faultQueue) take() Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.next) == 0 {
		return 0
	}
	f := q.next[0]
	q.next = q.next[1:]
	return f
}

func (q *faultQueue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next = nil
}

func (f Fault) String() string {
	switch f {
	case Throttle:
		return "Throttle"
	case ServerError:
		return "ServerError"
	case TooLarge:
		return "TooLarge"
	case NotFound:
		return "NotFound"
	case AccessDenied:
		return "AccessDenied"
	case badSignature:
		return "badSignature"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Call is one request a server received, decoded.
type Call struct {
	Service   string // signing name: sqs, sns, events, lambda, s3
	Operation string // SendMessage, SendMessageBatch, Publish, PublishBatch, PutEvents, Invoke, PutObject
	Target    string // QueueUrl, TopicArn, function name or bucket; empty for PutEvents
	Method    string
	Path      string
	RawPath   string // Path as sent, escaped
	Query     url.Values
	Header    http.Header
	Auth      Auth
	Entries   []Entry // one per message: the request's own fields for single sends
}

// Entry is one message of a call. Each service fills the fields it has.
type Entry struct {
	ID              string // batch entry id
	Body            string // MessageBody, Message, Detail, Invoke payload, object
	GroupID         string
	DeduplicationID string
	DelaySeconds    int
	Attributes      map[string]Attribute // MessageAttributes
	SystemAttrs     map[string]Attribute // SQS MessageSystemAttributes

	// EventBridge
	EventBusName string
	Source       string
	DetailType   string
	Resources    []string
	TraceHeader  string
	Time         string

	// S3
	Key string

	// SQS, receiving (Queues): a DeleteMessageBatch or
	// ChangeMessageVisibilityBatch entry's receipt handle, the visibility
	// timeout it or a ReceiveMessage call sets, and ReceiveMessage's other
	// parameters.
	ReceiptHandle     string
	VisibilityTimeout int
	MaxMessages       int
	WaitSeconds       int
}

// Attribute is a message attribute.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Auth is what the Authorization header said and whether it checks out.
type Auth struct {
	AccessKeyID   string
	Date          string
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
	Valid         bool   // a SigV4 signature of this very request with SecretAccessKey
	Problem       string // why not, when not Valid
}

// wireError is how a service spells a failure.
type wireError struct {
	status    int
	code      string
	queryCode string // SQS's x-amzn-query-error code
	message   string
	sender    bool
}

// service is what differs between the fakes.
type service interface {
	signingName() string
	decode(r *http.Request, body []byte) (Call, error)
	batch(op string) bool // whether op answers per entry
	writeError(w http.ResponseWriter, e wireError)
	answer(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError)
}

// Server is a fake service on 127.0.0.1 and a free port.
type Server struct {
	URL string
	faultQueue

	tb     testing.TB
	svc    service
	faults *faultTable
	srv    *httptest.Server

	mu      sync.Mutex
	calls   []Call
	entries map[int]Fault
	seq     int
}

func newServer(tb testing.TB, svc service, faults *faultTable) *Server {
	tb.Helper()
	s := &Server{tb: tb, svc: svc, faults: faults}
	// Set up before serving: requests from another process (through a
	// proxy) give the race detector no happens-before edge.
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Start()
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Close stops the server; tests need not call it (Cleanup does).
func (s *Server) Close() { s.srv.Close() }

// Calls returns the calls received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Reset forgets the calls and the pending faults.
func (s *Server) Reset() {
	s.faultQueue.reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.entries = nil, nil
}

// FailEntries makes the next batch request (SendMessageBatch, PublishBatch,
// PutEvents) answer 200 with the entries at these positions failed with f.
func (s *Server) FailEntries(f Fault, positions ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil {
		s.entries = map[int]Fault{}
	}
	for _, p := range positions {
		s.entries[p] = f
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	auth := checkAuth(r, body, s.svc.signingName(), false)
	c, err := s.svc.decode(r, body)
	if err != nil {
		// The SDK sent something the fake does not expect: the test
		// should see it even if the client treats the answer as retryable.
		s.tb.Errorf("fakeaws %s: %s %s: %v", s.svc.signingName(), r.Method, r.URL, err)
		s.svc.writeError(w, wireError{status: 400, code: "FakeAWSUndecodable", message: err.Error(), sender: true})
		return
	}
	c.Service, c.Method, c.Path, c.RawPath, c.Query, c.Header, c.Auth = s.svc.signingName(), r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone(), auth

	fault := s.take()
	s.mu.Lock()
	s.calls = append(s.calls, c)
	var entryFaults map[int]Fault
	if fault == 0 && s.svc.batch(c.Operation) {
		entryFaults, s.entries = s.entries, nil
	}
	s.mu.Unlock()

	switch {
	case !auth.Valid:
		e := s.faults[badSignature]
		e.message += ": " + auth.Problem
		s.svc.writeError(w, e)
	case fault != 0:
		s.svc.writeError(w, s.faults[fault])
	default:
		failed := make(map[int]wireError, len(entryFaults))
		for k, f := range entryFaults {
			failed[k] = s.faults[f]
		}
		s.svc.answer(s, w, c, failed)
	}
}

// checkAuth parses the SigV4 Authorization header and signs the request
// again with the SDK's own signer to compare signatures. A payload hash
// given in X-Amz-Content-Sha256 must be the body's. s3 signs the path as
// sent, without escaping it again.
func checkAuth(r *http.Request, body []byte, service string, s3 bool) Auth {
	var a Auth
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		a.Problem = "no SigV4 Authorization header"
		return a
	}
	fields := parseAuth(h)
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		a.Problem = "malformed Credential " + fields["Credential"]
		return a
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = cred[0], cred[1], cred[2], cred[3]
	a.SignedHeaders = strings.Split(fields["SignedHeaders"], ";")
	a.Signature = fields["Signature"]
	switch {
	case a.AccessKeyID != AccessKeyID:
		a.Problem = "unknown access key " + a.AccessKeyID
		return a
	case a.Service != service:
		a.Problem = fmt.Sprintf("signed for service %q, want %q", a.Service, service)
		return a
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		a.Problem = "bad X-Amz-Date: " + err.Error()
		return a
	}
	if skew := time.Since(t); skew > 5*time.Minute || skew < -5*time.Minute {
		a.Problem = "X-Amz-Date too far from now"
		return a
	}
	again, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		a.Problem = err.Error()
		return a
	}
	again.Host = r.Host
	again.ContentLength = r.ContentLength
	for _, name := range a.SignedHeaders {
		if name == "host" || name == "content-length" {
			continue
		}
		again.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
	}
	sum := sha256.Sum256(body)
	payload := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case payload == "":
		payload = hex.EncodeToString(sum[:])
	case len(payload) == 64 && payload != hex.EncodeToString(sum[:]):
		a.Problem = "X-Amz-Content-Sha256 is not the SHA-256 of the body"
		return a
	}
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s3 })
	if err := signer.SignHTTP(context.Background(), creds, again, payload, service, a.Region, t); err != nil {
		a.Problem = "signing again: " + err.Error()
		return a
	}
	want := parseAuth(strings.TrimPrefix(again.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "))
	if want["Signature"] != a.Signature {
		a.Problem = "signature does not match (signed headers " + want["SignedHeaders"] + ")"
		return a
	}
	a.Valid = true
	return a
}

func parseAuth(h string) map[string]string {
	fields := map[string]string{}
	for _, f := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	return fields
}

// messageID makes the ids the services answer with.
func (s *Server) messageID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// strictJSON decodes a request body, refusing fields v does not have.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
