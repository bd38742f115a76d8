package awsdest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

func TestReadSettings(t *testing.T) {
	static := []string{"AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "SECRET"}
	with := func(kv ...string) []string { return append(append([]string(nil), static...), kv...) }
	tests := []struct {
		name      string
		env       []string
		wantErr   string
		source    string
		region    string
		endpoints endpointSettings
	}{
		{name: "nothing", env: nil, wantErr: "no AWS credentials"},
		{name: "key without secret", env: []string{"AWS_ACCESS_KEY_ID", "AKID"}, wantErr: "no AWS credentials"},
		{name: "static", env: static, source: "environment"},
		{name: "old names", env: []string{"AWS_ACCESS_KEY", "AKID", "AWS_SECRET_KEY", "SECRET"}, source: "environment"},
		{name: "static before container", env: with("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"), source: "environment"},
		{name: "container relative", env: []string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
			source: "container endpoint http://169.254.170.2/v2/credentials/abc"},
		{name: "relative before full", env: []string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/"},
			source: "container endpoint http://169.254.170.2/v2/x"},
		{name: "container full loopback", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9001/2018-06-01/credentials"},
			source: "container endpoint http://127.0.0.1:9001/2018-06-01/credentials"},
		{name: "container full localhost", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:9001/"}, source: "container endpoint http://localhost:9001/"},
		{name: "container full EKS", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"}, source: "container endpoint http://169.254.170.23/v1/credentials"},
		{name: "container full EKS IPv6", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[fd00:ec2::23]/v1/credentials"}, source: "container endpoint http://[fd00:ec2::23]/v1/credentials"},
		{name: "container full https anywhere", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x"}, source: "container endpoint https://creds.example.com/x"},
		{name: "container full http elsewhere", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://creds.example.com/x"}, wantErr: "only loopback, ECS and EKS hosts"},
		{name: "container full http public IP", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://8.8.8.8/x"}, wantErr: "only loopback, ECS and EKS hosts"},
		{name: "container full no host", env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "/relative"}, wantErr: "no host"},
		{name: "region", env: with("AWS_REGION", "eu-west-1", "AWS_DEFAULT_REGION", "us-west-2"), source: "environment", region: "eu-west-1"},
		{name: "default region", env: with("AWS_DEFAULT_REGION", "us-west-2"), source: "environment", region: "us-west-2"},
		{name: "fips and dual-stack", env: with("AWS_USE_FIPS_ENDPOINT", "TRUE", "AWS_USE_DUALSTACK_ENDPOINT", "true"), source: "environment",
			endpoints: endpointSettings{fips: true, dualStack: true}},
		{name: "fips false", env: with("AWS_USE_FIPS_ENDPOINT", "false"), source: "environment"},
		{name: "fips invalid", env: with("AWS_USE_FIPS_ENDPOINT", "yes"), wantErr: "AWS_USE_FIPS_ENDPOINT=yes"},
		{name: "endpoints", env: with("AWS_ENDPOINT_URL", "http://localhost:4566", "AWS_ENDPOINT_URL_SQS", "http://localhost:9324",
			"AWS_ENDPOINT_URL_EVENTBRIDGE", "http://localhost:4010", "AWS_ENDPOINT_URL_STS", "http://ignored"), source: "environment",
			endpoints: endpointSettings{global: "http://localhost:4566", services: map[string]string{"SQS": "http://localhost:9324", "EVENTBRIDGE": "http://localhost:4010"}}},
		{name: "endpoints ignored", env: with("AWS_ENDPOINT_URL", "http://localhost:4566", "AWS_ENDPOINT_URL_S3", "http://localhost:9000",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"), source: "environment"},
		{name: "ignore invalid", env: with("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1"), wantErr: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=1"},
	}
	lookup := func(_ context.Context, host string) ([]string, error) {
		switch host {
		case "localhost":
			return []string{"127.0.0.1", "::1"}, nil
		case "creds.example.com":
			return []string{"127.0.0.1", "203.0.113.7"}, nil // one address outside is enough to refuse
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for i := 0; i+1 < len(tt.env); i += 2 {
				env[tt.env[i]] = tt.env[i+1]
			}
			s, err := readSettings(context.Background(), func(k string) string { return env[k] }, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readSettings: %+v, %v; want an error containing %q", s, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.CredentialSource != tt.source || s.Region != tt.region || fmt.Sprint(s.endpoints) != fmt.Sprint(tt.endpoints) {
				t.Errorf("source %q, region %q, endpoints %+v; want %q, %q, %+v", s.CredentialSource, s.Region, s.endpoints, tt.source, tt.region, tt.endpoints)
			}
		})
	}
}

func TestStaticCredentials(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN"}
	s, err := readSettings(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Credentials.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKID" || c.SecretAccessKey != "SECRET" || c.SessionToken != "TOKEN" {
		t.Fatalf("Retrieve: %+v, %v", c, err)
	}
}

// containerCreds serves credentials as Lambda's SnapStart endpoint does
// (and ECS's): the fakes' keys with a session token, for the bearer of
// token.
type containerCreds struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
}

func newContainerCreds(t *testing.T, token string) *containerCreds {
	c := &containerCreds{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests++
		c.mu.Unlock()
		if r.Header.Get("Authorization") == "fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Header.Get("Authorization") != token {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"code": "Unauthorized", "message": "wrong token"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": fakeaws.AccessKeyID, "SecretAccessKey": fakeaws.SecretAccessKey, "Token": "session-token",
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *containerCreds) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// With SnapStart, Lambda gives no keys but a credentials endpoint and its
// token; Warm fetches them once, before the first send.
func TestContainerCredentials(t *testing.T) {
	for _, viaFile := range []bool{false, true} {
		t.Run(fmt.Sprint("token file ", viaFile), func(t *testing.T) {
			creds := newContainerCreds(t, "the-token")
			srv := fakeaws.NewSQS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL, "AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/2018-06-01/credentials")
			os.Unsetenv("AWS_ACCESS_KEY_ID")
			os.Unsetenv("AWS_SECRET_ACCESS_KEY")
			if viaFile {
				file := filepath.Join(t.TempDir(), "token")
				if err := os.WriteFile(file, []byte("the-token"), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale-token") // the file wins
				t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file)
			} else {
				t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "the-token")
			}
			conf := NewConfig()
			conf.Warm(context.Background())
			deadline := time.Now().Add(5 * time.Second)
			for creds.count() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if creds.count() != 1 {
				t.Fatalf("Warm made %d credential requests, want 1", creds.count())
			}
			d := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{Config: conf})
			for range 2 {
				if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
					t.Fatal(err)
				}
			}
			if creds.count() != 1 {
				t.Errorf("%d credential requests, want 1 (cached)", creds.count())
			}
			calls := srv.Calls()
			if len(calls) != 2 || !calls[0].Auth.Valid || calls[0].Header.Get("X-Amz-Security-Token") != "session-token" {
				t.Fatalf("calls %+v: want signed with the session token", calls)
			}
		})
	}
}

// A credentials endpoint that refuses or fails fails the send, retryably,
// naming the destination, after one attempt.
func TestContainerCredentialsRefused(t *testing.T) {
	for _, token := range []string{"wrong", "fail"} {
		t.Run(token, func(t *testing.T) {
			creds := newContainerCreds(t, "the-token")
			srv := fakeaws.NewSQS(t)
			awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL, "AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL, "AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
			os.Unsetenv("AWS_ACCESS_KEY_ID")
			os.Unsetenv("AWS_SECRET_ACCESS_KEY")
			err := newDest(t, "arn:aws:sqs:us-east-1:123456789012:q", Options{}).Send(ctxT(t), message("Success", 100))
			if classOf(err) != "retryable" || !strings.Contains(err.Error(), "credentials") || !strings.Contains(err.Error(), "arn:aws:sqs") {
				t.Fatalf("Send: %v, want a retryable credentials error naming the destination", err)
			}
			if n := len(srv.Calls()); n != 0 {
				t.Errorf("%d requests sent without credentials", n)
			}
			if n := creds.count(); n != 1 {
				t.Errorf("%d credential requests, want 1", n)
			}
		})
	}
}

// A signature refused while the server's clock is minutes away from ours
// is retryable, and the next request is signed with the server's time.
// The same refusal with the clocks in step is permanent.
func TestClockSkewCorrection(t *testing.T) {
	for _, offset := range []time.Duration{10 * time.Minute, -7 * time.Minute, 0} {
		t.Run(offset.String(), func(t *testing.T) {
			var mu sync.Mutex
			var dates []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
				mu.Lock()
				dates = append(dates, d)
				first := len(dates) == 1
				mu.Unlock()
				w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				if first {
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"__type":"InvalidSignatureException","message":"Signature expired: 20261126T000000Z is now earlier than 20261126T000500Z"}`)
					return
				}
				fmt.Fprint(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"1"}]}`)
			}))
			t.Cleanup(srv.Close)
			awsEnv(t, "AWS_ENDPOINT_URL_EVENTBRIDGE", srv.URL)
			d := newDest(t, bus, Options{})
			err := d.Send(ctxT(t), message("Success", 100))
			want := "retryable"
			if offset == 0 {
				want = "permanent"
			}
			if classOf(err) != want {
				t.Fatalf("first Send: %v, want %s", err, want)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != "InvalidSignatureException" || ae.StatusCode != 400 {
				t.Errorf("first Send: %#v, want the APIError", err)
			}
			if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := dates[1].Sub(time.Now()); (got - offset).Abs() > 30*time.Second {
				t.Errorf("second request signed %v from now, want about %v", got.Round(time.Second), offset)
			}
		})
	}
}
