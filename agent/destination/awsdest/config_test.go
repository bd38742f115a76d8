package awsdest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// countingConfig is a Config that counts its reads of the environment,
// and fails or blocks a read when fail says so.
func countingConfig(loads *atomic.Int32, fail func(n int32) error) *Config {
	c := NewConfig()
	read := c.read
	c.read = func(ctx context.Context) (*Settings, error) {
		n := loads.Add(1)
		if fail != nil {
			if err := fail(n); err != nil {
				return nil, err
			}
		}
		return read(ctx)
	}
	return c
}

func TestConfigLoadsOnceAndShares(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, nil)
	conf.Warm(context.Background())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			s, err := conf.Load(ctxT(t))
			if err != nil || s.Region != "us-east-1" || s.CredentialSource != "environment" {
				t.Errorf("Load: %+v, %v", s, err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("loaded %d times, want 1", n)
	}
	s, _ := conf.Load(ctxT(t))
	creds, err := s.Credentials.Retrieve(ctxT(t))
	if err != nil || creds.AccessKeyID != fakeaws.AccessKeyID {
		t.Errorf("credentials %+v, %v", creds, err)
	}
}

func TestConfigRetriesFailedLoad(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, func(n int32) error {
		if n == 1 {
			return errors.New("no config yet")
		}
		return nil
	})
	if _, err := conf.Load(ctxT(t)); err == nil || !strings.Contains(err.Error(), "no config yet") {
		t.Fatalf("first Load: %v, want the load error", err)
	}
	if _, err := conf.Load(ctxT(t)); err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if _, err := conf.Load(ctxT(t)); err != nil || loads.Load() != 2 {
		t.Fatalf("third Load: %v after %d loads, want the second one kept", err, loads.Load())
	}
}

// A caller that gives up waiting does not fail the load for the others.
func TestConfigLoadHonoursContext(t *testing.T) {
	awsEnv(t)
	release := make(chan struct{})
	var loads atomic.Int32
	conf := countingConfig(&loads, func(int32) error { <-release; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := conf.Load(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load: %v, want the deadline", err)
	}
	close(release)
	if _, err := conf.Load(ctxT(t)); err != nil {
		t.Fatalf("Load after release: %v", err)
	}
}

// Every destination shares one configuration and builds its client once,
// even under concurrent first sends.
func TestConcurrentFirstSends(t *testing.T) {
	srv := fakeaws.NewSQS(t)
	awsEnv(t, "AWS_ENDPOINT_URL_SQS", srv.URL)
	var loads atomic.Int32
	conf := countingConfig(&loads, nil)
	a := newDest(t, "arn:aws:sqs:us-east-1:123456789012:a", Options{Config: conf})
	b := newDest(t, "arn:aws:sqs:us-east-1:123456789012:b", Options{Config: conf})
	var wg sync.WaitGroup
	for i := range 16 {
		d := a
		if i%2 == 1 {
			d = b
		}
		wg.Go(func() {
			if err := d.Send(ctxT(t), message("Success", 100)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("configuration loaded %d times, want 1", n)
	}
	if n := len(srv.Calls()); n != 16 {
		t.Errorf("%d calls, want 16", n)
	}
	if a.(*sqsDest).conn.value == b.(*sqsDest).conn.value {
		t.Error("two destinations share one client; want one each (their regions may differ)")
	}
	if a.(*sqsDest).conn.value.http != b.(*sqsDest).conn.value.http {
		t.Error("two destinations have their own HTTP clients; want the Config's, one pool of connections")
	}
}

// A configuration that does not load fails the send, retryably, naming the
// destination.
func TestConfigErrorNamesDestination(t *testing.T) {
	awsEnv(t)
	var loads atomic.Int32
	conf := countingConfig(&loads, func(int32) error { return errors.New("broken profile") })
	for _, raw := range []string{
		"arn:aws:sqs:us-east-1:123456789012:q",
		"arn:aws:sns:us-east-1:123456789012:t",
		"arn:aws:events:us-east-1:123456789012:event-bus/b",
		"arn:aws:lambda:us-east-1:123456789012:function:f",
		"arn:aws:s3:::b",
	} {
		err := newDest(t, raw, Options{Config: conf}).Send(ctxT(t), message("Success", 100))
		if classOf(err) != "retryable" || !strings.Contains(err.Error(), raw) || !strings.Contains(err.Error(), "broken profile") {
			t.Errorf("%s: %v, want a retryable error naming the destination and the cause", raw, err)
		}
	}
}
