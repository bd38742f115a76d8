package fakeaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is gofakes3 with its memory backend on 127.0.0.1 and a free port,
// behind a front that checks each request's SigV4 signature (S3's rules:
// the path signed as sent, X-Amz-Content-Sha256 the body's), records it,
// and fails on demand. It serves path-style requests.
type S3 struct {
	URL     string
	Backend *s3mem.Backend
	faultQueue

	s3 http.Handler

	mu    sync.Mutex
	calls []Call
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
	s := &S3{Backend: backend, s3: gofakes3.New(backend).Server()}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Calls returns the requests received so far. Only PutObject is decoded
// (Target the bucket, Entries[0] the key and the object); other requests
// are recorded with their method as Operation.
func (s *S3) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *S3) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := Call{Service: "s3", Operation: r.Method, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()}
	c.Auth = checkAuth(r, body, "s3", true)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	c.Target = bucket
	if r.Method == http.MethodPut && key != "" && r.Header.Get("X-Amz-Copy-Source") == "" {
		c.Operation = "PutObject"
		c.Entries = []Entry{{Key: key, Body: string(body)}}
	}
	fault := s.take()
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	switch {
	case !c.Auth.Valid:
		e := s3Faults[badSignature]
		e.message += ": " + c.Auth.Problem
		writeS3Error(w, e)
	case fault != 0:
		writeS3Error(w, s3Faults[fault])
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.s3.ServeHTTP(w, r)
	}
}

// s3Faults is how S3 spells each fault.
var s3Faults = &faultTable{
	Throttle:     {status: 503, code: "SlowDown", message: "Please reduce your request rate."},
	ServerError:  {status: 500, code: "InternalError", message: "We encountered an internal error. Please try again."},
	TooLarge:     {status: 400, code: "EntityTooLarge", message: "Your proposed upload exceeds the maximum allowed object size."},
	NotFound:     {status: 404, code: "NoSuchBucket", message: "The specified bucket does not exist"},
	AccessDenied: {status: 403, code: "AccessDenied", message: "Access Denied"},
	badSignature: {status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided."},
}

func writeS3Error(w http.ResponseWriter, e wireError) {
	b, err := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		RequestId string
	}{Code: e.code, Message: e.message, RequestId: "fakeaws-s3"})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "fakeaws-s3")
	w.WriteHeader(e.status)
	w.Write([]byte(xml.Header))
	w.Write(b)
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
