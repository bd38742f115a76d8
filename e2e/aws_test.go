package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// awsEnv points the extension's AWS clients at the test servers, as a user
// points them at LocalStack: with the SDK's standard variables only.
func awsEnv(sqs, sns, events *fakeaws.Server, s3 *fakeaws.S3, lambda string) map[string]string {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":     fakeaws.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": fakeaws.SecretAccessKey,
		"AWS_REGION":            "us-east-1",
	}
	if sqs != nil {
		env["AWS_ENDPOINT_URL_SQS"] = sqs.URL
	}
	if sns != nil {
		env["AWS_ENDPOINT_URL_SNS"] = sns.URL
	}
	if events != nil {
		env["AWS_ENDPOINT_URL_EVENTBRIDGE"] = events.URL
	}
	if s3 != nil {
		env["AWS_ENDPOINT_URL_S3"] = s3.URL
	}
	if lambda != "" {
		env["AWS_ENDPOINT_URL_LAMBDA"] = lambda
	}
	return env
}

const (
	queueARN  = "arn:aws:sqs:us-east-1:123456789012:records"
	topicARN  = "arn:aws:sns:us-east-1:123456789012:records"
	busARN    = "arn:aws:events:us-east-1:123456789012:event-bus/records"
	bucketARN = "arn:aws:s3:::records"
	// The emulator's own function: the Lambda destination calls it by name.
	functionBARN = "arn:aws:lambda:us-east-1:012345678912:function:function"
)

// TestEveryDestinationKind: one invocation whose success destinations are
// one of each kind delivers one record to each. The Lambda destination is
// a second emulator, whose own layer shows the record it got as its event.
func TestEveryDestinationKind(t *testing.T) {
	sqs, sns, bus := fakeaws.NewSQS(t), fakeaws.NewSNS(t), fakeaws.NewEventBridge(t)
	s3 := fakeaws.NewS3(t, "records")
	hook := newReceiver(t)
	b := start(t, setup{layer: true, env: map[string]string{"DESTINATIONS_ON_SUCCESS": "stdout"}})

	env := awsEnv(sqs, sns, bus, s3, b.InvokeURL())
	env["DESTINATIONS_ON_SUCCESS"] = strings.Join([]string{queueARN, topicARN, busARN, functionBARN, bucketARN, hook.URL(), "stdout"}, ",")
	a := start(t, setup{layer: true, env: env})
	resp := invoke(t, a, "req-a", event(t, "success.json"))
	if resp.Status != 200 || string(resp.Body) != `{"ok":true,"message":"success"}` {
		t.Fatalf("caller got %d %q", resp.Status, resp.Body)
	}

	var want record.Record
	got, err := hook.Wait(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got[0].Body, &want); err != nil {
		t.Fatal(err)
	}
	same := func(what, body string) {
		t.Helper()
		var r record.Record
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Errorf("%s: not a record: %v: %.200s", what, err, body)
			return
		}
		if r.RequestContext != want.RequestContext || string(r.RequestPayload) != string(want.RequestPayload) ||
			string(r.ResponsePayload) != string(want.ResponsePayload) || r.Timestamp != want.Timestamp {
			t.Errorf("%s: record %+v, want %+v", what, r, want)
		}
	}
	one := func(name string, s *fakeaws.Server) fakeaws.Entry {
		t.Helper()
		// The extension delivered before it asked for its next event, and
		// the emulator answered the caller only then: every call is in.
		calls := s.Calls()
		if len(calls) != 1 || len(calls[0].Entries) != 1 {
			t.Fatalf("%s: %d calls: %+v", name, len(calls), calls)
		}
		if !calls[0].Auth.Valid {
			t.Errorf("%s: SigV4 signature not valid: %s", name, calls[0].Auth.Problem)
		}
		return calls[0].Entries[0]
	}
	same("SQS", one("SQS", sqs).Body)
	same("SNS", one("SNS", sns).Body)
	entry := one("EventBridge", bus)
	same("EventBridge", entry.Body)
	if entry.Source != "lambda" || entry.DetailType != "Lambda Function Invocation Result - Success" {
		t.Errorf("EventBridge entry %+v", entry)
	}

	var keys []string
	waitFor(t, 10*time.Second, "the S3 object", func() bool {
		keys, _ = s3.Keys("records")
		return len(keys) == 1
	})
	if !strings.HasPrefix(keys[0], "aws/lambda/async/function/") {
		t.Errorf("S3 key %s", keys[0])
	}
	obj, meta, err := s3.Object("records", keys[0])
	if err != nil {
		t.Fatal(err)
	}
	same("S3", string(obj))
	if ct := meta["Content-Type"]; ct != "application/json" {
		t.Errorf("S3 Content-Type %q", ct)
	}

	// Function B ran with A's record as its event: B's own record says so.
	var fromB map[string]logLine
	waitFor(t, 10*time.Second, "function B's record", func() bool {
		fromB = stdoutRecords(t, b.Output(), "execution record")
		return len(fromB) == 1
	})
	for _, l := range fromB {
		same("Lambda (B's event)", string(l.Record.RequestPayload))
	}
	if n := len(stdoutRecords(t, a.Output(), "execution record")); n != 1 {
		t.Errorf("%d stdout records, want 1", n)
	}
}

// TestOversizeRecord: a 900 KB response to an SNS destination gives SNS a
// record within 256 KiB whose payloads are replaced by markers, and the
// whole record on the log.
func TestOversizeRecord(t *testing.T) {
	sns := fakeaws.NewSNS(t)
	env := awsEnv(nil, sns, nil, nil, "")
	env["DESTINATIONS_ON_SUCCESS"] = topicARN
	e := start(t, setup{layer: true, env: env})
	resp := invoke(t, e, "req-big", []byte(`{"ResponseBytes": 900000}`))
	if resp.Status != 200 || len(resp.Body) != 900000 {
		t.Fatalf("caller got %d, %d bytes", resp.Status, len(resp.Body))
	}
	waitFor(t, 10*time.Second, "the SNS call", func() bool { return len(sns.Calls()) >= 1 })
	body := sns.Calls()[0].Entries[0].Body
	if len(body) > 256<<10 {
		t.Errorf("SNS got %d bytes", len(body))
	}
	var r record.Record
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	var marker struct {
		Omitted bool   `json:"destinationsOmitted"`
		Size    int    `json:"size"`
		Reason  string `json:"reason"`
	}
	if err := json.Unmarshal(r.ResponsePayload, &marker); err != nil || !marker.Omitted || marker.Size != 900000 || !strings.Contains(marker.Reason, topicARN) {
		t.Errorf("responsePayload %s (%v)", r.ResponsePayload, err)
	}
	if r.RequestContext.RequestID != "req-big" {
		t.Errorf("requestContext %+v", r.RequestContext)
	}
	lines := stdoutRecords(t, e.Output(), "oversize record")
	l, ok := lines["req-big"]
	if !ok {
		t.Fatal("no oversize record line on the log")
	}
	if len(l.Record.ResponsePayload) != 900000 || l.Destination != topicARN {
		t.Errorf("logged record holds %d response bytes for %s", len(l.Record.ResponsePayload), l.Destination)
	}
}

// TestClaimCheck: with DESTINATIONS_OVERFLOW_BUCKET, the whole record of an
// oversize invocation goes to the bucket and the destination gets its
// location.
func TestClaimCheck(t *testing.T) {
	sqs := fakeaws.NewSQS(t)
	s3 := fakeaws.NewS3(t, "overflow")
	env := awsEnv(sqs, nil, nil, s3, "")
	env["DESTINATIONS_ON_SUCCESS"] = queueARN
	env["DESTINATIONS_OVERFLOW_BUCKET"] = "overflow"
	e := start(t, setup{layer: true, env: env})
	invoke(t, e, "req-big", []byte(`{"ResponseBytes": 600000}`))
	waitFor(t, 10*time.Second, "the SQS call", func() bool { return len(sqs.Calls()) >= 1 })
	var r record.Record
	if err := json.Unmarshal([]byte(sqs.Calls()[0].Entries[0].Body), &r); err != nil {
		t.Fatal(err)
	}
	var marker struct {
		Location string `json:"location"`
	}
	json.Unmarshal(r.ResponsePayload, &marker)
	key, ok := strings.CutPrefix(marker.Location, "s3://overflow/")
	if !ok {
		t.Fatalf("responsePayload %s", r.ResponsePayload)
	}
	obj, _, err := s3.Object("overflow", key)
	if err != nil {
		t.Fatal(err)
	}
	var whole record.Record
	if err := json.Unmarshal(obj, &whole); err != nil || len(whole.ResponsePayload) != 600000 {
		t.Errorf("stored record: %v, %d response bytes", err, len(whole.ResponsePayload))
	}
	if strings.Contains(e.Output(), `"msg":"oversize record"`) {
		t.Error("with a claim check the record should not also go to the log")
	}
}
