package awsdest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// common is what every destination holds.
type common struct {
	target destination.Target
	conf   *Config
	http   *http.Client // nil: the Config's
	log    *slog.Logger
}

// named adds the destination to an error that does not come from the
// service (configuration, local checks).
func (c common) named(err error) error {
	return fmt.Errorf("destination %s: %w", c.target.Raw, err)
}

// connect loads the configuration and makes the client for svc in region
// (bucket for S3 only).
func (c common) connect(ctx context.Context, svc service, region, bucket string, proto protocol) (*client, error) {
	s, err := c.conf.Load(ctx)
	if err != nil {
		return nil, err
	}
	ep, err := s.endpoints.resolve(svc, region, bucket)
	if err != nil {
		return nil, fmt.Errorf("%s endpoint: %w", svc.name, err)
	}
	return newClient(svc, region, ep, proto, s.Credentials, cmp.Or(c.http, c.conf.httpClient())), nil
}

// regional returns the client for svc in the region of the target's ARN,
// made at the first call that succeeds and kept in l.
func (c common) regional(ctx context.Context, l *lazy[*client], svc service, proto protocol) (*client, error) {
	cl, err := l.get(func() (*client, error) {
		return c.connect(ctx, svc, c.target.ARN.Region, "", proto)
	})
	if err != nil {
		return nil, c.named(err)
	}
	return cl, nil
}

// lazy holds a client built on first use from the shared configuration.
type lazy[T any] struct {
	mu    sync.Mutex
	value T
	built bool
}

// get returns the value, building it on first use. build may wait for
// the configuration, so it runs outside the lock: ctx bounds the wait, and
// when two callers build at once the first value stored wins.
func (l *lazy[T]) get(build func() (T, error)) (T, error) {
	l.mu.Lock()
	v, ok := l.value, l.built
	l.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.built {
		l.value, l.built = v, true
	}
	return l.value, nil
}

// reset drops the value so that the next get builds a new one.
func (l *lazy[T]) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	l.value, l.built = zero, false
}
