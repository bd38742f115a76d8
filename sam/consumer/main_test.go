package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

const record = `{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST","condition":"Failure","approximateInvokeCount":1},"requestPayload":{"Success":false},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom","errorType":"Error"}}`

const eventBridge = `{"version":"0","id":"b8e4b6c4-5b7e-xmpl-9c5c-3f1c2f7b9a0d","detail-type":"Lambda Function Invocation Result - Failure","source":"lambda","account":"123456789012","time":"2019-11-14T18:16:05Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:event-bus/destinations","arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST"],"detail":` + record + `}`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		wantVia string
		wantErr bool
	}{
		{name: "direct", payload: record, wantVia: "lambda"},
		{name: "eventbridge", payload: eventBridge, wantVia: "eventbridge"},
		{name: "not json", payload: `hello`, wantErr: true},
		{name: "not a record", payload: `{"Success":true}`, wantErr: true},
		{name: "eventbridge without a record", payload: `{"detail-type":"Scheduled Event","detail":{}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse([]byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.via != tt.wantVia {
				t.Errorf("via = %q, want %q", got.via, tt.wantVia)
			}
			if got.rec.RequestContext.Condition != "Failure" || got.rec.RequestContext.RequestID != "e4b46cbf-b738-xmpl-8880-a18cdf61200e" {
				t.Errorf("requestContext = %+v", got.rec.RequestContext)
			}
			if !bytes.Equal(got.record, []byte(record)) {
				t.Errorf("record = %s, want the execution record", got.record)
			}
		})
	}
}

func TestInvokeLogsRecord(t *testing.T) {
	var out bytes.Buffer
	h := handler{log: slog.New(slog.NewJSONHandler(&out, nil))}
	resp, err := h.Invoke(context.Background(), []byte(eventBridge))
	if err != nil || resp != nil {
		t.Fatalf("Invoke = %s, %v; want nil, nil", resp, err)
	}
	var line struct {
		Msg       string          `json:"msg"`
		Via       string          `json:"via"`
		Condition string          `json:"condition"`
		Record    json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", out.String(), err)
	}
	if line.Msg != "execution record received" || line.Via != "eventbridge" || line.Condition != "Failure" {
		t.Errorf("log line = %s", out.String())
	}
	var want, got any
	_ = json.Unmarshal([]byte(record), &want)
	_ = json.Unmarshal(line.Record, &got)
	if !jsonEqual(want, got) {
		t.Errorf("logged record = %s, want %s", line.Record, record)
	}

	out.Reset()
	if _, err := h.Invoke(context.Background(), []byte(`[1]`)); err != nil {
		t.Fatalf("a malformed payload must not fail the invocation: %v", err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"not an execution record"`)) {
		t.Errorf("log = %s, want a warning", out.String())
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
