// Command consumer is the example failure destination of template.yaml: a
// Lambda function that receives execution records, either invoked directly
// (a Lambda destination) or through an EventBridge rule, and logs each one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// envelope holds the parts of an execution record, or of the EventBridge
// event that carries one in its detail, that the log line names.
type envelope struct {
	// EventBridge events.
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`

	// Execution records.
	Version        string `json:"version"`
	RequestContext struct {
		RequestID   string `json:"requestId"`
		FunctionARN string `json:"functionArn"`
		Condition   string `json:"condition"`
	} `json:"requestContext"`
}

// received is what one payload says: how it came and the record it holds.
type received struct {
	via    string // "lambda" or "eventbridge"
	record json.RawMessage
	rec    envelope
}

// parse finds the execution record in a payload.
func parse(payload []byte) (received, error) {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return received{}, errors.New("payload is not a JSON object")
	}
	r := received{via: "lambda", record: payload, rec: env}
	if env.DetailType != "" && len(env.Detail) > 0 {
		r.via, r.record = "eventbridge", env.Detail
		if err := json.Unmarshal(env.Detail, &r.rec); err != nil {
			return received{}, errors.New("EventBridge detail is not a JSON object")
		}
	}
	if r.rec.Version == "" || r.rec.RequestContext.RequestID == "" {
		return received{}, errors.New("payload is not an execution record: no version or requestContext.requestId")
	}
	return r, nil
}

type handler struct {
	log *slog.Logger
}

// Invoke logs the record and never fails on a malformed one: a failure
// would only make Lambda retry a payload that cannot improve.
func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r, err := parse(payload)
	if err != nil {
		h.log.WarnContext(ctx, "not an execution record", "error", err, "bytes", len(payload))
		return nil, nil
	}
	h.log.InfoContext(ctx, "execution record received",
		"via", r.via,
		"condition", r.rec.RequestContext.Condition,
		"requestId", r.rec.RequestContext.RequestID,
		"functionArn", r.rec.RequestContext.FunctionARN,
		"record", r.record)
	return nil, nil
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(handler{log: log})
}
