package awsdest

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// checkAuth asserts a SigV4 signature of the call, for service in region.
func checkAuth(t *testing.T, c fakeaws.Call, service, region string) {
	t.Helper()
	if !c.Auth.Valid {
		t.Errorf("%s: Authorization does not check out: %s", c.Operation, c.Auth.Problem)
	}
	if c.Auth.Service != service || c.Auth.Region != region || c.Auth.AccessKeyID != fakeaws.AccessKeyID {
		t.Errorf("%s: signed as %s/%s/%s, want %s/%s/%s", c.Operation,
			c.Auth.AccessKeyID, c.Auth.Region, c.Auth.Service, fakeaws.AccessKeyID, region, service)
	}
}

func TestSQSSend(t *testing.T) {
	tests := []struct {
		name     string
		arn      string
		trace    string
		wantURL  string // after the server's URL
		wantFIFO bool
	}{
		{"standard", "arn:aws:sqs:eu-west-1:123456789012:records", traceID, "/123456789012/records", false},
		{"no trace", "arn:aws:sqs:eu-west-1:123456789012:records", "", "/123456789012/records", false},
		{"fifo", "arn:aws:sqs:eu-west-1:123456789012:records.fifo", traceID, "/123456789012/records.fifo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeaws.NewSQS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
			d := newDest(t, tt.arn, Options{})
			m := message("Failure", 1024)
			m.TraceID = tt.trace
			if err := d.Send(ctxT(t), m); err != nil {
				t.Fatal(err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			c := calls[0]
			// The region is the queue's, not AWS_REGION's.
			checkAuth(t, c, "sqs", "eu-west-1")
			if c.Operation != "SendMessage" || c.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" {
				t.Errorf("operation %s (X-Amz-Target %q), want SendMessage", c.Operation, c.Header.Get("X-Amz-Target"))
			}
			if c.Target != srv.URL+tt.wantURL {
				t.Errorf("QueueUrl %q, want %q", c.Target, srv.URL+tt.wantURL)
			}
			e := c.Entries[0]
			if e.Body != string(m.Record) {
				t.Errorf("MessageBody is not the record:\n%s", e.Body)
			}
			if len(e.Attributes) != 0 || e.DelaySeconds != 0 {
				t.Errorf("message attributes %v, delay %d: want none", e.Attributes, e.DelaySeconds)
			}
			checkFIFO(t, e, m, tt.wantFIFO)
			wantSys := map[string]fakeaws.Attribute(nil)
			if tt.trace != "" {
				wantSys = map[string]fakeaws.Attribute{"AWSTraceHeader": {DataType: "String", StringValue: tt.trace}}
			}
			if fmt.Sprint(e.SystemAttrs) != fmt.Sprint(wantSys) {
				t.Errorf("MessageSystemAttributes %v, want %v", e.SystemAttrs, wantSys)
			}
		})
	}
}

func checkFIFO(t *testing.T, e fakeaws.Entry, m destination.Message, fifo bool) {
	t.Helper()
	switch {
	case !fifo && (e.GroupID != "" || e.DeduplicationID != ""):
		t.Errorf("group %q, deduplication %q on a standard queue or topic", e.GroupID, e.DeduplicationID)
	case fifo && e.GroupID != m.FunctionName:
		t.Errorf("MessageGroupId %q, want the function name %q", e.GroupID, m.FunctionName)
	case fifo && (e.DeduplicationID != dedupID(m) || len(e.DeduplicationID) > 128):
		t.Errorf("MessageDeduplicationId %q, want %q", e.DeduplicationID, dedupID(m))
	}
}

// The queue URL follows the endpoint: regional by partition without a
// custom one, ENDPOINT/ACCOUNT/NAME with one.
func TestQueueURL(t *testing.T) {
	tests := []struct {
		arn      string
		endpoint string
		want     string
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q", "", "https://sqs.us-east-1.amazonaws.com/123456789012/q"},
		{"arn:aws:sqs:eu-west-1:123456789012:q.fifo", "", "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo"},
		{"arn:aws-cn:sqs:cn-north-1:123456789012:q", "", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"},
		{"arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q", "", "https://sqs.us-gov-west-1.amazonaws.com/123456789012/q"},
		{"arn:aws:sqs:us-east-1:000000000000:q", "http://localhost:4566", "http://localhost:4566/000000000000/q"},
		{"arn:aws:sqs:us-east-1:000000000000:q", "http://localhost:4566/", "http://localhost:4566/000000000000/q"},
	}
	for _, tt := range tests {
		target, err := destination.Parse(tt.arn)
		if err != nil {
			t.Fatal(err)
		}
		ep, err := endpointSettings{global: tt.endpoint}.resolve(sqsService, target.ARN.Region, "")
		if err != nil {
			t.Fatal(err)
		}
		got := queueURL(ep, target.ARN)
		if got != tt.want {
			t.Errorf("queueURL(%s, %q) = %q, %v; want %q", tt.arn, tt.endpoint, got, err, tt.want)
		}
	}
}

// AWS_ENDPOINT_URL (for all services) works as AWS_ENDPOINT_URL_SQS does.
func TestSQSGlobalEndpoint(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL", srv.URL)
	if err := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).Send(ctxT(t), message("Success", 10)); err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls(); len(c) != 1 || c[0].Target != srv.URL+"/123456789012/q" {
		t.Fatalf("calls %+v", c)
	}
}

func TestSQSSendBatch(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q.fifo", Options{}).(destination.Batcher)
	ms := make([]destination.Message, 25)
	for i := range ms {
		ms[i] = message("Success", 1024)
		ms[i].RequestID = fmt.Sprintf("request-%d", i)
	}
	srv.FailEntries(fakeaws.Throttle, 1)
	srv.FailEntries(fakeaws.TooLarge, 3)
	srv.FailEntries(fakeaws.AccessDenied, 5)
	errs := d.SendBatch(ctxT(t), ms)
	want := map[int]string{1: "retryable", 3: "too large", 5: "permanent"}
	for i, err := range errs {
		if got, w := classOf(err), cmp.Or(want[i], "delivered"); got != w {
			t.Errorf("message %d: %s (%v), want %s", i, got, err, w)
		}
	}
	calls := srv.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3 (10+10+5)", len(calls))
	}
	next := 0
	for n, c := range calls {
		checkAuth(t, c, "sqs", "us-east-1")
		if c.Operation != "SendMessageBatch" || c.Target != srv.URL+"/123456789012/q.fifo" {
			t.Errorf("request %d: %s to %s", n, c.Operation, c.Target)
		}
		for k, e := range c.Entries {
			m := ms[next]
			next++
			if e.ID != fmt.Sprint(k) || e.Body != string(m.Record) || e.SystemAttrs["AWSTraceHeader"].StringValue != traceID {
				t.Errorf("request %d entry %d: id %q, trace %q", n, k, e.ID, e.SystemAttrs["AWSTraceHeader"].StringValue)
			}
			checkFIFO(t, e, m, true)
		}
	}
	if next != len(ms) {
		t.Errorf("%d entries sent, want %d", next, len(ms))
	}
}

// Requests stay within the queue's size limit, and a record over it is
// refused without a request.
func TestSQSSendBatchSizes(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).(destination.Batcher)
	ms := []destination.Message{
		message("Success", 100<<10), message("Success", 100<<10), message("Success", 100<<10),
		message("Success", 300<<10), message("Success", 1<<10),
	}
	errs := d.SendBatch(ctxT(t), ms)
	for i, want := range []string{"delivered", "delivered", "delivered", "too large", "delivered"} {
		if got := classOf(errs[i]); got != want {
			t.Errorf("message %d: %s (%v), want %s", i, got, errs[i], want)
		}
	}
	var sizes []string
	for _, c := range srv.Calls() {
		total := 0
		for _, e := range c.Entries {
			total += len(e.Body)
		}
		if total > DefaultMaxBytes {
			t.Errorf("a request of %d bytes", total)
		}
		sizes = append(sizes, fmt.Sprint(len(c.Entries)))
	}
	if got := strings.Join(sizes, ","); got != "2,2" {
		t.Errorf("entries per request %s, want 2,2", got)
	}
}

// A batch refused for its total size is sent again message by message.
func TestSQSBatchTooLongFallsBackToSingles(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).(destination.Batcher)
	srv.FailNext(fakeaws.TooLarge, 1)
	ms := []destination.Message{message("Success", 100), message("Failure", 100), message("Success", 100)}
	for i, err := range d.SendBatch(ctxT(t), ms) {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	var ops []string
	for _, c := range srv.Calls() {
		ops = append(ops, c.Operation)
	}
	if got := strings.Join(ops, ","); got != "SendMessageBatch,SendMessage,SendMessage,SendMessage" {
		t.Errorf("operations %s", got)
	}
}

// Each fault the services produce lands in the right class, for every
// destination that calls a faked service.
func TestSendErrorClasses(t *testing.T) {
	type fake interface {
		FailNext(fakeaws.Fault, int)
		Calls() []fakeaws.Call
	}
	type dest struct {
		arn    string
		env    string
		server func(testing.TB) (string, fake)
	}
	server := func(f func(testing.TB) *fakeaws.Server) func(testing.TB) (string, fake) {
		return func(tb testing.TB) (string, fake) { s := f(tb); return s.URL, s }
	}
	dests := []dest{
		{"arn:aws:sqs:us-east-1:123456789012:q", "AWS_ENDPOINT_URL_SQS", server(fakeaws.NewSQS)},
		{"arn:aws:sns:us-east-1:123456789012:t", "AWS_ENDPOINT_URL_SNS", server(fakeaws.NewSNS)},
		{"arn:aws:events:us-east-1:123456789012:event-bus/b", "AWS_ENDPOINT_URL_EVENTBRIDGE", server(fakeaws.NewEventBridge)},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "AWS_ENDPOINT_URL_LAMBDA", server(fakeaws.NewLambda)},
		{"arn:aws:s3:::b", "AWS_ENDPOINT_URL_S3", func(tb testing.TB) (string, fake) { s := fakeaws.NewS3(tb, "b"); return s.URL, s }},
	}
	faults := []struct {
		fault fakeaws.Fault
		want  string
	}{
		{0, "delivered"},
		{fakeaws.Throttle, "retryable"},
		{fakeaws.ServerError, "retryable"},
		{fakeaws.TooLarge, "too large"},
		{fakeaws.NotFound, "permanent"},
		{fakeaws.AccessDenied, "permanent"},
	}
	for _, dd := range dests {
		for _, f := range faults {
			name := "ok"
			if f.fault != 0 {
				name = f.fault.String()
			}
			t.Run(dd.arn+"/"+name, func(t *testing.T) {
				url, srv := dd.server(t)
				awsEnv(t, dd.env, url)
				d := newDest(t, dd.arn, Options{})
				if f.fault != 0 {
					srv.FailNext(f.fault, 1)
				}
				err := d.Send(ctxT(t), message("Success", 1024))
				t.Log(err)
				if got := classOf(err); got != f.want {
					t.Fatalf("Send: %s (%v), want %s", got, err, f.want)
				}
				if err != nil && !strings.Contains(err.Error(), dd.arn) {
					t.Errorf("error %q does not name the destination", err)
				}
				if n := len(srv.Calls()); n != 1 {
					t.Errorf("%d attempts, want 1", n)
				}
			})
		}
	}
}

// A signature the service rejects (wrong secret) is permanent, and the fake
// does see a bad signature.
func TestBadSignatureIsPermanent(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL, "AWS_SECRET_ACCESS_KEY", "wrong")
	err := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).Send(ctxT(t), message("Success", 10))
	if !errors.Is(err, destination.ErrPermanent) {
		t.Fatalf("Send: %v, want a permanent error", err)
	}
	if c := srv.Calls(); len(c) != 1 || c[0].Auth.Valid {
		t.Fatalf("the fake accepted a wrong signature: %+v", c)
	}
}

// A record over the limit is refused before any request.
func TestTooLargeBeforeSending(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{SQSMaxBytes: 2048})
	if err := d.Send(ctxT(t), message("Success", 2049)); classOf(err) != "too large" {
		t.Fatalf("Send: %v, want too large", err)
	}
	if err := d.Send(ctxT(t), message("Success", 2048)); err != nil {
		t.Fatalf("Send at the limit: %v", err)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
