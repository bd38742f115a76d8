package awsdest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	case errors.Is(err, ErrTooLarge) && errors.Is(err, destination.ErrPermanent):
		return "too large"
	case errors.Is(err, ErrTooLarge):
		return "too large but retryable"
	case errors.Is(err, destination.ErrPermanent):
		return "permanent"
	}
	return "retryable"
}

func TestNew(t *testing.T) {
	tests := []struct {
		raw     string
		opts    Options
		wantErr string
		batcher bool
	}{
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", batcher: true},
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", opts: Options{SQSMaxBytes: MaxMaxBytes + 1}, wantErr: "SQS size limit"},
		{raw: "arn:aws:sqs:us-east-1:123456789012:q", opts: Options{SQSMaxBytes: -1}, wantErr: "SQS size limit"},
		{raw: "arn:aws:sns:us-east-1:123456789012:t", batcher: true},
		{raw: "arn:aws:events:us-east-1:123456789012:event-bus/b", batcher: true},
		{raw: "arn:aws:events:us-east-1:123456789012:event-bus/b", opts: Options{EventBridgeMaxBytes: 2 << 20}, wantErr: "EventBridge size limit"},
		{raw: "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{raw: "arn:aws:s3:::bucket"},
		{raw: "https://example.com/hook", wantErr: "not an AWS destination"},
		{raw: "stdout", wantErr: "not an AWS destination"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			target, err := destination.Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(target, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.raw) {
					t.Fatalf("New: %v, want an error naming %q and %q", err, tt.raw, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := d.(Sizer); !ok {
				t.Error("not a Sizer")
			}
			if _, ok := d.(Batcher); ok != tt.batcher {
				t.Errorf("Batcher: %v, want %v", ok, tt.batcher)
			}
		})
	}
}

func TestMaxRecordBytes(t *testing.T) {
	bus := "arn:aws:events:us-east-1:123456789012:event-bus/b"
	busOverhead := len("lambda") + len(busSuccess) + len(bus)
	tests := []struct {
		raw  string
		opts Options
		want int
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q", Options{}, 262144},
		{"arn:aws:sqs:us-east-1:123456789012:q", Options{SQSMaxBytes: 1 << 20}, 1048576},
		{"arn:aws:sns:us-east-1:123456789012:t", Options{}, 262144 - 104},
		{bus, Options{FunctionARN: fnARN}, 262144 - busOverhead - len(fnARNBare)},
		{bus, Options{FunctionARN: "unknown"}, 262144 - busOverhead - maxFunctionARN},
		{bus, Options{FunctionARN: fnARN, EventBridgeMaxBytes: 1 << 20}, 1048576 - busOverhead - len(fnARNBare)},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", Options{}, 1048576 - 1024},
	}
	for _, tt := range tests {
		d := newDest(t, tt.raw, tt.opts)
		if got := d.(Sizer).MaxRecordBytes(); got != tt.want {
			t.Errorf("%s %+v: MaxRecordBytes %d, want %d", tt.raw, tt.opts, got, tt.want)
		}
	}
	if got := newDest(t, "arn:aws:s3:::b", Options{}).(Sizer).MaxRecordBytes(); got < 1<<30 {
		t.Errorf("S3: MaxRecordBytes %d, want no practical limit", got)
	}
}

// countingConfig is a Config that counts its reads of the environment,
// and fails or blocks a read when fail says so.
func countingConfig(loads *atomic.Int32, fail func(n int32) error) *Config {
	c := NewConfig()
	read := c.read
	c.read = func(ctx context.Context) (*Settings, error) {
		n := loads.Add(1)
		if fail != nil {
			if err := fail(n); err != nil {
				return nil, err
			}
		}
		return read(ctx)
	}
	return c
}

func TestConfigLoadsOnceAndShares(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, nil)
	conf.Warm(context.Background())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			s, err := conf.Load(ctxT(t))
			if err != nil || s.Region != "us-east-1" || s.CredentialSource != "environment" {
				t.Errorf("Load: %+v, %v", s, err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("loaded %d times, want 1", n)
	}
	s, _ := conf.Load(ctxT(t))
	creds, err := s.Credentials.Retrieve(ctxT(t))
	if err != nil || creds.AccessKeyID != fakeaws.AccessKeyID {
		t.Errorf("credentials %+v, %v", creds, err)
	}
}

func TestConfigRetriesFailedLoad(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, func(n int32) error {
		if n == 1 {
			return errors.New("no config yet")
		}
		return nil
	})
	if _, err := conf.Load(ctxT(t)); err == nil || !strings.Contains(err.Error(), "no config yet") {
		t.Fatalf("first Load: %v, want the load error", err)
	}
	if _, err := conf.Load(ctxT(t)); err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if _, err := conf.Load(ctxT(t)); err != nil || loads.Load() != 2 {
		t.Fatalf("third Load: %v after %d loads, want the second one kept", err, loads.Load())
	}
}

// A caller that gives up waiting does not fail the load for the others.
func TestConfigLoadHonoursContext(t *testing.T) {
	awsEnv(t)
	release := make(chan struct{})
	var loads atomic.Int32
	conf := countingConfig(&loads, func(int32) error { <-release; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := conf.Load(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load: %v, want the deadline", err)
	}
	close(release)
	if _, err := conf.Load(ctxT(t)); err != nil {
		t.Fatalf("Load after release: %v", err)
	}
}

// Every destination shares one configuration and builds its client once,
// even under concurrent first sends.
func TestConcurrentFirstSends(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	var loads atomic.Int32
	conf := countingConfig(&loads, nil)
	a := newDest(t, "arn:aws:sqs:us-east-1:123456789012:a", Options{Config: conf})
	b := newDest(t, "arn:aws:sqs:us-east-1:123456789012:b", Options{Config: conf})
	var wg sync.WaitGroup
	for i := range 16 {
		d := a
		if i%2 == 1 {
			d = b
		}
		wg.Go(func() {
			if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("configuration loaded %d times, want 1", n)
	}
	if n := len(srv.Calls()); n != 16 {
		t.Errorf("%d calls, want 16", n)
	}
	if a.(*sqsDest).conn.value == b.(*sqsDest).conn.value {
		t.Error("two destinations share one client; want one each (their regions may differ)")
	}
	if a.(*sqsDest).conn.value.http != b.(*sqsDest).conn.value.http {
		t.Error("two destinations have their own HTTP clients; want the Config's, one pool of connections")
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

func TestClassifyAPI(t *testing.T) {
	tests := []struct {
		status int
		code   string
		msg    string
		sender bool
		want   class
	}{
		{400, "ThrottlingException", "", true, retryable},
		{403, "RequestThrottled", "", true, retryable},
		{429, "Throttled", "", true, retryable},
		{429, "", "", true, retryable},
		{408, "", "", true, retryable},
		{400, "KMS.ThrottlingException", "", true, retryable},
		{409, "ResourceConflictException", "The operation cannot be performed at this time.", true, retryable},
		{500, "InternalError", "", false, retryable},
		{503, "SlowDown", "", false, retryable},
		{502, "KMSAccessDeniedException", "", false, retryable},
		{301, "PermanentRedirect", "", false, retryable},
		{400, "AWS.SimpleQueueService.NonExistentQueue", "", true, permanent},
		{403, "AccessDenied", "", true, permanent},
		{404, "NotFound", "Topic does not exist", true, permanent},
		{404, "ResourceNotFoundException", "", true, permanent},
		{400, "InvalidParameter", "Invalid parameter: TopicArn", true, permanent},
		{400, "InvalidParameterValue", "Value for parameter MessageGroupId is invalid.", true, permanent},
		{400, "InvalidParameter", "Invalid parameter: Message too long", true, tooLarge},
		{400, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.", true, tooLarge},
		{400, "ValidationException", "Total size of the entries in the request is over the limit.", true, tooLarge},
		{413, "RequestTooLargeException", "", true, tooLarge},
		{413, "", "", true, tooLarge},
		{400, "BatchRequestTooLong", "", true, tooLarge},
		{400, "EntityTooLarge", "", true, tooLarge},
		// batch entries: SenderFault decides what the code does not
		{0, "InternalError", "", false, retryable},
		{0, "InvalidMessageContents", "", true, permanent},
		{0, "SomethingNew", "", false, retryable},
		{0, "InvalidArgument", "Event size exceeds the maximum size limit of 262144 bytes.", true, tooLarge},
		{0, "InternalFailure", "", true, retryable},
	}
	for _, tt := range tests {
		if got := classifyAPI(tt.status, tt.code, tt.msg, tt.sender); got != tt.want {
			t.Errorf("classifyAPI(%d, %q, %q, %v) = %d, want %d", tt.status, tt.code, tt.msg, tt.sender, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	sizes := []int{5, 5, 5, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	tests := []struct {
		entries, bytes int
		want           string
	}{
		{10, 100, "[[0 1 2 3 4 5 6 7 8 9] [10 11 12 13 14]]"},
		{10, 10, "[[0 1] [2] [3 4] [5 6 7 8 9 10 11 12 13 14]]"},
		{3, 10, "[[0 1] [2] [3 4] [5 6 7] [8 9 10] [11 12 13] [14]]"},
		{10, 4, "[[0] [1] [2] [3] [4 5 6 7] [8 9 10 11] [12 13 14]]"}, // an entry over the limit goes alone
	}
	for _, tt := range tests {
		got := split(idx, func(i int) int { return sizes[i] }, tt.entries, tt.bytes)
		if s := fmt.Sprint(got); s != tt.want {
			t.Errorf("split(%d entries, %d bytes) = %s, want %s", tt.entries, tt.bytes, s, tt.want)
		}
	}
}

func TestDedupID(t *testing.T) {
	m := message("Success", 10)
	id := dedupID(m)
	if len(id) > 128 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("dedup id %q: want at most 128 characters of the allowed alphabet", id)
	}
	if dedupID(m) != id {
		t.Error("the same message (a resend by the agent) has another id")
	}
	m2 := m
	m2.Attempt = 2
	if dedupID(m2) == id {
		t.Error("another attempt of the request has the same id: SQS would drop it as a duplicate")
	}
	m3 := m
	m3.RequestID = "other"
	if dedupID(m3) == id {
		t.Error("another request has the same id")
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

// A configuration that does not load fails the send, retryably, naming the
// destination.
func TestConfigErrorNamesDestination(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, func(int32) error { return errors.New("broken profile") })
	for _, raw := range []string{
		"arn:aws:sqs:us-east-1:123456789012:q",
		"arn:aws:sns:us-east-1:123456789012:t",
		"arn:aws:events:us-east-1:123456789012:event-bus/b",
		"arn:aws:lambda:us-east-1:123456789012:function:f",
		"arn:aws:s3:::b",
	} {
		err := newDest(t, raw, Options{Config: conf}).Send(ctxT(t), message("Success", 100))
		if classOf(err) != "retryable" || !strings.Contains(err.Error(), raw) || !strings.Contains(err.Error(), "broken profile") {
			t.Errorf("%s: %v, want a retryable error naming the destination and the cause", raw, err)
		}
	}
}
