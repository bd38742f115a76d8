package fakeaws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// recordingTB keeps the errors a server reports instead of failing.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// signed builds an SQS SendMessage request signed as the SDK would.
func signed(t *testing.T, url, body, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSignatureCheck(t *testing.T) {
	const body = `{"QueueUrl":"http://x/123456789012/q","MessageBody":"hello"}`
	tests := []struct {
		name    string
		req     func(t *testing.T, url string) *http.Request
		status  int
		problem string
	}{
		{"valid", func(t *testing.T, url string) *http.Request { return signed(t, url, body, SecretAccessKey) }, 200, ""},
		{"no Authorization", func(t *testing.T, url string) *http.Request {
			r := signed(t, url, body, SecretAccessKey)
			r.Header.Del("Authorization")
			return r
		}, 403, "no SigV4"},
		{"wrong secret", func(t *testing.T, url string) *http.Request { return signed(t, url, body, "wrong") }, 403, "does not match"},
		{"body changed after signing", func(t *testing.T, url string) *http.Request {
			r := signed(t, url, body, SecretAccessKey)
			changed := strings.Replace(body, "hello", "HELLO", 1)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(changed)), int64(len(changed))
			return r
		}, 403, "does not match"},
		{"signed header changed", func(t *testing.T, url string) *http.Request {
			r := signed(t, url, body, SecretAccessKey)
			r.Header.Set("X-Amz-Date", time.Now().Add(-time.Minute).UTC().Format("20060102T150405Z"))
			return r
		}, 403, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewSQS(t)
			resp, err := http.DefaultClient.Do(tt.req(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls recorded, want 1", len(calls))
			}
			a := calls[0].Auth
			if a.Valid != (tt.problem == "") || !strings.Contains(a.Problem, tt.problem) {
				t.Errorf("Auth %+v, want problem %q", a, tt.problem)
			}
		})
	}
}

// What the fake does not know fails the test that uses it.
func TestStrictDecoding(t *testing.T) {
	tests := []struct {
		name   string
		server func(testing.TB) *Server
		path   string
		header map[string]string
		body   string
		want   string
	}{
		{"SQS unknown field", NewSQS, "/", map[string]string{"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"},
			`{"QueueUrl":"u","MessageBody":"b","Surprise":1}`, "unknown field"},
		{"SQS unknown operation", NewSQS, "/", map[string]string{"X-Amz-Target": "AmazonSQS.PurgeQueue", "Content-Type": "application/x-amz-json-1.0"},
			`{"QueueUrl":"u"}`, "not faked"},
		{"SNS unknown field", NewSNS, "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			"Action=Publish&Version=2010-03-31&TopicArn=t&Message=m&Subject=s", "unexpected fields [Subject]"},
		{"EventBridge wrong content type", NewEventBridge, "/", map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/json"},
			`{"Entries":[{}]}`, "Content-Type"},
		{"Lambda unknown query", NewLambda, "/2015-03-31/functions/f/invocations?Other=1", nil, "", "unexpected query parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			srv := tt.server(rec)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, bytes.NewReader([]byte(tt.body)))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tt.want) {
				t.Errorf("reported %q, want one error containing %q", rec.errs, tt.want)
			}
		})
	}
}

func TestS3(t *testing.T) {
	s := NewS3(t, "a", "b")
	if _, err := s.Backend.PutObject("a", "k", map[string]string{"Content-Type": "text/plain"}, strings.NewReader("v"), 1, nil); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys("a")
	if err != nil || fmt.Sprint(keys) != "[k]" {
		t.Fatalf("Keys: %v, %v", keys, err)
	}
	body, meta, err := s.Object("a", "k")
	if err != nil || string(body) != "v" || meta["Content-Type"] != "text/plain" {
		t.Fatalf("Object: %q %v %v", body, meta, err)
	}
	if _, _, err := s.Object("b", "k"); err == nil {
		t.Fatal("Object of a missing key: no error")
	}
}

// signedPut builds a PutObject request signed as the SDK signs for S3.
func signedPut(t *testing.T, url, key, body, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+"/b/"+key, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: secret}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestS3SignatureCheck(t *testing.T) {
	tests := []struct {
		name    string
		req     func(t *testing.T, url string) *http.Request
		fault   Fault
		status  int
		problem string
	}{
		{"valid", func(t *testing.T, url string) *http.Request {
			return signedPut(t, url, "a/k%3A1", "{}", SecretAccessKey)
		}, 0, 200, ""},
		{"wrong secret", func(t *testing.T, url string) *http.Request { return signedPut(t, url, "k", "{}", "wrong") }, 0, 403, "does not match"},
		{"payload hash not the body's", func(t *testing.T, url string) *http.Request {
			r := signedPut(t, url, "k", "{}", SecretAccessKey)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("[]")), 2
			return r
		}, 0, 403, "X-Amz-Content-Sha256"},
		{"fault", func(t *testing.T, url string) *http.Request { return signedPut(t, url, "k", "{}", SecretAccessKey) }, NotFound, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewS3(t, "b")
			if tt.fault != 0 {
				srv.FailNext(tt.fault, 1)
			}
			resp, err := http.DefaultClient.Do(tt.req(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Operation != "PutObject" || calls[0].Target != "b" {
				t.Fatalf("calls %+v, want one PutObject to b", calls)
			}
			if a := calls[0].Auth; a.Valid != (tt.problem == "") || !strings.Contains(a.Problem, tt.problem) {
				t.Errorf("Auth %+v, want problem %q", a, tt.problem)
			}
			keys, _ := srv.Keys("b")
			if stored := len(keys) == 1; stored != (tt.status == 200) {
				t.Errorf("keys %v after status %d", keys, resp.StatusCode)
			}
			if tt.status == 200 && (keys[0] != "a/k:1" || calls[0].Entries[0].Key != "a/k:1" || calls[0].RawPath != "/b/a/k%3A1") {
				t.Errorf("key %q, recorded %q (raw path %s), want a/k:1", keys[0], calls[0].Entries[0].Key, calls[0].RawPath)
			}
		})
	}
}

// Every fake spells every fault: a fault left out would answer 0.
func TestFaultTablesComplete(t *testing.T) {
	for name, table := range map[string]*faultTable{"sqs": sqsFaults, "sns": snsFaults, "events": busFaults, "lambda": lambdaFaults, "s3": s3Faults} {
		for f := Throttle; f <= badSignature; f++ {
			if e := table[f]; e.status < 400 || e.code == "" || e.message == "" {
				t.Errorf("%s: %s is %+v", name, f, e)
			}
		}
	}
}
