package awsdest

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// loadTimeout bounds reading the configuration, and fetching credentials
// on Warm.
const loadTimeout = 10 * time.Second

// Config is what the AWS destinations share: the settings read from the
// environment once, on Warm or on first use (a failed read is tried again
// on the next use), the credentials, and the HTTP connections.
type Config struct {
	// read reads the settings; the tests replace it.
	read func(context.Context) (*Settings, error)

	mu      sync.Mutex
	current *loading

	httpOnce sync.Once
	http     *http.Client
}

// Settings is what a Config reads from the environment.
type Settings struct {
	// Region is AWS_REGION or AWS_DEFAULT_REGION: where S3 requests go
	// when the destination was given no region.
	Region string
	// Credentials are cached: renewed only when they expire.
	Credentials aws.CredentialsProvider
	// CredentialSource says where they come from, for logs and tests.
	CredentialSource string

	endpoints endpointSettings
}

type loading struct {
	done     chan struct{}
	settings *Settings
	err      error
}

// NewConfig returns a Config that has read nothing yet.
func NewConfig() *Config {
	c := &Config{}
	c.read = func(ctx context.Context) (*Settings, error) {
		return readSettings(ctx, os.Getenv, net.DefaultResolver.LookupHost)
	}
	return c
}

// Warm starts reading the configuration and fetching the credentials in
// the background, and returns at once. The work keeps ctx's values but not
// its cancellation: it is shared, and one caller giving up must not fail
// it for the others.
func (c *Config) Warm(ctx context.Context) {
	l := c.start(ctx)
	ctx = context.WithoutCancel(ctx)
	go func() {
		<-l.done
		if l.err != nil {
			return // the first send reports it
		}
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		_, _ = l.settings.Credentials.Retrieve(ctx) // cached for the first send
	}()
}

// Load returns the settings, reading them if needed; ctx bounds the wait.
func (c *Config) Load(ctx context.Context) (*Settings, error) {
	l := c.start(ctx)
	select {
	case <-l.done:
		return l.settings, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the AWS configuration: %w", context.Cause(ctx))
	}
}

func (c *Config) start(ctx context.Context) *loading {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.current; l != nil {
		select {
		case <-l.done:
			if l.err == nil {
				return l
			}
		default:
			return l
		}
	}
	l := &loading{done: make(chan struct{})}
	c.current = l
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(l.done)
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		l.settings, l.err = c.read(ctx)
		if l.err != nil {
			l.err = fmt.Errorf("loading the AWS configuration: %w", l.err)
		}
	}()
	return l
}

// readSettings reads the environment as the SDK's default chain does.
func readSettings(ctx context.Context, getenv func(string) string, lookupHost func(context.Context, string) ([]string, error)) (*Settings, error) {
	s := &Settings{Region: cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))}
	var err error
	if s.endpoints.fips, err = envBool(getenv, "AWS_USE_FIPS_ENDPOINT"); err != nil {
		return nil, err
	}
	if s.endpoints.dualStack, err = envBool(getenv, "AWS_USE_DUALSTACK_ENDPOINT"); err != nil {
		return nil, err
	}
	ignore, err := envBool(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	if err != nil {
		return nil, err
	}
	if !ignore {
		s.endpoints.global = getenv("AWS_ENDPOINT_URL")
		for _, svc := range []service{sqsService, snsService, eventsService, lambdaService, s3Service} {
			if u := getenv("AWS_ENDPOINT_URL_" + svc.envID); u != "" {
				if s.endpoints.services == nil {
					s.endpoints.services = map[string]string{}
				}
				s.endpoints.services[svc.envID] = u
			}
		}
	}
	if s.Credentials, s.CredentialSource, err = credentialsFrom(ctx, getenv, lookupHost); err != nil {
		return nil, err
	}
	return s, nil
}
