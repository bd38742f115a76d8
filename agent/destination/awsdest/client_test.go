package awsdest

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// Each protocol's refusals are read as the SDK reads them.
func TestAPIErrorParsing(t *testing.T) {
	tests := []struct {
		name    string
		proto   protocol
		status  int
		header  map[string]string
		body    string
		code    string
		message string
		id      string
	}{
		{"json __type with namespace", awsJSON, 400, nil,
			`{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`, "ValidationException", "bad", ""},
		{"json query-compatible code", awsJSON, 400, map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender", "X-Amzn-RequestId": "r1"},
			`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", "r1"},
		{"json Message capitalised", awsJSON, 400, nil, `{"__type":"ThrottlingException","Message":"Rate exceeded"}`, "ThrottlingException", "Rate exceeded", ""},
		{"json header type with URI", awsJSON, 400, map[string]string{"X-Amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/"},
			`{"message":"no"}`, "AccessDeniedException", "no", ""},
		{"json code field", awsJSON, 400, nil, `{"code":"SomeCode","message":"m"}`, "SomeCode", "m", ""},
		{"json not JSON", awsJSON, 502, nil, `<html>Bad Gateway</html>`, "", "", ""},
		{"rest json header", restJSON, 404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException", "X-Amzn-RequestId": "r2"},
			`{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:f"}`, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f", "r2"},
		{"query", awsQuery, 404, nil,
			`<?xml version="1.0"?><ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r3</RequestId></ErrorResponse>`,
			"NotFound", "Topic does not exist", "r3"},
		{"rest xml", restXML, 403, map[string]string{"X-Amz-Request-Id": "r4"},
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`, "AccessDenied", "Access Denied", "r4"},
		{"rest xml no body", restXML, 404, nil, ``, "NotFound", "", ""},
		{"rest xml no body 503", restXML, 503, nil, ``, "ServiceUnavailable", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.header {
				resp.Header.Set(k, v)
			}
			c := &client{proto: tt.proto}
			e := c.apiError("Op", resp, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.message || e.RequestID != tt.id || e.StatusCode != tt.status || e.Operation != "Op" {
				t.Errorf("got %+v; want code %q, message %q, request id %q", e, tt.code, tt.message, tt.id)
			}
		})
	}
}

func TestS3RegionFromErrorBody(t *testing.T) {
	resp := &http.Response{StatusCode: 400, Header: http.Header{}}
	body := `<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>`
	e := (&client{proto: restXML}).apiError("PutObject", resp, []byte(body))
	if e.region != "eu-west-1" || e.Code != "AuthorizationHeaderMalformed" {
		t.Fatalf("got %+v", e)
	}
}

// One Send is one attempt, whatever AWS_MAX_ATTEMPTS says: the agent
// retries by itself.
func TestOneAttemptPerSend(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL, "AWS_MAX_ATTEMPTS", "5", "AWS_RETRY_MODE", "adaptive")
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{})
	srv.FailNext(fakeaws.ServerError, 3)
	if err := d.Send(ctxT(t), message("Success", 100)); classOf(err) != "retryable" {
		t.Fatalf("Send: %v, want a retryable error", err)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

// Options.HTTPClient replaces the Config's.
func TestHTTPClientOption(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	var used atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{HTTPClient: client})
	if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
		t.Fatal(err)
	}
	if used.Load() != 1 {
		t.Fatalf("the HTTP client was used %d times, want 1", used.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// With no answer at all (nothing listens), the error is retryable.
func TestConnectionErrorIsRetryable(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	url := srv.URL
	srv.Close()
	awsEnv(t, "AWS_ENDPOINT_URL", url)
	for _, raw := range []string{
		"arn:aws:sqs:us-east-1:123456789012:q",
		"arn:aws:sns:us-east-1:123456789012:t",
		"arn:aws:events:us-east-1:123456789012:event-bus/b",
		"arn:aws:lambda:us-east-1:123456789012:function:f",
		"arn:aws:s3:::b",
	} {
		err := newDest(t, raw, Options{}).Send(ctxT(t), message("Success", 100))
		if classOf(err) != "retryable" || !strings.Contains(err.Error(), raw) {
			t.Errorf("%s: %v, want a retryable error naming the destination", raw, err)
		}
	}
}

// The Config's HTTP client honours HTTP_PROXY. Go reads the proxy settings
// once per process, so the send runs in a child process of this test.
func TestHTTPProxyFromEnvironment(t *testing.T) {
	if os.Getenv("AWSDEST_PROXY_CHILD") != "" {
		t.Skip("parent only")
	}
	proxy := fakeaws.NewSQS(t) // serves absolute-form (proxied) requests too
	cmd := exec.CommandContext(ctxT(t), os.Args[0], "-test.run=^TestHTTPProxyChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AWSDEST_PROXY_CHILD=1",
		"HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	calls := proxy.Calls()
	if len(calls) != 1 || calls[0].Target != "http://sqs.example.invalid/123456789012/q" || !calls[0].Auth.Valid {
		t.Fatalf("through the proxy: %+v, want one signed SendMessage for sqs.example.invalid", calls)
	}
}

func TestHTTPProxyChild(t *testing.T) {
	if os.Getenv("AWSDEST_PROXY_CHILD") == "" {
		t.Skip("run by TestHTTPProxyFromEnvironment")
	}
	// A host that does not resolve: only the proxy can deliver.
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", "http://sqs.example.invalid")
	if err := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).Send(ctxT(t), message("Success", 100)); err != nil {
		t.Fatal(err)
	}
}
