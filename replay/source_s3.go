package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// maxObjectBytes bounds an object read as a record: two payloads of the
// layer's 6 MiB cap, escaped, with room to spare.
const maxObjectBytes = 256 << 20

// objectsPerBatch is the number of objects read before they are re-driven.
const objectsPerBatch = 100

// getTimeout bounds the read of one object: a connection that hangs must
// not hold the run.
const getTimeout = 2 * time.Minute

// Bucket lists and reads objects: *awsdest.Bucket.
type Bucket interface {
	List(ctx context.Context, prefix string, each func(key string) error) error
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
}

// s3Source reads the records a bucket holds under a prefix, one per
// object as the native layout has them: the keys are listed first, then
// the objects read a hundred at a time.
type s3Source struct {
	name, bucket, prefix string
	b                    Bucket
	keys                 []string
	listed               bool
}

// S3Source reads the objects under prefix in bucket, named name.
func S3Source(name string, b Bucket, bucket, prefix string) Source {
	return &s3Source{name: name, bucket: bucket, prefix: prefix, b: b}
}

func (s *s3Source) Name() string { return s.name }

func (s *s3Source) Next(ctx context.Context) (Batch, error) {
	if !s.listed {
		s.listed = true
		err := s.b.List(ctx, s.prefix, func(key string) error {
			s.keys = append(s.keys, key)
			return ctx.Err()
		})
		if err != nil {
			return Batch{}, err
		}
		if len(s.keys) == 0 {
			return Batch{}, fmt.Errorf("%s: no objects under s3://%s/%s", s.name, s.bucket, s.prefix)
		}
	}
	if len(s.keys) == 0 {
		return Batch{}, io.EOF
	}
	n := min(objectsPerBatch, len(s.keys))
	keys := s.keys[:n]
	s.keys = s.keys[n:]
	b := Batch{Units: n}
	for i, key := range keys {
		where := "s3://" + s.bucket + "/" + key
		body, err := get(ctx, s.b, key)
		if err != nil {
			if ctx.Err() != nil {
				return Batch{}, err
			}
			b.Found = append(b.Found, Found{Where: where, Unit: i, Err: err})
			continue
		}
		b.Found = append(b.Found, unitRecords(body, where, i, "object")...)
	}
	return b, nil
}

// unitRecords are the records an object or a message holds, or a Found
// that says it holds none: a unit is never passed over in silence.
func unitRecords(body []byte, where string, unit int, kind string) []Found {
	out := foundIn(body, where, unit)
	if len(out) == 0 {
		out = append(out, Found{Where: where, Unit: unit, Err: errors.New("the " + kind + " holds no execution record")})
	}
	return out
}

func (s *s3Source) Settle(context.Context, Batch, []bool) (int, []error) { return 0, nil }

func (s *s3Source) Close(context.Context) error { return nil }

// S3Fetcher reads the objects at s3://BUCKET/KEY locations, the overflow
// bucket's copies of records, through a Bucket that open makes for each
// bucket name.
func S3Fetcher(open func(bucket string) Bucket) Fetcher {
	var mu sync.Mutex
	buckets := map[string]Bucket{}
	return func(ctx context.Context, location string) ([]byte, error) {
		rest, ok := strings.CutPrefix(location, "s3://")
		name, key, _ := strings.Cut(rest, "/")
		if !ok || name == "" || key == "" {
			return nil, fmt.Errorf("location %q is not s3://BUCKET/KEY", location)
		}
		mu.Lock()
		b, ok := buckets[name]
		if !ok {
			b = open(name)
			buckets[name] = b
		}
		mu.Unlock()
		return get(ctx, b, key)
	}
}

// get reads one object, within getTimeout.
func get(ctx context.Context, b Bucket, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, getTimeout)
	defer cancel()
	return b.Get(ctx, key, maxObjectBytes)
}
