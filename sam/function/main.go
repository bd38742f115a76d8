// Command function is the sample Go function used by the tests, the demo and
// template.yaml. Its behaviour is chosen by the event, so that one binary can
// produce every outcome an extension has to record: success, handler error,
// timeout, crash, non-JSON and large responses.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Event is the shape the function understands. Unknown shapes are echoed.
type Event struct {
	Success       *bool           `json:"Success"`
	Timeout       bool            `json:"Timeout"`
	Crash         bool            `json:"Crash"`
	Text          *string         `json:"Text"`
	ResponseBytes int             `json:"ResponseBytes"`
	ListBytes     int             `json:"ListBytes"`
	Echo          json.RawMessage `json:"Echo"`
}

// SampleError is the error returned for {"Success": false}; its type name
// becomes the errorType of the Lambda error response.
type SampleError struct {
	Message string
}

func (e *SampleError) Error() string { return e.Message }

type action int

const (
	actReply   action = iota // answer body
	actFail                  // return err
	actTimeout               // sleep past the deadline
	actCrash                 // exit the process
)

func (a action) String() string {
	switch a {
	case actReply:
		return "reply"
	case actFail:
		return "fail"
	case actTimeout:
		return "timeout"
	case actCrash:
		return "crash"
	}
	return "unknown"
}

// outcome is what decide chose; kept apart from I/O so it can be table-tested.
type outcome struct {
	act  action
	body []byte
	err  error
}

const successBody = `{"ok":true,"message":"success"}`

// decide maps an event to an outcome. An API Gateway proxy event is decided
// by its body and answered with an API Gateway proxy response; an SQS event
// succeeds with a batch response that reports no failures.
func decide(payload []byte) outcome {
	if req, ok := apiGatewayProxy(payload); ok {
		return decideAPIGateway(req)
	}
	if isSQS(payload) {
		body, _ := json.Marshal(events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}})
		return outcome{act: actReply, body: body}
	}
	return decideEvent(payload)
}

// apiGatewayProxy recognises an API Gateway REST proxy event by the fields
// the Event shape does not have: httpMethod and requestContext.requestId.
func apiGatewayProxy(payload []byte) (events.APIGatewayProxyRequest, bool) {
	var req events.APIGatewayProxyRequest
	if !bytes.Contains(payload, []byte(`"httpMethod"`)) { // cheap: large test payloads pass here
		return req, false
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return req, false
	}
	return req, req.HTTPMethod != "" && req.RequestContext.RequestID != ""
}

// decideAPIGateway decides on the request body and wraps a reply in an
// API Gateway proxy response; failures, timeouts and crashes stay what they are.
func decideAPIGateway(req events.APIGatewayProxyRequest) outcome {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(req.Body); err == nil {
			body = b
		}
	}
	o := decideEvent(body)
	if o.act != actReply {
		return o
	}
	resp := events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}
	switch {
	case !utf8.Valid(o.body):
		resp.Headers["Content-Type"] = "application/octet-stream"
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(o.body), true
	case json.Valid(o.body):
		resp.Headers["Content-Type"] = "application/json"
		resp.Body = string(o.body)
	default:
		resp.Body = string(o.body)
	}
	b, _ := json.Marshal(resp)
	return outcome{act: actReply, body: b}
}

// isSQS recognises an SQS event: records that all come from aws:sqs.
func isSQS(payload []byte) bool {
	var ev events.SQSEvent
	if !bytes.Contains(payload, []byte(`"aws:sqs"`)) {
		return false
	}
	if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) == 0 {
		return false
	}
	for _, r := range ev.Records {
		if r.EventSource != "aws:sqs" {
			return false
		}
	}
	return true
}

// decideEvent maps an Event to an outcome. The more destructive outcomes win
// when several fields are set, so {"Crash":true,"Success":true} crashes.
func decideEvent(payload []byte) outcome {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return outcome{act: actReply, body: payload}
	}
	switch {
	case ev.Crash:
		return outcome{act: actCrash}
	case ev.Timeout:
		return outcome{act: actTimeout}
	case ev.Success != nil && !*ev.Success:
		return outcome{act: actFail, err: &SampleError{Message: "sample failure requested by the event"}}
	case ev.Text != nil:
		return outcome{act: actReply, body: []byte(*ev.Text)}
	case ev.ResponseBytes > 0:
		return outcome{act: actReply, body: jsonString(ev.ResponseBytes)}
	case ev.ListBytes > 0:
		return outcome{act: actReply, body: jsonList(ev.ListBytes)}
	case ev.Echo != nil:
		return outcome{act: actReply, body: payload}
	case ev.Success != nil:
		return outcome{act: actReply, body: []byte(successBody)}
	}
	return outcome{act: actReply, body: payload}
}

// jsonList returns a JSON array of exactly n bytes (at least 2) of objects
// such as an API lists: keys, numbers and short strings, the work a large
// response gives a JSON reader. The last object pads it to size.
func jsonList(n int) []byte {
	const last = `{"pad":""}]`
	if n < 1+len(last) {
		return jsonString(n)
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i := 0; ; i++ {
		item := fmt.Appendf(nil, `{"id":%d,"name":"item-%06d","price":12.5,"tags":["a","b"]},`, i, i)
		if len(b)+len(item)+len(last) > n {
			break
		}
		b = append(b, item...)
	}
	b = append(b, `{"pad":"`...)
	b = append(b, bytes.Repeat([]byte("x"), n-len(b)-len(`"}]`))...)
	return append(b, `"}]`...)
}

// jsonString returns a JSON string literal of exactly n bytes (at least 2).
func jsonString(n int) []byte {
	n = max(n, 2)
	b := bytes.Repeat([]byte("x"), n)
	b[0], b[n-1] = '"', '"'
	return b
}

// handler implements lambda.Handler so that bodies go out byte for byte,
// without aws-lambda-go's JSON encoding.
type handler struct {
	log *slog.Logger
}

func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	o := decide(payload)
	h.log.InfoContext(ctx, "invocation", "action", o.act.String())
	switch o.act {
	case actFail:
		return nil, o.err
	case actTimeout:
		wait := 15 * time.Minute
		if d, ok := ctx.Deadline(); ok {
			wait = time.Until(d) + time.Minute
		}
		// Not watching ctx: the point is to outlive the deadline.
		time.Sleep(wait)
		return []byte(`{"ok":false,"message":"woke up after the deadline"}`), nil
	case actCrash:
		os.Exit(3)
	}
	return o.body, nil
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(handler{log: log})
}
