package awsdest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// s3ContinueBytes is the body size from which a PutObject asks for
// 100-continue, as the SDK does: a refusal then costs no upload.
const s3ContinueBytes = 2 << 20

type s3Dest struct {
	common
	bucket  string
	now     func() time.Time // when a record has no readable timestamp
	newUUID func() (uuid.UUID, error)

	mu     sync.Mutex
	region string // of the bucket: the function's until S3 says otherwise
	client lazy[*client]
}

func newS3(c common, self arn.ARN) *s3Dest {
	return &s3Dest{common: c, bucket: c.target.ARN.Resource, region: self.Region, now: time.Now, newUUID: uuid.NewRandom}
}

// MaxRecordBytes: an object can hold far more than any record.
func (d *s3Dest) MaxRecordBytes() int { return math.MaxInt }

// connect makes the client for the bucket's region: the function's (or
// AWS_REGION) until S3 names another. A custom endpoint gets path-style
// requests (test servers and LocalStack have no per-bucket host names),
// AWS virtual-hosted ones where the bucket name allows.
func (d *s3Dest) connect(ctx context.Context) (*client, error) {
	c, err := d.client.get(func() (*client, error) {
		s, err := d.conf.Load(ctx)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		region := cmp.Or(d.region, s.Region)
		d.mu.Unlock()
		return d.common.connect(ctx, s3Service, region, d.bucket, restXML)
	})
	if err != nil {
		return nil, d.named(err)
	}
	return c, nil
}

// s3Key is the native layout:
// aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>.
func s3Key(function string, t time.Time, id uuid.UUID) string {
	return "aws/lambda/async/" + function + "/" + t.UTC().Format("2006/01/02/2006-01-02T15.04.05") + "-" + id.String()
}

// recordTime reads the record's "timestamp", which the record builder puts
// near the start: decoding stops there instead of reading the payloads.
func recordTime(record []byte) (time.Time, bool) {
	dec := json.NewDecoder(bytes.NewReader(record))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return time.Time{}, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return time.Time{}, false
		}
		if tok == "timestamp" {
			var s string
			if err := dec.Decode(&s); err != nil {
				return time.Time{}, false
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			return t, err == nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return time.Time{}, false
		}
	}
	return time.Time{}, false
}

// putObjectCall is PutObject (REST XML): PUT /KEY?x-id=PutObject with the
// record as the body and its SHA-256 signed (X-Amz-Content-Sha256), which
// S3 checks, as the SDK sends it.
func (d *s3Dest) putObjectCall(m destination.Message) (call, string, error) {
	id, err := d.newUUID()
	if err != nil {
		return call{}, "", fmt.Errorf("object name: %w", err)
	}
	t, ok := recordTime(m.Record)
	if !ok {
		t = d.now()
	}
	key := s3Key(functionName(m), t, id)
	h := http.Header{"Content-Type": {"application/json"}}
	if len(m.Record) > s3ContinueBytes {
		h["Expect"] = []string{"100-continue"}
	}
	k := call{
		op:            "PutObject",
		method:        http.MethodPut,
		path:          "/" + key,
		rawPath:       "/" + escapePath(key, true),
		query:         "x-id=PutObject",
		header:        h,
		body:          m.Record,
		payloadHeader: true,
	}
	return k, key, nil
}

func (d *s3Dest) Send(ctx context.Context, m destination.Message) error {
	_, err := d.Store(ctx, m)
	return err
}

// Store puts the record and returns its location: the claim check for
// records too large for their destination.
func (d *s3Dest) Store(ctx context.Context, m destination.Message) (string, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return "", err
	}
	k, key, err := d.putObjectCall(m)
	if err != nil {
		return "", d.named(err)
	}
	if _, err := c.do(ctx, k); err != nil {
		if region, moved := d.moved(err, c.region); moved {
			// Not permanent: the next attempt goes to the right region.
			return "", fmt.Errorf("destination %s: the bucket is in %s, not %s; switching: %w", d.target.Raw, region, c.region, err)
		}
		return "", wrap(d.target, err)
	}
	return "s3://" + d.bucket + "/" + key, nil
}

// moved reports a refusal that names the bucket's region (a redirect, or a
// signature for the wrong region) and points the next send there.
func (d *s3Dest) moved(err error, current string) (string, bool) {
	var ae *APIError
	if !errors.As(err, &ae) {
		return "", false
	}
	region := cmp.Or(ae.Header.Get("X-Amz-Bucket-Region"), ae.region)
	if region == "" || region == current {
		return "", false
	}
	d.mu.Lock()
	d.region = region
	d.mu.Unlock()
	d.client.reset()
	d.log.Warn("S3 bucket is in another region", "bucket", d.bucket, "region", region)
	return region, true
}
