package fakeaws

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is gofakes3 with its memory backend on 127.0.0.1 and a free port.
// It serves path-style requests; it does not check signatures.
type S3 struct {
	URL     string
	Backend *s3mem.Backend
}

// NewS3 starts an S3 server holding the given (empty) buckets.
func NewS3(tb testing.TB, buckets ...string) *S3 {
	tb.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			tb.Fatalf("fakeaws S3: creating bucket %s: %v", b, err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	return &S3{URL: srv.URL, Backend: backend}
}

// Object returns an object's bytes and metadata (Content-Type among them).
func (s *S3) Object(bucket, key string) ([]byte, map[string]string, error) {
	obj, err := s.Backend.GetObject(bucket, key, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return b, obj.Metadata, nil
}

// Keys lists the keys of a bucket.
func (s *S3) Keys(bucket string) ([]string, error) {
	list, err := s.Backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, fmt.Errorf("listing s3://%s: %w", bucket, err)
	}
	keys := make([]string, 0, len(list.Contents))
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys, nil
}
