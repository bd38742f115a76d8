package awsdest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

type s3Dest struct {
	common
	bucket string
	now    func() time.Time // when a record has no readable timestamp

	mu     sync.Mutex
	region string // of the bucket: the function's until S3 says otherwise
	client lazy[*s3.Client]
}

func newS3(c common, s self) *s3Dest {
	return &s3Dest{common: c, bucket: c.target.ARN.Resource, region: s.region, now: time.Now}
}

// MaxRecordBytes: an object can hold far more than any record.
func (d *s3Dest) MaxRecordBytes() int { return math.MaxInt }

func (d *s3Dest) connect(ctx context.Context) (*s3.Client, error) {
	client, err := d.client.get(ctx, d.conf, func(cfg aws.Config) (*s3.Client, error) {
		d.mu.Lock()
		region := d.region
		d.mu.Unlock()
		return s3.NewFromConfig(cfg, func(o *s3.Options) {
			if region != "" {
				o.Region = region
			}
			// Test servers and LocalStack have no per-bucket host names.
			o.UsePathStyle = o.BaseEndpoint != nil
			if d.http != nil {
				o.HTTPClient = d.http
			}
		}), nil
	})
	if err != nil {
		return nil, d.named(err)
	}
	return client, nil
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

func (d *s3Dest) putInput(m destination.Message) (*s3.PutObjectInput, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, d.named(fmt.Errorf("object name: %w", err))
	}
	t, ok := recordTime(m.Record)
	if !ok {
		t = d.now()
	}
	return &s3.PutObjectInput{
		Bucket:        aws.String(d.bucket),
		Key:           aws.String(s3Key(functionName(m), t, id)),
		Body:          bytes.NewReader(m.Record),
		ContentLength: aws.Int64(int64(len(m.Record))),
		ContentType:   aws.String("application/json"),
	}, nil
}

func (d *s3Dest) Send(ctx context.Context, m destination.Message) error {
	_, err := d.Store(ctx, m)
	return err
}

// Store puts the record and returns its location: the claim check for
// records too large for their destination.
func (d *s3Dest) Store(ctx context.Context, m destination.Message) (string, error) {
	client, err := d.connect(ctx)
	if err != nil {
		return "", err
	}
	in, err := d.putInput(m)
	if err != nil {
		return "", err
	}
	location := "s3://" + d.bucket + "/" + aws.ToString(in.Key)
	if _, err := client.PutObject(ctx, in); err != nil {
		if region, moved := d.moved(err, client.Options().Region); moved {
			// Not permanent: the next attempt goes to the right region.
			return "", fmt.Errorf("destination %s: the bucket is in %s, not %s; switching: %w", d.target.Raw, region, client.Options().Region, err)
		}
		return "", wrap(d.target, err)
	}
	return location, nil
}

// moved reports a refusal that names the bucket's region (a redirect, or a
// signature for the wrong region) and points the next send there.
func (d *s3Dest) moved(err error, current string) (string, bool) {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return "", false
	}
	region := re.Response.Header.Get("X-Amz-Bucket-Region")
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
