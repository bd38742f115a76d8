package awsdest

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// Reading S3, for the replay command: the layer only writes, and none of
// this is reachable from it.

// Bucket reads the objects of an S3 bucket.
type Bucket struct {
	Name string
	conf *Config

	mu     sync.Mutex
	region string // the bucket's, once S3 named it; else AWS_REGION
	client *client
}

// OpenBucket returns a reader of the bucket; it does no I/O.
func OpenBucket(conf *Config, name string) *Bucket {
	return &Bucket{Name: name, conf: conf}
}

// connect returns the client for the bucket's region.
func (b *Bucket) connect(ctx context.Context) (*client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	s, err := b.conf.Load(ctx)
	if err != nil {
		return nil, err
	}
	c, err := common{conf: b.conf}.connect(ctx, s3Service, cmp.Or(b.region, s.Region), b.Name, restXML)
	if err != nil {
		return nil, err
	}
	b.client = c
	return c, nil
}

// do sends k to the bucket, and once more to the bucket's region when S3
// answers that it is in another one.
func (b *Bucket) do(ctx context.Context, k call) (answer, error) {
	for attempt := 1; ; attempt++ {
		c, err := b.connect(ctx)
		if err != nil {
			return answer{}, err
		}
		a, err := c.do(ctx, k)
		if err == nil {
			return a, nil
		}
		var ae *APIError
		if errors.As(err, &ae) && attempt == 1 {
			if region := cmp.Or(ae.Header.Get("X-Amz-Bucket-Region"), ae.region); region != "" && region != c.region {
				b.mu.Lock()
				b.region, b.client = region, nil
				b.mu.Unlock()
				continue
			}
		}
		return answer{}, err
	}
}

// List calls each with the key of every object under prefix, in S3's
// order (ListObjectsV2, a page of up to 1,000 keys at a time). It stops at
// the first error each returns.
func (b *Bucket) List(ctx context.Context, prefix string, each func(key string) error) error {
	token := ""
	for {
		q := url.Values{"list-type": {"2"}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		a, err := b.do(ctx, call{op: "ListObjectsV2", method: http.MethodGet, query: q.Encode()})
		if err != nil {
			return fmt.Errorf("listing s3://%s/%s: %w", b.Name, prefix, err)
		}
		var page struct {
			IsTruncated           bool
			NextContinuationToken string
			Contents              []struct{ Key string }
		}
		if err := xml.Unmarshal(a.body, &page); err != nil {
			return fmt.Errorf("listing s3://%s/%s: ListObjectsV2: reading the answer: %w", b.Name, prefix, err)
		}
		for _, o := range page.Contents {
			if err := each(o.Key); err != nil {
				return err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// Get returns the bytes of an object of at most limit bytes.
func (b *Bucket) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	a, err := b.do(ctx, call{
		op:          "GetObject",
		method:      http.MethodGet,
		path:        "/" + key,
		rawPath:     "/" + escapePath(key, true),
		query:       "x-id=GetObject",
		answerLimit: limit + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", b.Name, key, err)
	}
	if int64(len(a.body)) > limit {
		return nil, fmt.Errorf("s3://%s/%s: the object is larger than %d bytes", b.Name, key, limit)
	}
	if n, err := strconv.ParseInt(a.header.Get("Content-Length"), 10, 64); err == nil && n != int64(len(a.body)) {
		return nil, fmt.Errorf("s3://%s/%s: GetObject: %d of %d bytes received", b.Name, key, len(a.body), n)
	}
	return a.body, nil
}
