package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// NewEventBridge starts a fake EventBridge: PutEvents in AWS JSON 1.1.
func NewEventBridge(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, busFake{}, busFaults)
}

type busFake struct{}

type busEntry struct {
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	EventBusName string
	TraceHeader  string
	Time         json.Number // epoch seconds in AWS JSON
}

func (busFake) signingName() string { return "events" }

func (busFake) batch(op string) bool { return op == "PutEvents" }

func (busFake) decode(r *http.Request, body []byte) (Call, error) {
	if t := r.Header.Get("X-Amz-Target"); t != "AWSEvents.PutEvents" || r.Method != http.MethodPost || r.URL.Path != "/" {
		return Call{}, fmt.Errorf("not an EventBridge PutEvents call: %s %s X-Amz-Target %q", r.Method, r.URL.Path, t)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return Call{}, fmt.Errorf("Content-Type %q, want application/x-amz-json-1.1", ct)
	}
	var req struct {
		Entries    []busEntry
		EndpointId string
	}
	if err := strictJSON(body, &req); err != nil {
		return Call{}, fmt.Errorf("PutEvents body: %w", err)
	}
	if len(req.Entries) == 0 {
		return Call{}, fmt.Errorf("PutEvents without entries")
	}
	c := Call{Operation: "PutEvents"}
	for _, e := range req.Entries {
		c.Entries = append(c.Entries, Entry{
			Body: e.Detail, EventBusName: e.EventBusName, Source: e.Source, DetailType: e.DetailType,
			Resources: e.Resources, TraceHeader: e.TraceHeader, Time: e.Time.String(),
		})
	}
	return c, nil
}

// busFaults is how EventBridge spells each fault.
var busFaults = &faultTable{
	Throttle:     {status: 400, code: "ThrottlingException", message: "Rate exceeded", sender: true},
	ServerError:  {status: 500, code: "InternalException", message: "Internal service error"},
	TooLarge:     {status: 400, code: "ValidationException", message: "Total size of the entries in the request is over the limit.", sender: true},
	NotFound:     {status: 400, code: "ResourceNotFoundException", message: "Event bus does not exist.", sender: true},
	AccessDenied: {status: 400, code: "AccessDeniedException", message: "User is not authorized to perform: events:PutEvents", sender: true},
	badSignature: {status: 400, code: "InvalidSignatureException", message: "The request signature we calculated does not match the signature you provided", sender: true},
}

// busEntryFault is how a failed entry of a 200 answer spells f.
func busEntryFault(f wireError) (code, message string) {
	switch f.code {
	case "ThrottlingException":
		return "ThrottlingException", f.message
	case "InternalException":
		return "InternalFailure", f.message
	case "ValidationException":
		return "InvalidArgument", "Event size exceeds the maximum size limit of 262144 bytes."
	}
	return f.code, f.message
}

func (busFake) writeError(w http.ResponseWriter, e wireError) {
	writeJSON(w, e.status, "application/x-amz-json-1.1", map[string]string{"__type": e.code, "message": e.message})
}

func (busFake) answer(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError) {
	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	for k := range c.Entries {
		if we, isFailed := failed[k]; isFailed {
			code, msg := busEntryFault(we)
			out.Entries = append(out.Entries, result{ErrorCode: code, ErrorMessage: msg})
			out.FailedEntryCount++
			continue
		}
		out.Entries = append(out.Entries, result{EventId: s.messageID()})
	}
	writeJSON(w, 200, "application/x-amz-json-1.1", out)
}
