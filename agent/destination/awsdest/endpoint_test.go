package awsdest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		env     endpointSettings
		svc     service
		region  string
		bucket  string
		want    string
		wantErr string
	}{
		{"sqs", endpointSettings{}, sqsService, "us-east-1", "", "https://sqs.us-east-1.amazonaws.com", ""},
		{"sns", endpointSettings{}, snsService, "eu-central-1", "", "https://sns.eu-central-1.amazonaws.com", ""},
		{"events", endpointSettings{}, eventsService, "ap-southeast-2", "", "https://events.ap-southeast-2.amazonaws.com", ""},
		{"lambda", endpointSettings{}, lambdaService, "eu-west-3", "", "https://lambda.eu-west-3.amazonaws.com", ""},
		{"s3 virtual-hosted", endpointSettings{}, s3Service, "us-east-1", "records", "https://records.s3.us-east-1.amazonaws.com", ""},
		{"s3 dotted bucket: path style", endpointSettings{}, s3Service, "us-east-1", "my.records", "https://s3.us-east-1.amazonaws.com/my.records", ""},
		{"s3 upper-case bucket: path style", endpointSettings{}, s3Service, "us-east-1", "Records", "https://s3.us-east-1.amazonaws.com/Records", ""},
		{"aws-cn", endpointSettings{}, sqsService, "cn-north-1", "", "https://sqs.cn-north-1.amazonaws.com.cn", ""},
		{"aws-cn s3", endpointSettings{}, s3Service, "cn-northwest-1", "b-1", "https://b-1.s3.cn-northwest-1.amazonaws.com.cn", ""},
		{"aws-us-gov", endpointSettings{}, lambdaService, "us-gov-west-1", "", "https://lambda.us-gov-west-1.amazonaws.com", ""},
		{"aws-iso", endpointSettings{}, sqsService, "us-iso-east-1", "", "https://sqs.us-iso-east-1.c2s.ic.gov", ""},
		{"aws-iso-b", endpointSettings{}, snsService, "us-isob-east-1", "", "https://sns.us-isob-east-1.sc2s.sgov.gov", ""},
		{"unknown region: aws", endpointSettings{}, sqsService, "xx-new-1", "", "https://sqs.xx-new-1.amazonaws.com", ""},
		{"fips", endpointSettings{fips: true}, sqsService, "us-east-1", "", "https://sqs-fips.us-east-1.amazonaws.com", ""},
		{"fips s3", endpointSettings{fips: true}, s3Service, "us-east-2", "b12", "https://b12.s3-fips.us-east-2.amazonaws.com", ""},
		{"fips gov sqs is the plain host", endpointSettings{fips: true}, sqsService, "us-gov-west-1", "", "https://sqs.us-gov-west-1.amazonaws.com", ""},
		{"fips gov lambda", endpointSettings{fips: true}, lambdaService, "us-gov-east-1", "", "https://lambda-fips.us-gov-east-1.amazonaws.com", ""},
		{"fips aws-cn s3", endpointSettings{fips: true}, s3Service, "cn-north-1", "b12", "", "does not support FIPS"},
		{"dual-stack", endpointSettings{dualStack: true}, eventsService, "eu-west-1", "", "https://events.eu-west-1.api.aws", ""},
		{"dual-stack s3", endpointSettings{dualStack: true}, s3Service, "eu-west-1", "b12", "https://b12.s3.dualstack.eu-west-1.amazonaws.com", ""},
		{"custom global", endpointSettings{global: "http://localhost:4566"}, sqsService, "us-east-1", "", "http://localhost:4566", ""},
		{"custom service over global", endpointSettings{global: "http://localhost:4566", services: map[string]string{"SQS": "http://127.0.0.1:9324"}}, sqsService, "us-east-1", "", "http://127.0.0.1:9324", ""},
		{"custom other service", endpointSettings{services: map[string]string{"SNS": "http://localhost:4566"}}, sqsService, "us-east-1", "", "https://sqs.us-east-1.amazonaws.com", ""},
		{"custom eventbridge", endpointSettings{services: map[string]string{"EVENTBRIDGE": "http://localhost:4566"}}, eventsService, "us-east-1", "", "http://localhost:4566", ""},
		{"custom s3: path style", endpointSettings{global: "http://localhost:4566"}, s3Service, "us-east-1", "records", "http://localhost:4566/records", ""},
		{"custom s3 with a path", endpointSettings{services: map[string]string{"S3": "http://localhost:4566/s3/"}}, s3Service, "us-east-1", "records", "http://localhost:4566/s3/records", ""},
		{"custom with fips", endpointSettings{fips: true, global: "http://localhost:4566"}, lambdaService, "us-east-1", "", "", "FIPS"},
		{"custom with dual-stack", endpointSettings{dualStack: true, global: "http://localhost:4566"}, s3Service, "us-east-1", "b12", "", "dual-stack"},
		{"custom not a URL", endpointSettings{global: "localhost:4566"}, sqsService, "us-east-1", "", "", "want http:// or https://"},
		{"no region", endpointSettings{}, s3Service, "", "b12", "", "no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := tt.env.resolve(tt.svc, tt.region, tt.bucket)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolve: %v, %v; want an error containing %q", ep.url, err, tt.wantErr)
				}
				return
			}
			if err != nil || ep.url.String() != tt.want || ep.custom != (tt.env.custom(tt.svc) != "") {
				t.Fatalf("resolve = %v (custom %v), %v; want %s", ep.url, ep.custom, err, tt.want)
			}
		})
	}
}

// The endpoints are those the SDK's own rules give, in every partition,
// with and without FIPS and dual-stack.
func TestResolveEndpointAsTheSDK(t *testing.T) {
	ctx := context.Background()
	type sdkResolver func(region string, fips, dualStack bool, bucket, custom string) (string, error)
	str := func(u interface{ String() string }, err error) (string, error) {
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	sdk := map[service]sdkResolver{
		sqsService: func(r string, f, d bool, _, c string) (string, error) {
			e, err := sqs.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sqs.EndpointParameters{Region: &r, UseFIPS: &f, UseDualStack: &d, Endpoint: opt(c)})
			return str(&e.URI, err)
		},
		snsService: func(r string, f, d bool, _, c string) (string, error) {
			e, err := sns.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sns.EndpointParameters{Region: &r, UseFIPS: &f, UseDualStack: &d, Endpoint: opt(c)})
			return str(&e.URI, err)
		},
		eventsService: func(r string, f, d bool, _, c string) (string, error) {
			e, err := eventbridge.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, eventbridge.EndpointParameters{Region: &r, UseFIPS: &f, UseDualStack: &d, Endpoint: opt(c)})
			return str(&e.URI, err)
		},
		lambdaService: func(r string, f, d bool, _, c string) (string, error) {
			e, err := lambda.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, lambda.EndpointParameters{Region: &r, UseFIPS: &f, UseDualStack: &d, Endpoint: opt(c)})
			return str(&e.URI, err)
		},
		s3Service: func(r string, f, d bool, b, c string) (string, error) {
			// As the S3 destination configures the SDK: path style with a
			// custom endpoint.
			e, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, s3.EndpointParameters{
				Region: &r, UseFIPS: &f, UseDualStack: &d, Bucket: &b, Endpoint: opt(c), ForcePathStyle: aws.Bool(c != ""),
			})
			return str(&e.URI, err)
		},
	}
	regions := []string{
		"us-east-1", "us-west-2", "eu-west-1", "eu-central-2", "ap-southeast-7", "ca-west-1", "il-central-1", "mx-central-1", "sa-east-1",
		"cn-north-1", "cn-northwest-1", "eusc-de-east-1", "us-iso-east-1", "us-iso-west-1", "us-isob-east-1",
		"eu-isoe-west-1", "us-isof-south-1", "us-isof-east-1", "us-gov-west-1", "us-gov-east-1", "zz-future-9",
	}
	buckets := []string{"records", "my.records", "ab", "Records", "a--b", "records-"}
	for svc, resolver := range sdk {
		for _, region := range regions {
			for _, fips := range []bool{false, true} {
				for _, dualStack := range []bool{false, true} {
					for _, c := range []string{"", "http://localhost:4566", "https://example.com/base"} {
						bs := []string{""}
						if svc == s3Service {
							bs = buckets
						}
						for _, bucket := range bs {
							want, wantErr := resolver(region, fips, dualStack, bucket, c)
							env := endpointSettings{fips: fips, dualStack: dualStack, global: c}
							got, err := env.resolve(svc, region, bucket)
							name := fmt.Sprintf("%s %s fips=%v dualstack=%v bucket=%s endpoint=%s", svc.name, region, fips, dualStack, bucket, c)
							switch {
							case (err != nil) != (wantErr != nil):
								t.Errorf("%s: %v, %v; the SDK: %s, %v", name, got.url, err, want, wantErr)
							case err == nil && got.url.String() != want:
								t.Errorf("%s: %s; the SDK: %s", name, got.url, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn", "aws-cn-global": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
		"eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f", "eusc-de-east-1": "aws-eusc",
		"us-gov-west": "aws", "cn-north-x": "aws", "nowhere": "aws",
	} {
		if got := partitionOf(region).id; got != want {
			t.Errorf("partitionOf(%s) = %s, want %s", region, got, want)
		}
	}
}

func TestJoinPath(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{"", "/", "/"}, {"/", "/", "/"}, {"/p", "/", "/p"}, {"/p/", "/", "/p/"},
		{"", "/2015-03-31/functions/f/invocations", "/2015-03-31/functions/f/invocations"},
		{"/base", "/key", "/base/key"}, {"base/", "key", "/base/key"},
	} {
		if got := joinPath(tt.a, tt.b); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEscapePath(t *testing.T) {
	for _, tt := range []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"arn:aws:lambda:us-east-1:123456789012:function:f", false, "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"},
		{"a/b c~d_e.f", true, "a/b%20c~d_e.f"},
		{"a/b", false, "a%2Fb"},
		{"$LATEST", false, "%24LATEST"},
		{"é", false, "%C3%A9"},
	} {
		if got := escapePath(tt.in, tt.keepSlash); got != tt.want {
			t.Errorf("escapePath(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
		}
	}
}

func TestFunctionARN(t *testing.T) {
	for _, tt := range []struct{ region, account, want string }{
		{"us-east-1", "123456789012", "arn:aws:lambda:us-east-1:123456789012:function:fn"},
		{"cn-north-1", "123456789012", "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn"},
		{"us-gov-west-1", "", "arn:aws-us-gov:lambda:us-gov-west-1::function:fn"},
	} {
		if got := FunctionARN(tt.region, tt.account, "fn"); got != tt.want {
			t.Errorf("FunctionARN(%s, %q) = %s, want %s", tt.region, tt.account, got, tt.want)
		}
	}
}
