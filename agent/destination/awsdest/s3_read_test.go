package awsdest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// putObjects stores objects through the fake's backend, without a call.
func putObjects(t *testing.T, srv *fakeaws.S3, bucket string, objects map[string]string) {
	t.Helper()
	for key, body := range objects {
		if _, err := srv.Backend.PutObject(bucket, key, map[string]string{"Content-Type": "application/json"},
			bytes.NewReader([]byte(body)), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Listing and reading make the calls the SDK's client makes.
func TestConformanceBucket(t *testing.T) {
	objects := map[string]string{
		"aws/lambda/async/f/2019/11/14/2019-11-14T18.16.05-a": `{"n":1}`,
		"aws/lambda/async/f/2019/11/14/2019-11-14T18.16.06-b": `{"n":2}`,
		"aws/lambda/async/g/2019/11/14/2019-11-14T18.16.07-c": `{"n":3}`,
		"other/a key with spaces+plus":                        `{"n":4}`,
	}
	sdkSrv, ourSrv := fakeaws.NewS3(t, "records"), fakeaws.NewS3(t, "records")
	putObjects(t, sdkSrv, "records", objects)
	putObjects(t, ourSrv, "records", objects)
	awsEnv(t, "AWS_ENDPOINT_URL_S3", ourSrv.URL)
	client := s3.NewFromConfig(sdkConfig("us-east-1", sdkSrv.URL), func(o *s3.Options) { o.UsePathStyle = true })
	b := OpenBucket(NewConfig(), "records")

	for _, prefix := range []string{"aws/lambda/async/f/", ""} {
		in := &s3.ListObjectsV2Input{Bucket: aws.String("records")}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		page, err := client.ListObjectsV2(ctxT(t), in)
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, o := range page.Contents {
			want = append(want, aws.ToString(o.Key))
		}
		if err := b.List(ctxT(t), prefix, func(key string) error { got = append(got, key); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("prefix %q: keys %q, the SDK %q", prefix, got, want)
		}
	}
	for _, key := range []string{"aws/lambda/async/g/2019/11/14/2019-11-14T18.16.07-c", "other/a key with spaces+plus"} {
		if _, err := client.GetObject(ctxT(t), &s3.GetObjectInput{Bucket: aws.String("records"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		body, err := b.Get(ctxT(t), key, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != objects[key] {
			t.Errorf("%s: %q, want %q", key, body, objects[key])
		}
	}
	sameCalls(t, sdkSrv.Calls(), ourSrv.Calls())
}

func TestBucketErrors(t *testing.T) {
	srv := fakeaws.NewS3(t, "records")
	putObjects(t, srv, "records", map[string]string{"big": strings.Repeat("x", 100)})
	awsEnv(t, "AWS_ENDPOINT_URL_S3", srv.URL)
	b := OpenBucket(NewConfig(), "records")
	if _, err := b.Get(ctxT(t), "big", 99); err == nil || !strings.Contains(err.Error(), "s3://records/big: the object is larger than 99 bytes") {
		t.Errorf("an object over the limit: %v", err)
	}
	if body, err := b.Get(ctxT(t), "big", 100); err != nil || len(body) != 100 {
		t.Errorf("an object at the limit: %v, %d bytes", err, len(body))
	}
	if _, err := b.Get(ctxT(t), "missing", 100); err == nil || !strings.Contains(err.Error(), "s3://records/missing") || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("a missing object: %v", err)
	}
	srv.FailNext(fakeaws.AccessDenied, 1)
	err := b.List(ctxT(t), "aws/", func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "listing s3://records/aws/") || !strings.Contains(err.Error(), "AccessDenied") || Retryable(err) {
		t.Errorf("listing without permission: %v", err)
	}
	missing := OpenBucket(NewConfig(), "missing")
	if err := missing.List(ctxT(t), "", func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("listing a bucket that does not exist: %v", err)
	}
}

// A listing of several pages follows the continuation tokens, and a
// bucket in another region is asked again there.
func TestBucketPagesAndRegion(t *testing.T) {
	var mu sync.Mutex
	var seen []string // signing region and query of each request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		region := strings.Split(auth[strings.Index(auth, "Credential=")+len("Credential="):], "/")[2]
		mu.Lock()
		seen = append(seen, region+" "+r.URL.RawQuery)
		mu.Unlock()
		if region != "eu-north-1" {
			w.Header().Set("X-Amz-Bucket-Region", "eu-north-1")
			w.WriteHeader(http.StatusMovedPermanently)
			fmt.Fprint(w, `<Error><Code>PermanentRedirect</Code><Message>elsewhere</Message></Error>`)
			return
		}
		switch r.URL.Query().Get("continuation-token") {
		case "":
			fmt.Fprint(w, `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/1+</NextContinuationToken><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></ListBucketResult>`)
		case "t/1+":
			fmt.Fprint(w, `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>c</Key></Contents></ListBucketResult>`)
		default:
			http.Error(w, "bad token", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	awsEnv(t, "AWS_ENDPOINT_URL_S3", srv.URL)
	b := OpenBucket(NewConfig(), "records")
	var keys []string
	if err := b.List(ctxT(t), "p", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Errorf("keys %q", keys)
	}
	want := []string{
		"us-east-1 list-type=2&prefix=p",
		"eu-north-1 list-type=2&prefix=p",
		"eu-north-1 continuation-token=t%2F1%2B&list-type=2&prefix=p",
	}
	if !slices.Equal(seen, want) {
		t.Errorf("requests %q, want %q", seen, want)
	}
}
