package awsdest

import (
	"cmp"
	"fmt"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

func TestSNSSend(t *testing.T) {
	tests := []struct {
		name      string
		arn       string
		condition string
		trace     string
		fifo      bool
	}{
		{"success", "arn:aws:sns:eu-central-1:123456789012:records", "Success", traceID, false},
		{"failure without trace", "arn:aws:sns:eu-central-1:123456789012:records", "Failure", "", false},
		{"fifo", "arn:aws:sns:eu-central-1:123456789012:records.fifo", "Failure", traceID, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeaws.NewSNS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SNS", srv.URL)
			m := message(tt.condition, 1024)
			m.TraceID = tt.trace
			if err := newDest(t, tt.arn, Options{}).Send(ctxT(t), m); err != nil {
				t.Fatal(err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			c := calls[0]
			checkAuth(t, c, "sns", "eu-central-1")
			if c.Operation != "Publish" || c.Target != tt.arn {
				t.Errorf("%s to %q, want Publish to %q", c.Operation, c.Target, tt.arn)
			}
			e := c.Entries[0]
			if e.Body != string(m.Record) {
				t.Errorf("Message is not the record:\n%s", e.Body)
			}
			checkAttributes(t, e, tt.condition)
			checkFIFO(t, e, m, tt.fifo)
			if got := c.Header.Get("X-Amzn-Trace-Id"); got != tt.trace {
				t.Errorf("X-Amzn-Trace-Id %q, want %q", got, tt.trace)
			}
		})
	}
}

func checkAttributes(t *testing.T, e fakeaws.Entry, condition string) {
	t.Helper()
	want := map[string]fakeaws.Attribute{
		"condition":    {DataType: "String", StringValue: condition},
		"functionName": {DataType: "String", StringValue: "my-function"},
	}
	if fmt.Sprint(e.Attributes) != fmt.Sprint(want) {
		t.Errorf("MessageAttributes %v, want %v", e.Attributes, want)
	}
}

func TestSNSSendBatch(t *testing.T) {
	srv := fakeaws.NewSNS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SNS", srv.URL)
	arn := "arn:aws:sns:us-east-1:123456789012:records.fifo"
	d := newDest(t, arn, Options{}).(destination.Batcher)
	ms := make([]destination.Message, 12)
	for i := range ms {
		ms[i] = message([]string{"Success", "Failure"}[i%2], 2048)
		ms[i].RequestID = fmt.Sprintf("request-%d", i)
	}
	ms[11].TraceID = "Root=1-other"
	srv.FailEntries(fakeaws.ServerError, 0)
	srv.FailEntries(fakeaws.NotFound, 9)
	errs := d.SendBatch(ctxT(t), ms)
	want := map[int]string{0: "retryable", 9: "permanent"}
	for i, err := range errs {
		if got, w := classOf(err), cmp.Or(want[i], "delivered"); got != w {
			t.Errorf("message %d: %s (%v), want %s", i, got, err, w)
		}
	}
	calls := srv.Calls()
	if len(calls) != 2 || len(calls[0].Entries) != 10 || len(calls[1].Entries) != 2 {
		t.Fatalf("%d requests, want 2 of 10 and 2 entries", len(calls))
	}
	next := 0
	for n, c := range calls {
		checkAuth(t, c, "sns", "us-east-1")
		if c.Operation != "PublishBatch" || c.Target != arn {
			t.Errorf("request %d: %s to %s", n, c.Operation, c.Target)
		}
		for k, e := range c.Entries {
			m := ms[next]
			next++
			if e.ID != fmt.Sprint(k) || e.Body != string(m.Record) {
				t.Errorf("request %d entry %d: id %q or body differ", n, k, e.ID)
			}
			checkAttributes(t, e, m.Condition)
			checkFIFO(t, e, m, true)
		}
	}
	// One trace header per request: only when the entries share it.
	if got := calls[0].Header.Get("X-Amzn-Trace-Id"); got != traceID {
		t.Errorf("first request X-Amzn-Trace-Id %q, want %q", got, traceID)
	}
	if got := calls[1].Header.Get("X-Amzn-Trace-Id"); got != "" {
		t.Errorf("second request (two traces) X-Amzn-Trace-Id %q, want none", got)
	}
}

// SNS counts the attributes in the message size.
func TestSNSSizeCountsAttributes(t *testing.T) {
	srv := fakeaws.NewSNS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SNS", srv.URL)
	d := newDest(t, "arn:aws:sns:us-east-1:123456789012:t", Options{})
	attrs := len("condition") + len("String") + len("Success") + len("functionName") + len("String") + len("my-function")
	if err := d.Send(ctxT(t), message("Success", snsMaxBytes-attrs)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if err := d.Send(ctxT(t), message("Success", snsMaxBytes-attrs+1)); classOf(err) != "too large" {
		t.Fatalf("one byte over: %v, want too large", err)
	}
	if d.(destination.Sizer).MaxRecordBytes() > snsMaxBytes-attrs {
		t.Errorf("MaxRecordBytes %d promises more than fits", d.(destination.Sizer).MaxRecordBytes())
	}
}
