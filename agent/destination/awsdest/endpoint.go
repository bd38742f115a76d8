package awsdest

import (
	"github.com/lambda-destinations/lambda-destinations/agent/arn"

	"fmt"
	"net/url"
	"strings"
)

// service is one of the AWS services the destinations call.
type service struct {
	name  string // signing name and host label: sqs, sns, events, lambda, s3
	envID string // in AWS_ENDPOINT_URL_<envID>: the SDK's service id, upper case
	// govFIPS and govFIPSDualStack tell whether FIPS changes the host in
	// aws-us-gov, where some plain endpoints already are FIPS ones.
	govFIPS, govFIPSDualStack bool
}

var (
	sqsService    = service{name: "sqs", envID: "SQS", govFIPSDualStack: true}
	snsService    = service{name: "sns", envID: "SNS", govFIPSDualStack: true}
	eventsService = service{name: "events", envID: "EVENTBRIDGE"}
	lambdaService = service{name: "lambda", envID: "LAMBDA", govFIPS: true, govFIPSDualStack: true}
	s3Service     = service{name: "s3", envID: "S3", govFIPS: true, govFIPSDualStack: true}
)

// partition is the part of an endpoint that depends on the region's
// partition (the SDK's partitions.json).
type partition struct {
	id                 string
	dnsSuffix          string
	dualStackDNSSuffix string
}

// partitions in the order the SDK tries their region patterns; aws is also
// the partition of a region that matches none.
var partitions = []struct {
	partition
	prefix string // of the region pattern, PREFIX\w+-\d+
	global string // the partition's pseudo-region
}{
	{partition{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"}, "cn-", "aws-cn-global"},
	{partition{"aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu"}, "eusc-de-", ""},
	{partition{"aws-iso", "c2s.ic.gov", "api.aws.ic.gov"}, "us-iso-", "aws-iso-global"},
	{partition{"aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud"}, "us-isob-", "aws-iso-b-global"},
	{partition{"aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"}, "eu-isoe-", "aws-iso-e-global"},
	{partition{"aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov"}, "us-isof-", "aws-iso-f-global"},
	{partition{"aws-us-gov", "amazonaws.com", "api.aws"}, "us-gov-", "aws-us-gov-global"},
}

var awsPartition = partition{"aws", "amazonaws.com", "api.aws"}

// partitionOf finds the partition of a region as the SDK does. The aws
// pattern, ^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$, is tried first by the
// SDK but matches no region of the others.
func partitionOf(region string) partition {
	for _, p := range partitions {
		if region == p.global {
			return p.partition
		}
		if rest, ok := strings.CutPrefix(region, p.prefix); ok && isWordDashDigits(rest) {
			return p.partition
		}
	}
	return awsPartition
}

// FunctionARN is the unqualified ARN of the function name in region and
// account, in the region's partition.
func FunctionARN(region, account, name string) string {
	return arn.ARN{Partition: partitionOf(region).id, Service: "lambda", Region: region, Account: account, Resource: "function:" + name}.String()
}

// isWordDashDigits matches \w+-\d+ whole.
func isWordDashDigits(s string) bool {
	word, digits, ok := strings.Cut(s, "-")
	if !ok || word == "" || digits == "" {
		return false
	}
	for _, c := range word {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// endpoint is where a destination's requests go.
type endpoint struct {
	url    *url.URL // scheme, host and base path; for S3 with the bucket in host or path
	custom bool     // from AWS_ENDPOINT_URL[_SERVICE]
}

// endpointSettings are the parts of the environment that choose endpoints.
type endpointSettings struct {
	fips      bool              // AWS_USE_FIPS_ENDPOINT
	dualStack bool              // AWS_USE_DUALSTACK_ENDPOINT
	global    string            // AWS_ENDPOINT_URL
	services  map[string]string // AWS_ENDPOINT_URL_<envID>, by envID
}

// custom is the configured endpoint of svc: its own variable over the
// global one. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS was applied when reading.
func (e endpointSettings) custom(svc service) string {
	if u := e.services[svc.envID]; u != "" {
		return u
	}
	return e.global
}

// resolve gives the endpoint of svc in region, as the SDK's endpoint rules
// do. bucket is S3's only: virtual-hosted style when its name allows it and
// there is no custom endpoint, path style (ENDPOINT/BUCKET) otherwise.
func (e endpointSettings) resolve(svc service, region, bucket string) (endpoint, error) {
	if region == "" {
		return endpoint{}, fmt.Errorf("no region to send %s requests to: set AWS_REGION", svc.name)
	}
	if c := e.custom(svc); c != "" {
		switch {
		case e.fips && svc == s3Service:
			return endpoint{}, fmt.Errorf("custom endpoint %s cannot be combined with FIPS (AWS_USE_FIPS_ENDPOINT)", c)
		case e.fips:
			return endpoint{}, fmt.Errorf("custom endpoint %s: FIPS (AWS_USE_FIPS_ENDPOINT) and custom endpoint are not supported", c)
		case e.dualStack && svc == s3Service:
			return endpoint{}, fmt.Errorf("custom endpoint %s cannot be combined with dual-stack (AWS_USE_DUALSTACK_ENDPOINT)", c)
		case e.dualStack:
			return endpoint{}, fmt.Errorf("custom endpoint %s: dual-stack (AWS_USE_DUALSTACK_ENDPOINT) and custom endpoint are not supported", c)
		}
		u, err := parseEndpoint(c)
		if err != nil {
			return endpoint{}, err
		}
		if bucket != "" {
			u.Path = joinPath(u.Path, "/"+bucket)
			u.RawPath = ""
		}
		return endpoint{url: u, custom: true}, nil
	}
	p := partitionOf(region)
	label := svc.name
	if e.fips && (p.id != "aws-us-gov" || e.dualStack && svc.govFIPSDualStack || !e.dualStack && svc.govFIPS) {
		label += "-fips"
	}
	var host string
	switch {
	case svc == s3Service:
		if e.fips && p.id == "aws-cn" {
			return endpoint{}, fmt.Errorf("region %s: partition %s does not support FIPS (AWS_USE_FIPS_ENDPOINT) for S3", region, p.id)
		}
		if e.dualStack {
			label += ".dualstack"
		}
		host = label + "." + region + "." + p.dnsSuffix
	case e.dualStack:
		host = label + "." + region + "." + p.dualStackDNSSuffix
	default:
		host = label + "." + region + "." + p.dnsSuffix
	}
	u := &url.URL{Scheme: "https", Host: host}
	switch {
	case bucket == "":
	case virtualHostable(bucket):
		u.Host = bucket + "." + u.Host
	default:
		u.Path = "/" + bucket
	}
	return endpoint{url: u}, nil
}

// parseEndpoint checks a configured endpoint URL.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint URL %q: want http:// or https:// and a host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("endpoint URL %q: want no query, fragment or user", s)
	}
	return u, nil
}

// virtualHostable reports a bucket name that can be a host label, as the
// SDK's IsVirtualHostableS3Bucket: 3 to 63 lower-case letters, digits and
// hyphens (a name with dots goes in the path, for TLS).
func virtualHostable(bucket string) bool {
	if len(bucket) < 3 || len(bucket) > 63 {
		return false
	}
	for _, c := range bucket {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// joinPath joins an endpoint's path and an operation's path as the SDK
// does (smithyhttp.JoinPath).
func joinPath(a, b string) string {
	if a == "" {
		a = "/"
	} else if a[0] != '/' {
		a = "/" + a
	}
	b = strings.TrimPrefix(b, "/")
	if b != "" && len(a) > 1 && a[len(a)-1] != '/' {
		a += "/"
	}
	return a + b
}

// escapePath escapes s for a URI path as the SDK does for path labels:
// everything but the unreserved characters, and "/" when keepSlash.
func escapePath(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
