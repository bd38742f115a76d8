package awsdest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

func TestS3Send(t *testing.T) {
	tests := []struct {
		name    string
		record  []byte
		wantKey string // a pattern
	}{
		{"record time", record(1024), `^aws/lambda/async/my-function/2019/11/14/2019-11-14T18\.16\.05-[0-9a-f-]{36}$`},
		{"record time in another zone", []byte(`{"version":"1.0","timestamp":"2024-03-01T00:30:00.000+02:00"}`),
			`^aws/lambda/async/my-function/2024/02/29/2024-02-29T22\.30\.00-[0-9a-f-]{36}$`},
		{"no timestamp: now", []byte(`{"version":"1.0","requestContext":{}}`),
			`^aws/lambda/async/my-function/2030/01/01/2030-01-01T22\.04\.05-[0-9a-f-]{36}$`},
		{"not JSON: now", []byte(`not json`), `^aws/lambda/async/my-function/2030/01/01/2030-01-01T22\.04\.05-`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeaws.NewS3(t, "records")
			awsEnv(t, "AWS_ENDPOINT_URL_S3", srv.URL)
			d := newDest(t, "arn:aws:s3:::records", Options{}).(*s3Dest)
			// A local time: the key must be in UTC.
			d.now = func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+5", 5*3600)) }
			m := message("Failure", 10)
			m.Record = tt.record
			if err := d.Send(ctxT(t), m); err != nil {
				t.Fatal(err)
			}
			keys, err := srv.Keys("records")
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %v, %v: want one object", keys, err)
			}
			if !regexp.MustCompile(tt.wantKey).MatchString(keys[0]) {
				t.Errorf("key %s, want %s", keys[0], tt.wantKey)
			}
			id, err := uuid.Parse(keys[0][len(keys[0])-36:])
			if err != nil || id.Version() != 4 {
				t.Errorf("key suffix %s: want a v4 UUID (%v)", keys[0][len(keys[0])-36:], err)
			}
			body, meta, err := srv.Object("records", keys[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != string(tt.record) {
				t.Errorf("object is not the record:\n%s", body)
			}
			if ct := meta["Content-Type"]; ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json (metadata %v)", ct, meta)
			}
		})
	}
}

// Two records of the same second get two objects.
func TestS3KeysAreUnique(t *testing.T) {
	srv := fakeaws.NewS3(t, "records")
	awsEnv(t, "AWS_ENDPOINT_URL", srv.URL)
	d := newDest(t, "arn:aws:s3:::records", Options{})
	for range 3 {
		if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := srv.Keys("records"); err != nil || len(keys) != 3 {
		t.Fatalf("keys %v, %v: want 3", keys, err)
	}
}

func TestS3MissingBucketIsPermanent(t *testing.T) {
	srv := fakeaws.NewS3(t)
	awsEnv(t, "AWS_ENDPOINT_URL_S3", srv.URL)
	err := newDest(t, "arn:aws:s3:::nope", Options{}).Send(ctxT(t), message("Success", 100))
	if classOf(err) != "permanent" {
		t.Fatalf("Send: %v, want permanent (NoSuchBucket)", err)
	}
}

// A bucket in another region: the refusal names the region (a redirect
// with X-Amz-Bucket-Region, or a signature for the wrong region with
// <Region>), the error is retryable, and the next send is signed for that
// region.
func TestS3FollowsBucketRegion(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		body   string
	}{
		{"redirect", http.StatusMovedPermanently, "eu-west-1",
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`},
		{"wrong signing region", http.StatusBadRequest, "",
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s3srv := fakeaws.NewS3(t, "records")
			upstream, err := url.Parse(s3srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var regions []string
			proxy := httputil.NewSingleHostReverseProxy(upstream)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				regions = append(regions, strings.Split(r.Header.Get("Authorization"), "/")[2])
				first := len(regions) == 1
				mu.Unlock()
				if first {
					if tt.header != "" {
						w.Header().Set("X-Amz-Bucket-Region", tt.header)
					}
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			awsEnv(t, "AWS_ENDPOINT_URL_S3", front.URL)
			d := newDest(t, "arn:aws:s3:::records", Options{})
			err = d.Send(ctxT(t), message("Success", 100))
			if classOf(err) != "retryable" || !strings.Contains(err.Error(), "eu-west-1") {
				t.Fatalf("first Send: %v, want a retryable error naming eu-west-1", err)
			}
			if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			if got := strings.Join(regions, ","); got != "us-east-1,eu-west-1" {
				t.Errorf("signed for %s, want us-east-1 then eu-west-1", got)
			}
			if c := s3srv.Calls(); len(c) != 1 || !c[0].Auth.Valid || c[0].Auth.Region != "eu-west-1" {
				t.Errorf("S3 calls %+v, want one valid in eu-west-1", c)
			}
		})
	}
}

// Path-style addressing exactly when a custom endpoint is configured; the
// bucket is in the function's region, else AWS_REGION's.
func TestS3Endpoint(t *testing.T) {
	tests := []struct {
		env        []string
		region     string
		want       string
		wantRegion string
	}{
		{nil, "eu-north-1", "https://records.s3.eu-north-1.amazonaws.com", "eu-north-1"},
		{nil, "", "https://records.s3.us-east-1.amazonaws.com", "us-east-1"},
		{[]string{"AWS_REGION", "", "AWS_DEFAULT_REGION", "ca-west-1"}, "", "https://records.s3.ca-west-1.amazonaws.com", "ca-west-1"},
		{[]string{"AWS_ENDPOINT_URL_S3", "http://localhost:4566"}, "eu-north-1", "http://localhost:4566/records", "eu-north-1"},
		{[]string{"AWS_ENDPOINT_URL", "http://localhost:4566"}, "eu-north-1", "http://localhost:4566/records", "eu-north-1"},
		{[]string{"AWS_ENDPOINT_URL_SQS", "http://localhost:4566"}, "eu-north-1", "https://records.s3.eu-north-1.amazonaws.com", "eu-north-1"},
		{[]string{"AWS_ENDPOINT_URL", "http://localhost:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}, "eu-north-1", "https://records.s3.eu-north-1.amazonaws.com", "eu-north-1"},
		{[]string{"AWS_USE_FIPS_ENDPOINT", "true"}, "us-gov-west-1", "https://records.s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
	}
	for _, tt := range tests {
		awsEnv(t, tt.env...)
		d := newDest(t, "arn:aws:s3:::records", Options{Region: tt.region, FunctionARN: "-"}).(*s3Dest)
		c, err := d.connect(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if c.ep.url.String() != tt.want || c.region != tt.wantRegion {
			t.Errorf("%v, region %q: %s in %s, want %s in %s", tt.env, tt.region, c.ep.url, c.region, tt.want, tt.wantRegion)
		}
	}
}
