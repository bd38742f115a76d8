package awsdest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

const (
	account   = "123456789012"
	fnARN     = "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST"
	fnARNBare = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
	traceID   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
)

// awsEnv isolates the clients from the machine (no AWS_* of the caller;
// for the SDK's reference clients, no profile files, no IMDS), gives them
// the fakes' credentials and region us-east-1, and sets the given
// variables (AWS_ENDPOINT_URL_SQS…).
func awsEnv(t testing.TB, vars ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", fakeaws.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", fakeaws.SecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")
	for i := 0; i+1 < len(vars); i += 2 {
		t.Setenv(vars[i], vars[i+1])
	}
}

// newDest parses raw and builds its destination with the function's ARN
// and a fresh shared configuration.
func newDest(t testing.TB, raw string, opts Options) destination.Destination {
	t.Helper()
	target, err := destination.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if opts.FunctionARN == "" {
		opts.FunctionARN = fnARN
	}
	d, err := New(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// record is a native execution record of about size bytes.
func record(size int) []byte {
	head := `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"` +
		fnARN + `","condition":"Success","approximateInvokeCount":1},"requestPayload":{"pad":"`
	tail := `"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":null}`
	return []byte(head + strings.Repeat("x", max(size-len(head)-len(tail), 0)) + tail)
}

func message(condition string, size int) destination.Message {
	return destination.Message{
		Record:       record(size),
		Condition:    condition,
		RequestID:    "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
		FunctionARN:  fnARN,
		FunctionName: "my-function",
		TraceID:      traceID,
		Attempt:      1,
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// classOf names the class of a Send error, for table tests.
func classOf(err error) string {
	switch {
	case err == nil:
		return "delivered"
	case errors.Is(err, destination.ErrTooLarge) && errors.Is(err, destination.ErrPermanent):
		return "too large"
	case errors.Is(err, destination.ErrTooLarge):
		return "too large but retryable"
	case errors.Is(err, destination.ErrPermanent):
		return "permanent"
	}
	return "retryable"
}
