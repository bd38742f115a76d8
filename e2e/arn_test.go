package e2e

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

// TestInvokedFunctionARN: a record's functionArn is the ARN the caller
// invoked, with its qualifier (an alias, a version, or $LATEST when
// unqualified), while executedVersion is the version that ran; an
// EventBridge destination's Resources carry the same qualified ARN after
// the bus's. The emulator builds the invoked ARN from
// AWS_LAMBDA_FUNCTION_NAME, which lets a test invoke through an alias.
func TestInvokedFunctionARN(t *testing.T) {
	const arnPrefix = "arn:aws:lambda:us-east-1:012345678912:function:"
	cases := []struct {
		name, functionName, version string
		functionARN                 string
	}{
		{"alias", "destinations-sample:live", "7", arnPrefix + "destinations-sample:live"},
		{"version", "destinations-sample:7", "7", arnPrefix + "destinations-sample:7"},
		{"unqualified", "destinations-sample", "", arnPrefix + "destinations-sample:$LATEST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bus := fakeaws.NewEventBridge(t)
			hook := newReceiver(t)
			env := awsEnv(nil, nil, bus, nil, "")
			env["DESTINATIONS_ON_SUCCESS"] = busARN + "," + hook.URL()
			env["DESTINATIONS_ON_FAILURE"] = busARN + "," + hook.URL()
			env["AWS_LAMBDA_FUNCTION_NAME"] = c.functionName
			executed := "$LATEST"
			if c.version != "" {
				env["AWS_LAMBDA_FUNCTION_VERSION"] = c.version
				executed = c.version
			}
			e := start(t, setup{layer: true, env: env})
			invoke(t, e, "req-success", event(t, "success.json"))
			invoke(t, e, "req-failure", event(t, "failure.json"))

			got, err := hook.Wait(t.Context(), 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range got {
				var r record.Record
				if err := json.Unmarshal(req.Body, &r); err != nil {
					t.Fatalf("webhook body is not a record: %v: %s", err, req.Body)
				}
				if r.RequestContext.FunctionARN != c.functionARN || r.ResponseContext.ExecutedVersion != executed {
					t.Errorf("%s: functionArn %s and executedVersion %s, want %s and %s", r.RequestContext.RequestID,
						r.RequestContext.FunctionARN, r.ResponseContext.ExecutedVersion, c.functionARN, executed)
				}
			}

			waitFor(t, 10*time.Second, "two EventBridge entries", func() bool { return len(entries(bus)) >= 2 })
			for _, entry := range entries(bus) {
				var r record.Record
				if err := json.Unmarshal([]byte(entry.Body), &r); err != nil {
					t.Fatalf("EventBridge Detail is not a record: %v: %s", err, entry.Body)
				}
				if want := []string{busARN, c.functionARN}; !slices.Equal(entry.Resources, want) {
					t.Errorf("%s: EventBridge Resources %q, want %q", r.RequestContext.RequestID, entry.Resources, want)
				}
				if r.RequestContext.FunctionARN != c.functionARN || r.ResponseContext.ExecutedVersion != executed {
					t.Errorf("%s: EventBridge Detail has functionArn %s and executedVersion %s, want %s and %s", r.RequestContext.RequestID,
						r.RequestContext.FunctionARN, r.ResponseContext.ExecutedVersion, c.functionARN, executed)
				}
			}
		})
	}
}

// entries returns the entries of every call the server got.
func entries(s *fakeaws.Server) []fakeaws.Entry {
	var out []fakeaws.Entry
	for _, c := range s.Calls() {
		out = append(out, c.Entries...)
	}
	return out
}
