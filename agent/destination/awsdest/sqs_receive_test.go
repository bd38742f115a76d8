package awsdest

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

const failuresQueue = "arn:aws:sqs:eu-west-1:123456789012:failures"

func openQueue(t *testing.T, url string) *Queue {
	t.Helper()
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", url)
	q, err := OpenQueue(ctxT(t), NewConfig(), arn.ARN{Partition: "aws", Service: "sqs", Region: "eu-west-1", Account: account, Resource: "failures"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// The queue's calls are those of the SDK's client, field for field.
func TestConformanceQueue(t *testing.T) {
	sdkSrv, ourSrv := fakeaws.NewQueues(t, failuresQueue), fakeaws.NewQueues(t, failuresQueue)
	for _, s := range []*fakeaws.Queues{sdkSrv, ourSrv} {
		s.Send(failuresQueue, `{"n":1}`)
		s.Send(failuresQueue, `{"n":2} <&> é`)
	}
	q := openQueue(t, ourSrv.URL)
	client := sqs.NewFromConfig(sdkConfig("eu-west-1", sdkSrv.URL))

	got, err := client.GetQueueUrl(ctxT(t), &sqs.GetQueueUrlInput{QueueName: aws.String("failures"), QueueOwnerAWSAccountId: aws.String(account)})
	if err != nil {
		t.Fatal(err)
	}
	sdkMsgs, err := client.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: got.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 120, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := q.Receive(ctxT(t), 10, 2*time.Second, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != 2 || ours[1].Body != `{"n":2} <&> é` || len(sdkMsgs.Messages) != 2 {
		t.Fatalf("received %+v; the SDK %d messages", ours, len(sdkMsgs.Messages))
	}
	if _, err := client.ChangeMessageVisibilityBatch(ctxT(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: got.QueueUrl, Entries: []sqstypes.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("0"), ReceiptHandle: sdkMsgs.Messages[1].ReceiptHandle, VisibilityTimeout: 0},
	}}); err != nil {
		t.Fatal(err)
	}
	for i, err := range q.Release(ctxT(t), ours[1:]) {
		if err != nil {
			t.Errorf("release %d: %v", i, err)
		}
	}
	if _, err := client.DeleteMessageBatch(ctxT(t), &sqs.DeleteMessageBatchInput{QueueUrl: got.QueueUrl, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("0"), ReceiptHandle: sdkMsgs.Messages[0].ReceiptHandle},
	}}); err != nil {
		t.Fatal(err)
	}
	for i, err := range q.Delete(ctxT(t), ours[:1]) {
		if err != nil {
			t.Errorf("delete %d: %v", i, err)
		}
	}

	// The queue URLs name each its own fake; the rest is the same.
	want, gotCalls := sdkSrv.Calls(), ourSrv.Calls()
	for i := range want {
		want[i].Target = strings.Replace(want[i].Target, sdkSrv.URL, ourSrv.URL, 1)
	}
	sameCalls(t, want, gotCalls, "Content-Type", "X-Amz-Target", "X-Amzn-Query-Mode")
	if left := ourSrv.Messages(failuresQueue); len(left) != 1 || !left[0].Visible {
		t.Errorf("left in the queue: %+v", left)
	}
}

func TestQueueErrors(t *testing.T) {
	srv := fakeaws.NewQueues(t, failuresQueue)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	other := arn.ARN{Partition: "aws", Service: "sqs", Region: "eu-west-1", Account: account, Resource: "other"}
	_, err := OpenQueue(ctxT(t), NewConfig(), other)
	if err == nil || !strings.Contains(err.Error(), "queue arn:aws:sqs:eu-west-1:123456789012:other") ||
		!strings.Contains(err.Error(), "NonExistentQueue") {
		t.Errorf("a queue that does not exist: %v", err)
	}

	srv.FailNext(fakeaws.AccessDenied, 1)
	queue := arn.ARN{Partition: "aws", Service: "sqs", Region: "eu-west-1", Account: account, Resource: "failures"}
	if _, err := OpenQueue(ctxT(t), NewConfig(), queue); err == nil || !strings.Contains(err.Error(), "AccessDenied") || Retryable(err) {
		t.Errorf("no permission: %v (retryable %v)", err, Retryable(err))
	}

	q := openQueue(t, srv.URL)
	srv.Send(failuresQueue, "a")
	srv.Send(failuresQueue, "b")
	ms, err := q.Receive(ctxT(t), 10, 0, time.Minute)
	if err != nil || len(ms) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(ms))
	}
	srv.FailEntries(fakeaws.ServerError, 1)
	errs := q.Delete(ctxT(t), ms)
	if errs[0] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "message "+ms[1].ID) || !Retryable(errs[1]) {
		t.Errorf("delete with the second entry failed: %v", errs)
	}
	srv.FailNext(fakeaws.Throttle, 1)
	if errs := q.Release(ctxT(t), ms[1:]); errs[0] == nil || !Retryable(errs[0]) {
		t.Errorf("release throttled: %v", errs)
	}
	if left := srv.Messages(failuresQueue); len(left) != 1 || left[0].Body != "b" {
		t.Errorf("left in the queue: %+v", left)
	}
}

// More messages than one batch request takes go in several.
func TestQueueDeleteInBatchesOfTen(t *testing.T) {
	srv := fakeaws.NewQueues(t, failuresQueue)
	q := openQueue(t, srv.URL)
	var ms []QueueMessage
	for range 23 {
		srv.Send(failuresQueue, "m")
	}
	for len(ms) < 23 {
		got, err := q.Receive(ctxT(t), 10, 0, time.Minute)
		if err != nil || len(got) == 0 {
			t.Fatalf("receive: %v, %d messages", err, len(got))
		}
		ms = append(ms, got...)
	}
	for i, err := range q.Delete(ctxT(t), ms) {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	var sizes []int
	for _, c := range srv.Calls() {
		if c.Operation == "DeleteMessageBatch" {
			sizes = append(sizes, len(c.Entries))
		}
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 10 || sizes[2] != 3 {
		t.Errorf("DeleteMessageBatch sizes %v, want [10 10 3]", sizes)
	}
	if left := srv.Messages(failuresQueue); len(left) != 0 {
		t.Errorf("%d messages left", len(left))
	}
}
