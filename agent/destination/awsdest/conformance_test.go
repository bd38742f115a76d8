package awsdest

// Conformance: the real SDK client (a test-only import) and the destination
// send the same message to a recording fake; the decoded calls must be the
// same. The SDK's inputs are built here from the contract, not from the
// destination's code.

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	bustypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/uuid"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// sdkConfig is the reference clients' configuration: the fakes'
// credentials, the given endpoint.
func sdkConfig(region, endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.AccessKeyID, fakeaws.SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// withTraceHeader sends X-Amzn-Trace-Id with an SDK request.
func withTraceHeader(id string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Build.Add(middleware.BuildMiddlewareFunc("TestTraceHeader",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok && id != "" {
					req.Header.Set("X-Amzn-Trace-Id", id)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
	}
}

// sameCalls compares the calls the SDK made (want) with the destination's
// (got): operation, target, method, path, query, every decoded field, the
// signature's scope, and the given headers.
func sameCalls(t *testing.T, want, got []fakeaws.Call, headers ...string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("the destination made %d calls, the SDK %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !w.Auth.Valid || !g.Auth.Valid {
			t.Errorf("call %d: signature valid: SDK %v (%s), destination %v (%s)", i, w.Auth.Valid, w.Auth.Problem, g.Auth.Valid, g.Auth.Problem)
		}
		type summary struct {
			Service, Operation, Target, Method, Path, RawPath, Query string
			Region, SigningName                                      string
		}
		sum := func(c fakeaws.Call) summary {
			return summary{c.Service, c.Operation, c.Target, c.Method, c.Path, c.RawPath, c.Query.Encode(), c.Auth.Region, c.Auth.Service}
		}
		if sum(w) != sum(g) {
			t.Errorf("call %d:\n destination %+v\n SDK         %+v", i, sum(g), sum(w))
		}
		if !reflect.DeepEqual(w.Entries, g.Entries) {
			t.Errorf("call %d entries:\n destination %+v\n SDK         %+v", i, g.Entries, w.Entries)
		}
		for _, h := range headers {
			if !slices.Equal(w.Header.Values(h), g.Header.Values(h)) {
				t.Errorf("call %d header %s: destination %q, SDK %q", i, h, g.Header.Values(h), w.Header.Values(h))
			}
		}
		if ua := g.Header.Get("User-Agent"); ua != userAgent {
			t.Errorf("call %d: User-Agent %q, want %q", i, ua, userAgent)
		}
	}
}

// batch is three messages: two traces, both conditions, and characters
// that JSON, XML and form encodings escape.
func batch() []destination.Message {
	ms := []destination.Message{message("Success", 400), message("Failure", 600), message("Success", 800)}
	for i := range ms {
		ms[i].RequestID = "request-" + strconv.Itoa(i)
	}
	ms[1].Record = bytes.Replace(ms[1].Record, []byte(`"pad":"`), []byte(`"pad":"<a href='x'>&amp;</a> é \u2028 \t \"q\" +%20 `), 1)
	ms[2].TraceID = "Root=1-other"
	return ms
}

func TestConformanceSQS(t *testing.T) {
	for _, arn := range []string{"arn:aws:sqs:eu-west-1:123456789012:records", "arn:aws:sqs:eu-west-1:123456789012:records.fifo"} {
		t.Run(arn, func(t *testing.T) {
			fifo := arn[len(arn)-5:] == ".fifo"
			sdkSrv, ourSrv := fakeaws.NewSQS(t), fakeaws.NewSQS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SQS", ourSrv.URL)
			queue := "/123456789012/" + map[bool]string{false: "records", true: "records.fifo"}[fifo]
			client := sqs.NewFromConfig(sdkConfig("eu-west-1", sdkSrv.URL))
			entry := func(id string, m destination.Message) sqstypes.SendMessageBatchRequestEntry {
				e := sqstypes.SendMessageBatchRequestEntry{MessageBody: aws.String(string(m.Record))}
				if id != "" {
					e.Id = aws.String(id)
				}
				if fifo {
					e.MessageGroupId = aws.String(m.FunctionName)
					e.MessageDeduplicationId = aws.String(dedupID(m))
				}
				if m.TraceID != "" {
					e.MessageSystemAttributes = map[string]sqstypes.MessageSystemAttributeValue{
						"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(m.TraceID)},
					}
				}
				return e
			}
			ms := batch()
			noTrace := message("Success", 200)
			noTrace.TraceID = ""
			d := newDest(t, arn, Options{})
			for _, m := range []destination.Message{ms[0], noTrace} {
				e := entry("", m)
				if _, err := client.SendMessage(ctxT(t), &sqs.SendMessageInput{
					QueueUrl: aws.String(ourSrv.URL + queue), MessageBody: e.MessageBody, MessageGroupId: e.MessageGroupId,
					MessageDeduplicationId: e.MessageDeduplicationId, MessageSystemAttributes: e.MessageSystemAttributes,
				}); err != nil {
					t.Fatal(err)
				}
				if err := d.Send(ctxT(t), m); err != nil {
					t.Fatal(err)
				}
			}
			var entries []sqstypes.SendMessageBatchRequestEntry
			for i, m := range ms {
				entries = append(entries, entry(strconv.Itoa(i), m))
			}
			if _, err := client.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(ourSrv.URL + queue), Entries: entries}); err != nil {
				t.Fatal(err)
			}
			for i, err := range d.(destination.Batcher).SendBatch(ctxT(t), ms) {
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "X-Amz-Target", "X-Amzn-Query-Mode", "X-Amzn-Trace-Id")
		})
	}
}

func TestConformanceSNS(t *testing.T) {
	for _, arn := range []string{"arn:aws:sns:eu-central-1:123456789012:records", "arn:aws:sns:eu-central-1:123456789012:records.fifo"} {
		t.Run(arn, func(t *testing.T) {
			fifo := arn[len(arn)-5:] == ".fifo"
			sdkSrv, ourSrv := fakeaws.NewSNS(t), fakeaws.NewSNS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SNS", ourSrv.URL)
			client := sns.NewFromConfig(sdkConfig("eu-central-1", sdkSrv.URL))
			attrs := func(m destination.Message) map[string]snstypes.MessageAttributeValue {
				a := map[string]snstypes.MessageAttributeValue{
					"functionName": {DataType: aws.String("String"), StringValue: aws.String(m.FunctionName)},
				}
				if m.Condition != "" {
					a["condition"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.Condition)}
				}
				return a
			}
			group := func(m destination.Message) (*string, *string) {
				if !fifo {
					return nil, nil
				}
				return aws.String(m.FunctionName), aws.String(dedupID(m))
			}
			ms := batch()
			noCondition := message("", 200)
			noCondition.TraceID = ""
			d := newDest(t, arn, Options{})
			for _, m := range []destination.Message{ms[0], noCondition} {
				g, dd := group(m)
				if _, err := client.Publish(ctxT(t), &sns.PublishInput{
					TopicArn: aws.String(arn), Message: aws.String(string(m.Record)), MessageAttributes: attrs(m),
					MessageGroupId: g, MessageDeduplicationId: dd,
				}, func(o *sns.Options) { o.APIOptions = append(o.APIOptions, withTraceHeader(m.TraceID)) }); err != nil {
					t.Fatal(err)
				}
				if err := d.Send(ctxT(t), m); err != nil {
					t.Fatal(err)
				}
			}
			// Two requests: the first two messages share a trace.
			for _, chunk := range [][]destination.Message{ms[:2], ms[:3]} {
				var entries []snstypes.PublishBatchRequestEntry
				for i, m := range chunk {
					g, dd := group(m)
					entries = append(entries, snstypes.PublishBatchRequestEntry{
						Id: aws.String(strconv.Itoa(i)), Message: aws.String(string(m.Record)), MessageAttributes: attrs(m),
						MessageGroupId: g, MessageDeduplicationId: dd,
					})
				}
				trace := sharedTrace(chunk, []int{0, 1, 2}[:len(chunk)])
				if _, err := client.PublishBatch(ctxT(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries},
					func(o *sns.Options) { o.APIOptions = append(o.APIOptions, withTraceHeader(trace)) }); err != nil {
					t.Fatal(err)
				}
				for i, err := range d.(destination.Batcher).SendBatch(ctxT(t), chunk) {
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
				}
			}
			sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "X-Amzn-Trace-Id")
		})
	}
}

func TestConformanceEventBridge(t *testing.T) {
	sdkSrv, ourSrv := fakeaws.NewEventBridge(t), fakeaws.NewEventBridge(t)
	awsEnv(t, "AWS_ENDPOINT_URL_EVENTBRIDGE", ourSrv.URL)
	client := eventbridge.NewFromConfig(sdkConfig("ap-southeast-2", sdkSrv.URL))
	entry := func(m destination.Message) bustypes.PutEventsRequestEntry {
		e := bustypes.PutEventsRequestEntry{
			EventBusName: aws.String(bus), Source: aws.String("lambda"),
			DetailType: aws.String("Lambda Function Invocation Result - " + m.Condition),
			Detail:     aws.String(string(m.Record)), Resources: []string{bus, fnARN},
		}
		if m.TraceID != "" {
			e.TraceHeader = aws.String(m.TraceID)
		}
		return e
	}
	ms := batch()
	ms[1].TraceID = ""
	d := newDest(t, bus, Options{})
	if _, err := client.PutEvents(ctxT(t), &eventbridge.PutEventsInput{Entries: []bustypes.PutEventsRequestEntry{entry(ms[0])}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(ctxT(t), ms[0]); err != nil {
		t.Fatal(err)
	}
	var entries []bustypes.PutEventsRequestEntry
	for _, m := range ms {
		entries = append(entries, entry(m))
	}
	if _, err := client.PutEvents(ctxT(t), &eventbridge.PutEventsInput{Entries: entries}); err != nil {
		t.Fatal(err)
	}
	for i, err := range d.(destination.Batcher).SendBatch(ctxT(t), ms) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "X-Amz-Target", "X-Amzn-Trace-Id")
}

func TestConformanceLambda(t *testing.T) {
	tests := []struct {
		name      string
		arn       string
		function  string
		qualifier string
	}{
		{"by name", "arn:aws:lambda:us-east-1:123456789012:function:handler", "handler", ""},
		{"by name and alias", "arn:aws:lambda:us-east-1:123456789012:function:handler:live", "handler", "live"},
		{"$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:handler:$LATEST", "handler", "$LATEST"},
		{"by ARN", "arn:aws:lambda:us-east-1:210987654321:function:handler:7", "arn:aws:lambda:us-east-1:210987654321:function:handler:7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdkSrv, ourSrv := fakeaws.NewLambda(t), fakeaws.NewLambda(t)
			awsEnv(t, "AWS_ENDPOINT_URL_LAMBDA", ourSrv.URL)
			client := lambda.NewFromConfig(sdkConfig("us-east-1", sdkSrv.URL))
			d := newDest(t, tt.arn, Options{})
			for _, m := range []destination.Message{message("Success", 1024), message("Failure", 10)} {
				if m.Condition == "Failure" {
					m.TraceID = ""
				}
				in := &lambda.InvokeInput{FunctionName: aws.String(tt.function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: m.Record}
				if tt.qualifier != "" {
					in.Qualifier = aws.String(tt.qualifier)
				}
				if _, err := client.Invoke(ctxT(t), in, func(o *lambda.Options) { o.APIOptions = append(o.APIOptions, withTraceHeader(m.TraceID)) }); err != nil {
					t.Fatal(err)
				}
				if err := d.Send(ctxT(t), m); err != nil {
					t.Fatal(err)
				}
			}
			sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "X-Amz-Invocation-Type", "X-Amzn-Trace-Id")
		})
	}
}

func TestConformanceS3(t *testing.T) {
	for _, size := range []int{1024, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			sdkSrv, ourSrv := fakeaws.NewS3(t, "records"), fakeaws.NewS3(t, "records")
			awsEnv(t, "AWS_ENDPOINT_URL_S3", ourSrv.URL)
			client := s3.NewFromConfig(sdkConfig("us-east-1", sdkSrv.URL), func(o *s3.Options) { o.UsePathStyle = true })
			d := newDest(t, "arn:aws:s3:::records", Options{}).(*s3Dest)
			id := uuid.MustParse("0b8e4bd4-5b5d-4a40-9a5a-0d3b8f0c1e2f")
			d.newUUID = func() (uuid.UUID, error) { return id, nil }
			m := message("Failure", size)
			key := s3Key(m.FunctionName, time.Date(2019, 11, 14, 18, 16, 5, 0, time.UTC), id)
			if _, err := client.PutObject(ctxT(t), &s3.PutObjectInput{
				Bucket: aws.String("records"), Key: aws.String(key), Body: bytes.NewReader(m.Record),
				ContentLength: aws.Int64(int64(len(m.Record))), ContentType: aws.String("application/json"),
			}); err != nil {
				t.Fatal(err)
			}
			location, err := d.Store(ctxT(t), m)
			if err != nil {
				t.Fatal(err)
			}
			if location != "s3://records/"+key {
				t.Errorf("location %s, want s3://records/%s", location, key)
			}
			sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "Content-Length", "Content-Md5", "X-Amz-Checksum-Crc32", "Expect")
		})
	}
}
