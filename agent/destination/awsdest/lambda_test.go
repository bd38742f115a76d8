package awsdest

import (
	"net/url"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

func TestLambdaSend(t *testing.T) {
	tests := []struct {
		name          string
		arn           string
		self          Options
		wantName      string
		wantQualifier string
		wantRegion    string
		recordARN     string // the function ARN the record carries, when the test sets one
	}{
		{"same account and region", "arn:aws:lambda:us-east-1:123456789012:function:function",
			Options{FunctionARN: fnARN}, "function", "", "us-east-1", ""},
		{"with a qualifier", "arn:aws:lambda:us-east-1:123456789012:function:handler:live",
			Options{FunctionARN: fnARN}, "handler", "live", "us-east-1", ""},
		{"self known by account and region only", "arn:aws:lambda:us-east-1:123456789012:function:handler:3",
			Options{FunctionARN: "-", Account: account, Region: "us-east-1"}, "handler", "3", "us-east-1", ""},
		{"another account", "arn:aws:lambda:us-east-1:210987654321:function:handler:live",
			Options{FunctionARN: fnARN}, "arn:aws:lambda:us-east-1:210987654321:function:handler:live", "", "us-east-1", ""},
		{"another region", "arn:aws:lambda:eu-west-3:123456789012:function:handler",
			Options{FunctionARN: fnARN}, "arn:aws:lambda:eu-west-3:123456789012:function:handler", "", "eu-west-3", ""},
		{"self unknown, the record's function in the same account", "arn:aws:lambda:us-east-1:123456789012:function:handler",
			Options{FunctionARN: "-"}, "handler", "", "us-east-1", "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"},
		{"self unknown, the record's function elsewhere", "arn:aws:lambda:us-east-1:123456789012:function:handler",
			Options{FunctionARN: "-"}, "arn:aws:lambda:us-east-1:123456789012:function:handler", "", "us-east-1", "arn:aws:lambda:us-east-1:210987654321:function:f:$LATEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeaws.NewLambda(t)
			awsEnv(t, "AWS_ENDPOINT_URL_LAMBDA", srv.URL)
			m := message("Success", 1024)
			if tt.recordARN != "" {
				m.FunctionARN = tt.recordARN
			}
			if err := newDest(t, tt.arn, tt.self).Send(ctxT(t), m); err != nil {
				t.Fatal(err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			c := calls[0]
			checkAuth(t, c, "lambda", tt.wantRegion)
			wantPath := "/2015-03-31/functions/" + tt.wantName + "/invocations"
			if c.Method != "POST" || c.Path != wantPath || c.Target != tt.wantName {
				t.Errorf("%s %s, want POST %s", c.Method, c.Path, wantPath)
			}
			wantQuery := url.Values{}
			if tt.wantQualifier != "" {
				wantQuery.Set("Qualifier", tt.wantQualifier)
			}
			if c.Query.Encode() != wantQuery.Encode() {
				t.Errorf("query %q, want %q", c.Query.Encode(), wantQuery.Encode())
			}
			if got := c.Header.Get("X-Amz-Invocation-Type"); got != "Event" {
				t.Errorf("X-Amz-Invocation-Type %q, want Event", got)
			}
			if got := c.Header.Get("X-Amzn-Trace-Id"); got != traceID {
				t.Errorf("X-Amzn-Trace-Id %q, want %q", got, traceID)
			}
			if c.Entries[0].Body != string(m.Record) {
				t.Errorf("payload is not the record")
			}
		})
	}
}

func TestLambdaTooLarge(t *testing.T) {
	srv := fakeaws.NewLambda(t)
	awsEnv(t, "AWS_ENDPOINT_URL_LAMBDA", srv.URL)
	d := newDest(t, "arn:aws:lambda:us-east-1:123456789012:function:f", Options{})
	if err := d.Send(ctxT(t), message("Success", LambdaMaxBytes+1)); classOf(err) != "too large" {
		t.Fatalf("Send: %v, want too large", err)
	}
	if err := d.Send(ctxT(t), message("Success", LambdaMaxBytes)); err != nil {
		t.Fatalf("Send at the limit: %v", err)
	}
}
