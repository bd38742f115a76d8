package fakeaws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

const failuresARN = "arn:aws:sqs:us-east-1:123456789012:failures"

// sdkSQS is the SDK's SQS client on the fake.
func sdkSQS(url string) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
	})
}

// The SDK's own client goes through a message's life: sent, received and
// hidden, shown again, received with a new receipt handle, deleted.
func TestQueuesLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := NewQueues(t, failuresARN)
	c := sdkSQS(q.URL)

	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("failures"), QueueOwnerAWSAccountId: aws.String("123456789012")})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(got.QueueUrl)
	if url != q.URL+"/123456789012/failures" {
		t.Fatalf("QueueUrl %s", url)
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("0"), MessageBody: aws.String("second")},
	}}); err != nil {
		t.Fatal(err)
	}
	q.Send(failuresARN, "third")

	first, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 2, VisibilityTimeout: 600})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Messages) != 2 || aws.ToString(first.Messages[0].MessageId) != aws.ToString(sent.MessageId) || aws.ToString(first.Messages[1].Body) != "second" {
		t.Fatalf("received %+v", first.Messages)
	}
	rest, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Messages) != 1 || aws.ToString(rest.Messages[0].Body) != "third" {
		t.Fatalf("hidden messages received again: %+v", rest.Messages)
	}

	// The first shown again; the second deleted, and a stale handle refused.
	if _, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []sqstypes.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 0},
	}}); err != nil {
		t.Fatal(err)
	}
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Messages) != 1 || aws.ToString(again.Messages[0].Body) != `{"a":1}` ||
		aws.ToString(again.Messages[0].ReceiptHandle) == aws.ToString(first.Messages[0].ReceiptHandle) {
		t.Fatalf("received again %+v", again.Messages)
	}
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("stale"), ReceiptHandle: first.Messages[0].ReceiptHandle},
		{Id: aws.String("second"), ReceiptHandle: first.Messages[1].ReceiptHandle},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Successful) != 1 || aws.ToString(del.Successful[0].Id) != "second" ||
		len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("delete answer %+v %+v", del.Successful, del.Failed)
	}

	left := q.Messages(failuresARN)
	if len(left) != 2 || left[0].Body != `{"a":1}` || left[0].Receives != 2 || left[1].Body != "third" || left[1].Visible {
		t.Errorf("left in the queue: %+v", left)
	}
	for _, call := range q.Calls() {
		if !call.Auth.Valid {
			t.Errorf("%s: %s", call.Operation, call.Auth.Problem)
		}
	}
}

func TestQueuesUnknownQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := NewQueues(t, failuresARN)
	c := sdkSQS(q.URL)
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("other")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("GetQueueUrl of another queue: %v", err)
	}
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL + "/123456789012/other")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("ReceiveMessage from another queue: %v", err)
	}
}
