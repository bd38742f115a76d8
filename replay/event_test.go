package replay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/redact"
)

// layerRecord is the record the layer makes of a request, through its own
// record builder and serialiser, read back as the command reads it.
func layerRecord(t *testing.T, request invocation.Payload) record.Record {
	t.Helper()
	inv := invocation.Invocation{
		RequestID: "r1", InvokedFunctionARN: "arn:aws:lambda:eu-west-1:123456789012:function:f",
		Request: request, Response: invocation.Payload{Bytes: []byte(`{"errorType":"E"}`)}, Outcome: invocation.Error,
	}
	r := record.Build(inv, record.Function{})
	b, err := record.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := asRecord(b)
	if !ok {
		t.Fatalf("not read as a record: %s", b)
	}
	return got
}

func redactedBody(t *testing.T, rules []string, nonJSON redact.NonJSON, body string) invocation.Payload {
	t.Helper()
	red, err := redact.New(rules, nonJSON)
	if err != nil {
		t.Fatal(err)
	}
	return red.Payload(invocation.Payload{Bytes: []byte(body), Size: int64(len(body))})
}

// Every way the layer changes an event is told apart from an event kept whole.
func TestEvent(t *testing.T) {
	shrunk := func(location string) invocation.Payload {
		m, _ := json.Marshal(agent.Omitted{Omitted: true, Reason: "record of 300000 bytes is over the 262144-byte limit of arn:aws:sqs:…", Size: 290000, Location: location})
		return invocation.Payload{Bytes: m, Size: int64(len(m))}
	}
	tests := []struct {
		name      string
		request   invocation.Payload
		wantEvent string
		wantKind  string
	}{
		{"JSON, kept whole", invocation.Payload{Bytes: []byte(`{"order": 7, "items": ["a"]}`), Size: 28}, `{"order":7,"items":["a"]}`, ""},
		{"a JSON string", invocation.Payload{Bytes: []byte(`"hello"`), Size: 7}, `"hello"`, ""},
		{"text that is not JSON", invocation.Payload{Bytes: []byte(`hello`), Size: 5}, `"hello"`, ""},
		{"bytes that are not UTF-8, carried in base64", invocation.Payload{Bytes: []byte{0xff, 0xfe, 'x'}, Size: 3}, "\xff\xfex", ""},
		{"a value that only looks redacted", invocation.Payload{Bytes: []byte(`{"note":"[REDACTED] by the caller"}`), Size: 36}, `{"note":"[REDACTED] by the caller"}`, ""},
		{"truncated", invocation.Payload{Bytes: []byte(`{"order": 7, "pad": "xx`), Size: 5000, Truncated: true}, "", KindTruncated},
		{"left out (DESTINATIONS_INCLUDE)", invocation.Payload{}, "", KindNoPayload},
		{"a key redacted", redactedBody(t, []string{"password"}, redact.Keep, `{"user":"u","password":"p"}`), "", KindRedacted},
		{"a path redacted, deep", redactedBody(t, []string{"$.card.number"}, redact.Keep, `{"card":{"number":"4111"}}`), "", KindRedacted},
		{"not JSON, dropped", redactedBody(t, []string{"password"}, redact.Drop, `user=u&password=p`), "", KindRedacted},
		{"left out for size, the record on the log", shrunk(""), "", KindOmitted},
		{"left out for size, the record in the bucket not read", shrunk("s3://overflow/k"), "", KindOmitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := layerRecord(t, tt.request)
			ev, why := event(r)
			if why.Kind != tt.wantKind {
				t.Fatalf("reason %+v, want kind %q (requestPayload %s)", why, tt.wantKind, r.RequestPayload)
			}
			if string(ev) != tt.wantEvent {
				t.Errorf("event %q, want %q", ev, tt.wantEvent)
			}
			if tt.wantKind != "" && why.Text == "" {
				t.Error("a skip without a sentence")
			}
		})
	}
}

func TestOverflow(t *testing.T) {
	m, _ := json.Marshal(agent.Omitted{Omitted: true, Reason: "too large", Size: 9, Location: "s3://overflow/aws/lambda/async/f/k"})
	r := layerRecord(t, invocation.Payload{Bytes: m, Size: int64(len(m))})
	if got := overflow(r); got != "s3://overflow/aws/lambda/async/f/k" {
		t.Errorf("location %q", got)
	}
	// An event of the same shape with more fields is an event, not a marker.
	r = layerRecord(t, invocation.Payload{Bytes: []byte(`{"destinationsOmitted":true,"location":"s3://x/y","mine":1}`), Size: 60})
	if got := overflow(r); got != "" {
		t.Errorf("an event read as a marker: %q", got)
	}
	if _, why := event(r); why.Kind != "" {
		t.Errorf("an event read as a marker: %+v", why)
	}
	if !strings.Contains(string(r.RequestPayload), "mine") {
		t.Errorf("requestPayload %s", r.RequestPayload)
	}
}
