package awsdest

import (
	"net/http"
	"testing"
)

// Each protocol's refusals are read as the SDK reads them.
func TestAPIErrorParsing(t *testing.T) {
	tests := []struct {
		name    string
		proto   protocol
		status  int
		header  map[string]string
		body    string
		code    string
		message string
		id      string
	}{
		{"json __type with namespace", awsJSON, 400, nil,
			`{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`, "ValidationException", "bad", ""},
		{"json query-compatible code", awsJSON, 400, map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender", "X-Amzn-RequestId": "r1"},
			`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", "r1"},
		{"json Message capitalised", awsJSON, 400, nil, `{"__type":"ThrottlingException","Message":"Rate exceeded"}`, "ThrottlingException", "Rate exceeded", ""},
		{"json header type with URI", awsJSON, 400, map[string]string{"X-Amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/"},
			`{"message":"no"}`, "AccessDeniedException", "no", ""},
		{"json code field", awsJSON, 400, nil, `{"code":"SomeCode","message":"m"}`, "SomeCode", "m", ""},
		{"json not JSON", awsJSON, 502, nil, `<html>Bad Gateway</html>`, "", "", ""},
		{"rest json header", restJSON, 404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException", "X-Amzn-RequestId": "r2"},
			`{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:f"}`, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f", "r2"},
		{"query", awsQuery, 404, nil,
			`<?xml version="1.0"?><ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r3</RequestId></ErrorResponse>`,
			"NotFound", "Topic does not exist", "r3"},
		{"rest xml", restXML, 403, map[string]string{"X-Amz-Request-Id": "r4"},
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`, "AccessDenied", "Access Denied", "r4"},
		{"rest xml no body", restXML, 404, nil, ``, "NotFound", "", ""},
		{"rest xml no body 503", restXML, 503, nil, ``, "ServiceUnavailable", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.header {
				resp.Header.Set(k, v)
			}
			c := &client{proto: tt.proto}
			e := c.apiError("Op", resp, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.message || e.RequestID != tt.id || e.StatusCode != tt.status || e.Operation != "Op" {
				t.Errorf("got %+v; want code %q, message %q, request id %q", e, tt.code, tt.message, tt.id)
			}
		})
	}
}

func TestS3RegionFromErrorBody(t *testing.T) {
	resp := &http.Response{StatusCode: 400, Header: http.Header{}}
	body := `<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>`
	e := (&client{proto: restXML}).apiError("PutObject", resp, []byte(body))
	if e.region != "eu-west-1" || e.Code != "AuthorizationHeaderMalformed" {
		t.Fatalf("got %+v", e)
	}
}
