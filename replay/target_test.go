package replay

import (
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
)

func TestTarget(t *testing.T) {
	r := rec("r1", "Failure", "", `{}`) // of …:function:orders:live
	tests := []struct {
		name          string
		function      string
		functionARN   string // of the record, when not the default
		wantFunction  string
		wantQualifier string
		wantErr       string
	}{
		{"the record's function, with its qualifier", "", "", "arn:aws:lambda:eu-west-1:123456789012:function:orders", "live", ""},
		{"the record's function, $LATEST", "", "arn:aws:lambda:us-east-1:012345678912:function:function:$LATEST", "arn:aws:lambda:us-east-1:012345678912:function:function", "$LATEST", ""},
		{"a native record's function, unqualified", "", "arn:aws:lambda:eu-west-1:123456789012:function:orders", "arn:aws:lambda:eu-west-1:123456789012:function:orders", "", ""},
		{"a record whose functionArn is not one", "", "arn:aws:lambda:eu-west-1:1:function:orders", "", "", "functionArn: malformed lambda ARN"},
		{"--function by name", "function", "", "function", "", ""},
		{"--function NAME:QUALIFIER, as Lambda takes it", "orders:7", "", "orders:7", "", ""},
		{"--function by ARN", "arn:aws:lambda:eu-west-1:123456789012:function:other:blue", "", "arn:aws:lambda:eu-west-1:123456789012:function:other", "blue", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if tt.functionARN != "" {
				r.RequestContext.FunctionARN = tt.functionARN
			}
			target := Target{Function: tt.function, Type: awsdest.InvocationEvent}
			in, err := target.invocation(r, []byte(`{"a":1}`))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Function != tt.wantFunction || in.Qualifier != tt.wantQualifier || in.Type != "Event" || string(in.Payload) != `{"a":1}` {
				t.Errorf("invocation %+v", in)
			}
		})
	}
}

func TestParseTargetFlags(t *testing.T) {
	for _, tt := range []struct{ in, want, wantErr string }{
		{"my-function", "my-function", ""},
		{" my-function:live ", "my-function:live", ""},
		{"123456789012:function:my-function", "123456789012:function:my-function", ""},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f:1", "arn:aws:lambda:eu-west-1:123456789012:function:f:1", ""},
		{"arn:aws:lambda:eu-west-1:123456789012:f", "", "--function: malformed lambda ARN"},
		{"arn:aws:sqs:eu-west-1:123456789012:q", "", "not a Lambda function ARN"},
		{"", "", "want a function name"},
		{"a b", "", "want a function name"},
	} {
		got, err := ParseFunction(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFunction(%q): %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFunction(%q) = %q, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct{ in, want string }{{"event", "Event"}, {"RequestResponse", "RequestResponse"}, {"requestresponse", "RequestResponse"}, {"DryRun", ""}} {
		got, err := ParseInvocationType(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("ParseInvocationType(%q) = %q, %v", tt.in, got, err)
		}
	}
}
