package arn

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    ARN
		wantErr string
	}{
		{in: "arn:aws:sqs:us-east-1:123456789012:q", want: ARN{"aws", "sqs", "us-east-1", "123456789012", "q"}},
		{in: "arn:aws-cn:sns:cn-north-1:123456789012:t.fifo", want: ARN{"aws-cn", "sns", "cn-north-1", "123456789012", "t.fifo"}},
		{in: "arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/b", want: ARN{"aws-us-gov", "events", "us-gov-west-1", "123456789012", "event-bus/b"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:live", want: ARN{"aws", "lambda", "us-east-1", "123456789012", "function:f:live"}},
		{in: "arn:aws:s3:::bucket", want: ARN{"aws", "s3", "", "", "bucket"}},
		{in: "arn:aws:sqs:us-east-1:123456789012:", want: ARN{"aws", "sqs", "us-east-1", "123456789012", ""}},
		{in: "", wantErr: "malformed ARN"},
		{in: "arn:aws:sqs:us-east-1:123456789012", wantErr: "malformed ARN"},
		{in: "urn:aws:sqs:us-east-1:123456789012:q", wantErr: "malformed ARN"},
		{in: "arn:gcp:sqs:us-east-1:123456789012:q", wantErr: `unknown partition "gcp"`},
		{in: "arn:awsx:sqs:us-east-1:123456789012:q", wantErr: "unknown partition"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an error saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestFunctionParts(t *testing.T) {
	tests := []struct {
		in, name, qualifier, unqualified string
	}{
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "f", "", "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", "f", "$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:7", "f", "7", "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:my-fn:live", "my-fn", "live", "arn:aws-cn:lambda:cn-north-1:123456789012:function:my-fn"},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:g", "g", "", "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:g"},
		// Not a function's: no name, no qualifier, unchanged.
		{"arn:aws:lambda:us-east-1:123456789012:layer:l:1", "", "", "arn:aws:lambda:us-east-1:123456789012:layer:l:1"},
		{"arn:aws:sqs:us-east-1:123456789012:function:q", "", "", "arn:aws:sqs:us-east-1:123456789012:function:q"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if a.FunctionName() != tt.name || a.Qualifier() != tt.qualifier || a.Unqualified().String() != tt.unqualified {
				t.Errorf("name %q, qualifier %q, unqualified %q; want %q, %q, %q",
					a.FunctionName(), a.Qualifier(), a.Unqualified(), tt.name, tt.qualifier, tt.unqualified)
			}
		})
	}
}

func TestSameAccount(t *testing.T) {
	fn := ARN{"aws", "lambda", "us-east-1", "123456789012", "function:f"}
	tests := []struct {
		name  string
		other ARN
		want  bool
	}{
		{"same function", fn, true},
		{"another service, same account and region", ARN{"aws", "sqs", "us-east-1", "123456789012", "q"}, true},
		{"another account", ARN{"aws", "lambda", "us-east-1", "210987654321", "function:f"}, false},
		{"another region", ARN{"aws", "lambda", "eu-west-3", "123456789012", "function:f"}, false},
		{"another partition", ARN{"aws-cn", "lambda", "us-east-1", "123456789012", "function:f"}, false},
		{"partition unknown", ARN{Region: "us-east-1", Account: "123456789012"}, true},
		{"account unknown", ARN{Region: "us-east-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fn.SameAccount(tt.other); got != tt.want {
				t.Errorf("SameAccount = %v, want %v", got, tt.want)
			}
			if got := tt.other.SameAccount(fn); got != tt.want {
				t.Errorf("SameAccount, the other way round, = %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkParseUnqualified(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		a, err := Parse("arn:aws:lambda:us-east-1:123456789012:function:f:live")
		if err != nil || a.Unqualified().Resource != "function:f" {
			b.Fatal(a, err)
		}
	}
}
