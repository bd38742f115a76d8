package awsdest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

func TestConformanceInvoker(t *testing.T) {
	tests := []struct {
		name string
		in   Invocation
	}{
		{"by name, RequestResponse", Invocation{Function: "handler", Type: InvocationRequestResponse}},
		{"by name and qualifier, Event", Invocation{Function: "handler", Qualifier: "$LATEST", Type: InvocationEvent}},
		{"by ARN and alias", Invocation{Function: "arn:aws:lambda:us-east-1:210987654321:function:handler", Qualifier: "live", Type: InvocationRequestResponse}},
		{"by name:qualifier", Invocation{Function: "handler:7", Type: InvocationEvent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdkSrv, ourSrv := fakeaws.NewLambda(t), fakeaws.NewLambda(t)
			awsEnv(t, "AWS_ENDPOINT_URL_LAMBDA", ourSrv.URL)
			client := lambda.NewFromConfig(sdkConfig("us-east-1", sdkSrv.URL))
			tt.in.Payload = []byte(`{"Success":false,"note":"<&> é"}`)
			in := &lambda.InvokeInput{FunctionName: aws.String(tt.in.Function), InvocationType: lambdatypes.InvocationType(tt.in.Type), Payload: tt.in.Payload}
			if tt.in.Qualifier != "" {
				in.Qualifier = aws.String(tt.in.Qualifier)
			}
			if _, err := client.Invoke(ctxT(t), in); err != nil {
				t.Fatal(err)
			}
			res, err := NewInvoker(NewConfig()).Invoke(ctxT(t), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus := map[string]int{InvocationEvent: 202, InvocationRequestResponse: 200}[tt.in.Type]
			if res.StatusCode != wantStatus || res.FunctionError != "" {
				t.Errorf("result %+v", res)
			}
			sameCalls(t, sdkSrv.Calls(), ourSrv.Calls(), "Content-Type", "X-Amz-Invocation-Type")
		})
	}
}

// A function that failed is an answer, not an error; a refused call is an
// error, retryable or not.
func TestInvokerAnswers(t *testing.T) {
	var region string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		region = strings.Split(auth[strings.Index(auth, "Credential=")+len("Credential="):], "/")[2]
		switch {
		case strings.Contains(r.URL.Path, "/failing/"):
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Header().Set("X-Amz-Executed-Version", "3")
			w.Write([]byte(`{"errorType":"SampleError","errorMessage":"no"}`))
		case strings.Contains(r.URL.Path, "/private/"):
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"Type":"User","Message":"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: lambda:InvokeFunction"}`))
		case strings.Contains(r.URL.Path, "/busy/"):
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"Rate Exceeded."}`))
		default:
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-3:123456789012:function:gone"}`))
		}
	}))
	defer srv.Close()
	awsEnv(t, "AWS_ENDPOINT_URL_LAMBDA", srv.URL)
	iv := NewInvoker(NewConfig())

	res, err := iv.Invoke(ctxT(t), Invocation{Function: "failing", Type: InvocationRequestResponse, Payload: []byte(`{}`)})
	if err != nil || res.FunctionError != "Unhandled" || res.ExecutedVersion != "3" || !strings.Contains(string(res.Payload), "SampleError") {
		t.Errorf("a failing function: %+v, %v", res, err)
	}
	if region != "us-east-1" {
		t.Errorf("a name is invoked in AWS_REGION, not %s", region)
	}

	_, err = iv.Invoke(ctxT(t), Invocation{Function: "private", Type: InvocationEvent})
	if !Denied(err) || Retryable(err) || !strings.Contains(err.Error(), "lambda:InvokeFunction") {
		t.Errorf("no permission: %v (denied %v)", err, Denied(err))
	}

	_, err = iv.Invoke(ctxT(t), Invocation{Function: "busy", Type: InvocationEvent})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "TooManyRequestsException" || !Retryable(err) || Denied(err) || !strings.Contains(err.Error(), "function busy") {
		t.Errorf("throttled: %v (retryable %v)", err, Retryable(err))
	}

	_, err = iv.Invoke(ctxT(t), Invocation{Function: "arn:aws:lambda:eu-west-3:123456789012:function:gone", Type: InvocationEvent})
	if err == nil || Retryable(err) || Denied(err) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("no such function: %v (retryable %v, denied %v)", err, Retryable(err), Denied(err))
	}
	if region != "eu-west-3" {
		t.Errorf("an ARN is invoked in its own region, not %s", region)
	}
}
