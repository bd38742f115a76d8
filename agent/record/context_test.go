package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

func TestContext(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	env := Environment{MemorySizeMB: 512, LogGroup: "/aws/lambda/f", LogStream: "2025/01/02/[$LATEST]abc"}
	tests := []struct {
		name string
		inv  invocation.Invocation
		env  Environment
		want string
	}{
		{"all", invocation.Invocation{
			Start: t0, End: t0.Add(1234567 * time.Microsecond), ColdStart: true,
			TraceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
			ClientContext:   `{"client": {"app_title":"x"}, "custom":{"k":1}}`,
			CognitoIdentity: `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
		}, env, `{"durationMs":1234.567,"coldStart":true,"memorySizeMB":512,` +
			`"traceId":"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",` +
			`"clientContext":{"client":{"app_title":"x"},"custom":{"k":1}},` +
			`"cognitoIdentity":{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"},` +
			`"logGroup":"/aws/lambda/f","logStream":"2025/01/02/[$LATEST]abc"}`},
		{"nothing known", invocation.Invocation{}, Environment{}, `{"coldStart":false}`},
		{"non-JSON headers are strings", invocation.Invocation{ClientContext: "not json", CognitoIdentity: "<id>"}, Environment{},
			`{"coldStart":false,"clientContext":"not json","cognitoIdentity":"\u003cid\u003e"}`},
		{"end before start", invocation.Invocation{Start: t0, End: t0.Add(-time.Second)}, Environment{}, `{"coldStart":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(Context(tt.inv, tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Context\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestRecordExtensions(t *testing.T) {
	inv := invocation.Invocation{RequestID: "r1", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
		Request: invocation.Payload{Bytes: []byte(`{"a":1}`)}, End: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	r := Build(inv, Function{})
	plain, err := Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "destinationsCondition") || strings.Contains(string(plain), "invocationContext") {
		t.Errorf("a plain record has the extra fields: %s", plain)
	}
	r.DestinationsCondition = ConditionSlow
	r.InvocationContext = &InvocationContext{DurationMs: 1500.5}
	slow, err := Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(string(plain), "}") + `,"destinationsCondition":"Slow","invocationContext":{"durationMs":1500.5,"coldStart":false}}`
	if string(slow) != want {
		t.Errorf("slow record\n got %s\nwant %s", slow, want)
	}
}
