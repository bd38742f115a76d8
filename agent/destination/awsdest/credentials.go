package awsdest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// ecsContainerEndpoint is the host of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
const ecsContainerEndpoint = "http://169.254.170.2"

// containerExpiryWindow renews container credentials this long before they
// expire, as the SDK's configuration does.
const containerExpiryWindow = 5 * time.Minute

// credentialsFrom picks the credentials the environment gives, in the
// order of the SDK's default chain, less what needs profile files, STS or
// the instance metadata service (none of which Lambda uses):
//
//  1. AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or
//     AWS_SECRET_KEY) and AWS_SESSION_TOKEN: what Lambda gives a function;
//  2. AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, then _FULL_URI, with
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN: what Lambda gives
//     with SnapStart, and ECS and EKS.
//
// It returns the provider, cached, and a description of the source.
func credentialsFrom(ctx context.Context, getenv func(string) string, lookupHost func(context.Context, string) ([]string, error)) (aws.CredentialsProvider, string, error) {
	id := cmp.Or(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY"))
	secret := cmp.Or(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY"))
	if id != "" && secret != "" {
		p := credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
		return aws.NewCredentialsCache(p), "environment", nil
	}
	var endpoint string
	switch rel, full := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); {
	case rel != "":
		endpoint = ecsContainerEndpoint + rel
	case full != "":
		if err := checkContainerURL(ctx, full, lookupHost); err != nil {
			return nil, "", fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: %w", err)
		}
		endpoint = full
	default:
		return nil, "", errors.New("no AWS credentials in the environment: want AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
			"or AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI (profiles, web identity and instance metadata are not supported)")
	}
	token, tokenFile := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	p := endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
		// One attempt, as for the destinations' requests: the agent's
		// retries of the send try again.
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 1
			o.RateLimiter = ratelimit.None
		})
		o.AuthorizationToken = token
		if tokenFile != "" {
			// Read at each renewal: the file is rotated.
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return "", fmt.Errorf("reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
				}
				return string(b), nil
			})
		}
	})
	cache := aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = containerExpiryWindow })
	return cache, "container endpoint " + endpoint, nil
}

// checkContainerURL allows, as the SDK does, an https URL, or an http one
// on a loopback address or the ECS or EKS credentials address.
func checkContainerURL(ctx context.Context, s string, lookupHost func(context.Context, string) ([]string, error)) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("no host in %q", s)
	}
	if u.Scheme != "http" {
		return nil
	}
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		if addrs, err = lookupHost(ctx, host); err != nil {
			return fmt.Errorf("resolving host %q: %w", host, err)
		}
	}
	for _, a := range addrs {
		if !containerIPAllowed(net.ParseIP(a)) {
			return fmt.Errorf("host %q of an http URL: only loopback, ECS and EKS hosts are allowed", host)
		}
	}
	return nil
}

func containerIPAllowed(ip net.IP) bool {
	return ip != nil && (ip.IsLoopback() ||
		ip.Equal(net.IPv4(169, 254, 170, 2)) || // ECS
		ip.Equal(net.IPv4(169, 254, 170, 23)) || // EKS
		ip.Equal(net.ParseIP("fd00:ec2::23"))) // EKS, IPv6
}

// envBool reads a true/false variable as the SDK does: case-insensitive,
// empty meaning unset.
func envBool(getenv func(string) string, name string) (bool, error) {
	switch v := getenv(name); {
	case v == "":
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	default:
		return false, fmt.Errorf("%s=%s: want true or false", name, v)
	}
}
