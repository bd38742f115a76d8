package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// What the agent does when the AWS services answer with throttling, 500s,
// partial batch failures or refusals: the real clients against servers that
// decode their requests.

func newWireAgent(t *testing.T, vars map[string]string) (*Agent, *syncBuffer) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", fakeaws.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", fakeaws.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	for k, v := range vars {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") {
			t.Setenv(k, v)
		}
	}
	environ := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_REGION": "us-east-1"}
	maps.Copy(environ, vars)
	cfg, err := config.Parse(environ)
	if err != nil {
		t.Fatal(err)
	}
	sdk := awsdest.NewConfig()
	var out syncBuffer
	a, err := New(Options{
		Config: cfg, Stdout: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AWS: func(tg destination.Target) (destination.Destination, error) {
			return awsdest.New(tg, awsdest.Options{Config: sdk, Region: "us-east-1", Account: "123456789012"})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, &out
}

func inv(id string) invocation.Invocation {
	body := []byte(`{"id":"` + id + `"}`)
	return invocation.Invocation{
		RequestID: id, InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
		Request: invocation.Payload{Bytes: body, Size: int64(len(body))}, Response: invocation.Payload{Bytes: body, Size: int64(len(body))},
		End: time.Now(), Attempt: 1, TraceID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
	}
}

func budget(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestThrottledThenDelivered(t *testing.T) {
	sqs := fakeaws.NewSQS(t)
	sqs.FailNext(fakeaws.Throttle, 1)
	sqs.FailNext(fakeaws.ServerError, 1)
	a, out := newWireAgent(t, map[string]string{
		"AWS_ENDPOINT_URL_SQS":    sqs.URL,
		"DESTINATIONS_ON_SUCCESS": "arn:aws:sqs:us-east-1:123456789012:q",
	})
	a.Completed(budget(t), inv("r1"))
	calls := sqs.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (throttled, 500, delivered)", len(calls))
	}
	if out.String() != "" {
		t.Errorf("log: %s", out)
	}
}

func TestPartialBatchResendsOnlyFailed(t *testing.T) {
	for _, svc := range []string{"sqs", "sns", "events"} {
		t.Run(svc, func(t *testing.T) {
			var srv *fakeaws.Server
			vars := map[string]string{"DESTINATIONS_FLUSH": "background"}
			switch svc {
			case "sqs":
				srv = fakeaws.NewSQS(t)
				vars["AWS_ENDPOINT_URL_SQS"], vars["DESTINATIONS_ON_SUCCESS"] = srv.URL, "arn:aws:sqs:us-east-1:123456789012:q"
			case "sns":
				srv = fakeaws.NewSNS(t)
				vars["AWS_ENDPOINT_URL_SNS"], vars["DESTINATIONS_ON_SUCCESS"] = srv.URL, "arn:aws:sns:us-east-1:123456789012:t"
			case "events":
				srv = fakeaws.NewEventBridge(t)
				vars["AWS_ENDPOINT_URL_EVENTBRIDGE"], vars["DESTINATIONS_ON_SUCCESS"] = srv.URL, "arn:aws:events:us-east-1:123456789012:event-bus/b"
			}
			a, out := newWireAgent(t, vars)
			srv.FailEntries(fakeaws.Throttle, 1, 3)
			for i := range 5 {
				a.Add(inv(fmt.Sprintf("r%d", i)))
			}
			a.Shutdown(budget(t))
			calls := srv.Calls()
			if len(calls) != 2 || len(calls[0].Entries) != 5 || len(calls[1].Entries) != 2 {
				t.Fatalf("calls: %d, entries %v", len(calls), entryCounts(calls))
			}
			for _, e := range calls[1].Entries {
				var r struct{ RequestContext struct{ RequestID string } }
				json.Unmarshal([]byte(e.Body), &r)
				if id := r.RequestContext.RequestID; id != "r1" && id != "r3" {
					t.Errorf("resent %s", id)
				}
			}
			if out.String() != "" {
				t.Errorf("log: %s", out)
			}
		})
	}
}

func entryCounts(calls []fakeaws.Call) []int {
	var n []int
	for _, c := range calls {
		n = append(n, len(c.Entries))
	}
	return n
}

func TestRefusedIsLoggedNotRetried(t *testing.T) {
	for _, fault := range []fakeaws.Fault{fakeaws.AccessDenied, fakeaws.NotFound} {
		t.Run(fault.String(), func(t *testing.T) {
			sns := fakeaws.NewSNS(t)
			sns.FailNext(fault, 1)
			a, out := newWireAgent(t, map[string]string{
				"AWS_ENDPOINT_URL_SNS":    sns.URL,
				"DESTINATIONS_ON_FAILURE": "arn:aws:sns:us-east-1:123456789012:t",
			})
			failed := inv("r1")
			failed.Outcome = invocation.Error
			a.Completed(budget(t), failed)
			if n := len(sns.Calls()); n != 1 {
				t.Errorf("%d calls, want 1: not retried", n)
			}
			log := out.String()
			if !strings.Contains(log, `"msg":"undelivered record"`) || !strings.Contains(log, `"requestId":"r1"`) ||
				!strings.Contains(log, "arn:aws:sns:us-east-1:123456789012:t") {
				t.Errorf("log: %s", log)
			}
		})
	}
}
