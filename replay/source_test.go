package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

const queueARN = "arn:aws:sqs:eu-west-1:123456789012:failures"

// fakeAWS points the AWS clients at the fakes, and nowhere else.
func fakeAWS(t *testing.T, vars ...string) *awsdest.Config {
	t.Helper()
	fakeaws.Env(t, append([]string{"AWS_REGION", "eu-west-1"}, vars...)...)
	return awsdest.NewConfig()
}

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in      string
		want    From
		wantErr string
	}{
		{"log:out.log", From{Kind: "log", Path: "out.log"}, ""},
		{"log:-", From{Kind: "log", Path: "-"}, ""},
		{"sqs:" + queueARN, From{Kind: "sqs", Queue: arn.ARN{Partition: "aws", Service: "sqs", Region: "eu-west-1", Account: "123456789012", Resource: "failures"}}, ""},
		{"s3:records/aws/lambda/async/orders/", From{Kind: "s3", Bucket: "records", Prefix: "aws/lambda/async/orders/"}, ""},
		{"s3://records", From{Kind: "s3", Bucket: "records"}, ""},
		{"log:", From{}, "want log:PATH"},
		{"sqs:arn:aws:sqs:eu-west-1:1234:failures", From{}, "malformed sqs ARN"},
		{"sqs:arn:aws:sns:eu-west-1:123456789012:topic", From{}, "not an SQS queue ARN"},
		{"sqs:https://sqs.eu-west-1.amazonaws.com/123456789012/failures", From{}, "want sqs:arn:aws:sqs:REGION:ACCOUNT:QUEUE"},
		{"s3:", From{}, "no bucket name"},
		{"file.log", From{}, "want log:PATH, sqs:QUEUE_ARN or s3:BUCKET/PREFIX"},
	}
	for _, tt := range tests {
		got, err := ParseFrom(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFrom(%q): %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFrom(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestLogSourceErrors(t *testing.T) {
	if _, _, err := OpenLog("log:nope", filepath.Join(t.TempDir(), "nope.log"), nil); err == nil || !strings.Contains(err.Error(), "nope.log") {
		t.Errorf("a missing file: %v", err)
	}
	src, closeLog, err := OpenLog("log:-", "-", strings.NewReader("START RequestId: x\nEND RequestId: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	if _, err := src.Next(context.Background()); err == nil || err.Error() != "log:-: no execution records in 2 lines" {
		t.Errorf("a log without records: %v", err)
	}
}

// A queue's messages are deleted when re-driven, and the others shown again
// at the end; a message that is not a record is named, and stays.
func TestSQSSource(t *testing.T) {
	srv := fakeaws.NewQueues(t, queueARN)
	conf := fakeAWS(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	for i, ev := range []string{`{"n":"ok"}`, `{"n":"fail"}`} {
		b, _ := json.Marshal(withEvent(string(rune('a'+i)), ev))
		srv.Send(queueARN, string(b))
	}
	srv.Send(queueARN, "hello")
	from, err := ParseFrom("sqs:" + queueARN)
	if err != nil {
		t.Fatal(err)
	}
	q, err := awsdest.OpenQueue(context.Background(), conf, from.Queue)
	if err != nil {
		t.Fatal(err)
	}
	s, err := (&Runner{Filter: Filter{Condition: "Failure"}, Target: Target{Type: "Event"}, Invoker: &fakeInvoker{}}).Run(context.Background(), SQSSource("sqs:"+queueARN, q, "Event", 0))
	if err != nil {
		t.Fatal(err)
	}
	left := srv.Messages(queueARN)
	var bodies []string
	for _, m := range left {
		if !m.Visible {
			t.Errorf("message %s still hidden", m.ID)
		}
		bodies = append(bodies, m.Body)
	}
	if len(left) != 2 || !strings.Contains(bodies[0], `"fail"`) || bodies[1] != "hello" {
		t.Errorf("left in the queue: %q", bodies)
	}
	if s.Deleted != 1 || s.Succeeded != 1 || s.FailedAgain != 1 || s.SkippedReasons[KindUnreadable] != 1 {
		t.Errorf("summary %+v", s)
	}
	var visibility []int
	for _, c := range srv.Calls() {
		if c.Operation == "ReceiveMessage" {
			visibility = append(visibility, c.Entries[0].VisibilityTimeout, c.Entries[0].WaitSeconds)
		}
	}
	if !slices.Equal(visibility, []int{300, 2, 300, 2}) {
		t.Errorf("receives (visibility, wait): %v", visibility)
	}
}

func TestVisibilityFor(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		rate float64
		want time.Duration
	}{
		{"Event", 0, 5 * time.Minute},
		{"RequestResponse", 0, 20 * time.Minute},
		{"Event", 0.1, 5*time.Minute + 100*time.Second},
		{"Event", 0.0001, 12 * time.Hour},
	} {
		if got := visibilityFor(tt.typ, tt.rate); got != tt.want {
			t.Errorf("visibilityFor(%s, %v) = %v, want %v", tt.typ, tt.rate, got, tt.want)
		}
	}
}

// A bucket's objects are read in the native layout, each a record.
func TestS3Source(t *testing.T) {
	srv := fakeaws.NewS3(t, "records")
	conf := fakeAWS(t, "AWS_ENDPOINT_URL_S3", srv.URL)
	put := func(key, body string) {
		if _, err := srv.Backend.PutObject("records", key, map[string]string{}, bytes.NewReader([]byte(body)), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := json.Marshal(withEvent("a", `{"n":1}`))
	b, _ := json.Marshal(withEvent("b", `{"n":2}`))
	put("aws/lambda/async/orders/2024/05/01/2024-05-01T12.00.00-0001", string(a))
	put("aws/lambda/async/orders/2024/05/01/2024-05-01T12.00.01-0002", string(b))
	put("aws/lambda/async/orders/2024/05/01/2024-05-01T12.00.02-0003", "not a record")
	put("aws/lambda/async/other/2024/05/01/2024-05-01T12.00.00-0004", string(a))

	inv := &fakeInvoker{}
	src := S3Source("s3:records/aws/lambda/async/orders/", awsdest.OpenBucket(conf, "records"), "records", "aws/lambda/async/orders/")
	s, err := (&Runner{Target: Target{Type: "Event"}, Invoker: inv}).Run(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.events(); !slices.Equal(got, []string{`{"n":1}`, `{"n":2}`}) {
		t.Errorf("events %q", got)
	}
	if s.Read != 3 || s.Skipped != 1 || !strings.HasSuffix(s.Records[2].Where, "12.00.02-0003") {
		t.Errorf("summary %+v", s)
	}

	empty := S3Source("s3:records/nothing/", awsdest.OpenBucket(conf, "records"), "records", "nothing/")
	if _, err := (&Runner{Invoker: inv}).Run(context.Background(), empty); err == nil || !strings.Contains(err.Error(), "no objects under s3://records/nothing/") {
		t.Errorf("an empty prefix: %v", err)
	}
}
