package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		wantAct  action
		wantBody string
		wantErr  bool
	}{
		{name: "success", event: `{"Success": true}`, wantAct: actReply, wantBody: successBody},
		{name: "failure", event: `{"Success": false}`, wantAct: actFail, wantErr: true},
		{name: "timeout", event: `{"Timeout": true}`, wantAct: actTimeout},
		{name: "crash", event: `{"Crash": true}`, wantAct: actCrash},
		{name: "crash wins over success", event: `{"Crash": true, "Success": true}`, wantAct: actCrash},
		{name: "text", event: `{"Text": "plain <b>text</b>"}`, wantAct: actReply, wantBody: "plain <b>text</b>"},
		{name: "empty text", event: `{"Text": ""}`, wantAct: actReply, wantBody: ""},
		{name: "response bytes", event: `{"ResponseBytes": 6}`, wantAct: actReply, wantBody: `"xxxx"`},
		{name: "response bytes tiny", event: `{"ResponseBytes": 1}`, wantAct: actReply, wantBody: `""`},
		{name: "list bytes", event: `{"ListBytes": 90}`, wantAct: actReply, wantBody: `[{"id":0,"name":"item-000000","price":12.5,"tags":["a","b"]},{"pad":"xxxxxxxxxxxxxxxxxx"}]`},
		{name: "echo", event: `{"Echo": {"a": [1, 2]}, "Other": 1}`, wantAct: actReply, wantBody: `{"Echo": {"a": [1, 2]}, "Other": 1}`},
		{name: "unknown object", event: `{"hello": "world"}`, wantAct: actReply, wantBody: `{"hello": "world"}`},
		{name: "not an object", event: `[1,2,3]`, wantAct: actReply, wantBody: `[1,2,3]`},
		{name: "not json", event: `hello`, wantAct: actReply, wantBody: `hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide([]byte(tt.event))
			if got.act != tt.wantAct {
				t.Fatalf("act = %v, want %v", got.act, tt.wantAct)
			}
			if !bytes.Equal(got.body, []byte(tt.wantBody)) {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
			if (got.err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", got.err, tt.wantErr)
			}
			if tt.wantErr {
				if _, ok := errors.AsType[*SampleError](got.err); !ok {
					t.Errorf("err type = %T, want *SampleError", got.err)
				}
			}
		})
	}
}

func TestJSONListLength(t *testing.T) {
	for _, n := range []int{0, 2, 11, 12, 13, 100, 1000, 5 << 20} {
		b := jsonList(n)
		if len(b) != max(n, 2) || !json.Valid(b) {
			t.Errorf("jsonList(%d): %d bytes, valid JSON %v: %.80s", n, len(b), json.Valid(b), b)
		}
	}
}

func TestJSONStringLength(t *testing.T) {
	for _, n := range []int{0, 2, 3, 1000, 300 * 1024} {
		if got := len(jsonString(n)); got != max(n, 2) {
			t.Errorf("len(jsonString(%d)) = %d", n, got)
		}
	}
}

// apiGatewayEvent is events/apigw-proxy.json with its body replaced.
func apiGatewayEvent(t *testing.T, body string, base64Encoded bool) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readEvent(t, "apigw-proxy.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"], ev["isBase64Encoded"] = body, base64Encoded
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecideEventSources(t *testing.T) {
	tests := []struct {
		name     string
		event    []byte
		wantAct  action
		wantErr  bool
		wantResp *events.APIGatewayProxyResponse // for API Gateway replies
		wantBody string                          // for other replies
	}{
		{
			name: "api gateway success", event: readEvent(t, "apigw-proxy.json"), wantAct: actReply,
			wantResp: &events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: successBody},
		},
		{name: "api gateway failure", event: apiGatewayEvent(t, `{"Success": false}`, false), wantAct: actFail, wantErr: true},
		{name: "api gateway timeout", event: apiGatewayEvent(t, `{"Timeout": true}`, false), wantAct: actTimeout},
		{
			name: "api gateway base64 body", event: apiGatewayEvent(t, base64.StdEncoding.EncodeToString([]byte(`{"Success": true}`)), true), wantAct: actReply,
			wantResp: &events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: successBody},
		},
		{
			name: "api gateway text body", event: apiGatewayEvent(t, "hello", false), wantAct: actReply,
			wantResp: &events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "hello"},
		},
		{name: "sqs batch", event: readEvent(t, "sqs-batch.json"), wantAct: actReply, wantBody: `{"batchItemFailures":[]}`},
		{name: "records from elsewhere are echoed", event: []byte(`{"Records":[{"eventSource":"aws:s3"}]}`), wantAct: actReply, wantBody: `{"Records":[{"eventSource":"aws:s3"}]}`},
		{name: "httpMethod alone is not api gateway", event: []byte(`{"httpMethod":"GET","Success":true}`), wantAct: actReply, wantBody: successBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.event)
			if got.act != tt.wantAct {
				t.Fatalf("act = %v, want %v", got.act, tt.wantAct)
			}
			if (got.err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", got.err, tt.wantErr)
			}
			if tt.wantErr {
				if _, ok := errors.AsType[*SampleError](got.err); !ok {
					t.Errorf("err type = %T, want *SampleError", got.err)
				}
			}
			if tt.wantResp != nil {
				var resp events.APIGatewayProxyResponse
				if err := json.Unmarshal(got.body, &resp); err != nil {
					t.Fatalf("body %q is not an API Gateway proxy response: %v", got.body, err)
				}
				if !reflect.DeepEqual(resp, *tt.wantResp) {
					t.Errorf("response = %+v, want %+v", resp, *tt.wantResp)
				}
				return
			}
			if tt.wantAct == actReply && string(got.body) != tt.wantBody {
				t.Errorf("body = %s, want %s", got.body, tt.wantBody)
			}
		})
	}
}

func TestSQSResponseShape(t *testing.T) {
	var resp events.SQSEventResponse
	got := decide(readEvent(t, "sqs-batch.json"))
	if err := json.Unmarshal(got.body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("batchItemFailures = %#v, want an empty list", resp.BatchItemFailures)
	}
}
