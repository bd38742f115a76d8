package sam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestLocalInvoke does what `sam local invoke SampleFunction -e EVENT
// --env-vars env.json` does, without Docker: the layer and the function as
// `sam build` builds them, under the emulator that sam local runs, with the
// variables of env.json. Every event, sync or from an event source, must
// give a record on the log.
func TestLocalInvoke(t *testing.T) {
	if err := rie.Available(); err != nil {
		t.Skip(err)
	}
	layer := samBuild(t, "DestinationsLayer")
	function := samBuild(t, "SampleFunction")

	b, err := os.ReadFile(filepath.Join("..", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var envJSON map[string]map[string]string
	if err := json.Unmarshal(b, &envJSON); err != nil {
		t.Fatal(err)
	}

	e := riet.StartT(t, rie.Options{
		LayerDir: layer,
		TaskRoot: function,
		// As in Lambda: /opt/bootstrap, with _HANDLER the Handler setting.
		Command:      []string{"/opt/bootstrap", loadTemplate(t).prop("SampleFunction", "Handler").(string)},
		Env:          envJSON["SampleFunction"],
		FunctionName: "SampleFunction",
		Timeout:      3 * time.Second,
	})

	tests := []struct {
		event         string
		wantCondition string
		checkResponse func(t *testing.T, body []byte)
	}{
		{event: "success.json", wantCondition: "Success"},
		{event: "failure.json", wantCondition: "Failure"},
		{event: "apigw-proxy.json", wantCondition: "Success", checkResponse: func(t *testing.T, body []byte) {
			var resp events.APIGatewayProxyResponse
			if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != 200 || !json.Valid([]byte(resp.Body)) {
				t.Errorf("response %s: want an API Gateway proxy response with status 200 (%v)", body, err)
			}
		}},
		{event: "sqs-batch.json", wantCondition: "Success", checkResponse: func(t *testing.T, body []byte) {
			if string(body) != `{"batchItemFailures":[]}` {
				t.Errorf("response %s: want an SQS batch response without failures", body)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			event, err := os.ReadFile(filepath.Join("..", "events", tt.event))
			if err != nil {
				t.Fatal(err)
			}
			requestID := "00000000-0000-4000-8000-00000000000" + string(rune('1'+i))
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			resp, err := e.Invoke(ctx, event, http.Header{"Content-Type": {"application/json"}, "X-Amzn-Requestid": {requestID}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.checkResponse != nil {
				tt.checkResponse(t, resp.Body)
			}
			if err := e.WaitOutput(ctx, `"msg":"execution record","destination":"stdout","condition":"`+tt.wantCondition+`","requestId":"`+requestID+`"`); err != nil {
				t.Fatal(err)
			}
			line := recordLine(t, e.Output(), requestID)
			var got struct {
				Record struct {
					RequestPayload  json.RawMessage `json:"requestPayload"`
					ResponsePayload json.RawMessage `json:"responsePayload"`
				} `json:"record"`
			}
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("record line %s: %v", line, err)
			}
			if !jsonEqual(t, got.Record.RequestPayload, event) {
				t.Errorf("requestPayload = %s, want the event %s", got.Record.RequestPayload, event)
			}
			if tt.wantCondition == "Success" && !jsonEqual(t, got.Record.ResponsePayload, resp.Body) {
				t.Errorf("responsePayload = %s, want the response %s", got.Record.ResponsePayload, resp.Body)
			}
		})
	}
}

// recordLine is the stdout record line of a request.
func recordLine(t *testing.T, output, requestID string) string {
	t.Helper()
	for line := range strings.Lines(output) {
		if strings.Contains(line, `"msg":"execution record"`) && strings.Contains(line, `"requestId":"`+requestID+`"`) {
			return line
		}
	}
	t.Fatalf("no record line for %s", requestID)
	return ""
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	var u, v any
	_ = json.Unmarshal(x.Bytes(), &u)
	_ = json.Unmarshal(y.Bytes(), &v)
	ub, _ := json.Marshal(u)
	vb, _ := json.Marshal(v)
	return bytes.Equal(ub, vb)
}
