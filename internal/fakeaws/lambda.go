package fakeaws

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// NewLambda starts a fake Lambda Invoke API:
// POST /2015-03-31/functions/NAME/invocations. Call.Target is NAME (a name
// or an ARN), the payload is the entry's Body, and the invocation type and
// qualifier are in Call.Header and Call.Query.
func NewLambda(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, lambdaFake{}, lambdaFaults)
}

type lambdaFake struct{}

func (lambdaFake) signingName() string { return "lambda" }

func (lambdaFake) batch(string) bool { return false }

func (lambdaFake) decode(r *http.Request, body []byte) (Call, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
	name, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || name == "" || r.Method != http.MethodPost {
		return Call{}, fmt.Errorf("not a Lambda Invoke call: %s %s", r.Method, r.URL.Path)
	}
	for k := range r.URL.Query() {
		if k != "Qualifier" {
			return Call{}, fmt.Errorf("Invoke: unexpected query parameter %q", k)
		}
	}
	return Call{Operation: "Invoke", Target: name, Entries: []Entry{{Body: string(body)}}}, nil
}

// lambdaFaults is how Lambda spells each fault.
var lambdaFaults = &faultTable{
	Throttle:     {status: 429, code: "TooManyRequestsException", message: "Rate Exceeded.", sender: true},
	ServerError:  {status: 500, code: "ServiceException", message: "Internal error"},
	TooLarge:     {status: 413, code: "RequestTooLargeException", message: "Request must be smaller than 1048576 bytes for the Invoke operation", sender: true},
	NotFound:     {status: 404, code: "ResourceNotFoundException", message: "Function not found", sender: true},
	AccessDenied: {status: 403, code: "AccessDeniedException", message: "User is not authorized to perform: lambda:InvokeFunction", sender: true},
	badSignature: {status: 403, code: "InvalidSignatureException", message: "The request signature we calculated does not match the signature you provided", sender: true},
}

func (lambdaFake) writeError(w http.ResponseWriter, e wireError) {
	w.Header().Set("X-Amzn-ErrorType", e.code)
	typ := "Service"
	if e.sender {
		typ = "User"
	}
	writeJSON(w, e.status, "application/json", map[string]string{"Type": typ, "message": e.message})
}

func (lambdaFake) answer(_ *Server, w http.ResponseWriter, c Call, _ map[int]wireError) {
	if c.Header.Get("X-Amz-Invocation-Type") == "Event" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("null"))
}
