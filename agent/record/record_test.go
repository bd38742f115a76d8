package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

func TestPayload(t *testing.T) {
	tests := []struct {
		name     string
		in       invocation.Payload
		want     string
		encoding string
		trunc    *Truncation
	}{
		{"empty is null", invocation.Payload{}, `null`, "", nil},
		{"JSON object kept", pl(`{"Success": true}`), `{"Success":true}`, "", nil},
		{"JSON with html chars kept", pl(`{"a":"<b>&</b>"}`), `{"a":"<b>&</b>"}`, "", nil},
		{"JSON number exact", pl(`12345678901234567890.123`), `12345678901234567890.123`, "", nil},
		{"JSON string", pl(`"hi"`), `"hi"`, "", nil},
		{"multi-line JSON compacted", pl("{\n  \"a\": [1,\n 2]\n}\n"), `{"a":[1,2]}`, "", nil},
		{"text is a string", pl(`hello, world`), `"hello, world"`, "", nil},
		{"text with quotes and newline", pl("a \"b\"\nc"), `"a \"b\"\nc"`, "", nil},
		{"invalid JSON is a string", pl(`{"a":`), `"{\"a\":"`, "", nil},
		{"invalid UTF-8 is base64", pl("\xff\xfe\x00a"), `"//4AYQ=="`, "base64", nil},
		{"JSON with invalid UTF-8 inside is base64", pl("{\"a\":\"\xff\"}"), `"eyJhIjoi/yJ9"`, "base64", nil},
		{"truncated keeps prefix as string", invocation.Payload{Bytes: []byte(`{"a":"bcd`), Size: 100, Truncated: true},
			`"{\"a\":\"bcd"`, "", &Truncation{Size: 100, Kept: 9}},
		{"truncated cut inside a rune", invocation.Payload{Bytes: []byte("ab\xe2\x82"), Size: 10, Truncated: true},
			`"ab"`, "", &Truncation{Size: 10, Kept: 2}},
		// DESTINATIONS_MAX_PAYLOAD_BYTES=0: the string of no bytes, not null.
		{"nothing kept", invocation.Payload{Size: 78, Truncated: true}, `""`, "", &Truncation{Size: 78, Kept: 0}},
		{"only a partial rune kept", invocation.Payload{Bytes: []byte("\xe2"), Size: 3, Truncated: true},
			`""`, "", &Truncation{Size: 3, Kept: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, enc, trunc := Payload(tt.in)
			if string(got) != tt.want || enc != tt.encoding {
				t.Errorf("Payload = %s (%q), want %s (%q)", got, enc, tt.want, tt.encoding)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
			if (trunc == nil) != (tt.trunc == nil) || (trunc != nil && *trunc != *tt.trunc) {
				t.Errorf("truncation = %+v, want %+v", trunc, tt.trunc)
			}
		})
	}
}

func pl(s string) invocation.Payload {
	return invocation.Payload{Bytes: []byte(s), Size: int64(len(s))}
}

func TestQualifiedARN(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
	tests := []struct{ invoked, own, version, want string }{
		{fn, "", "$LATEST", fn + ":$LATEST"},              // unqualified: $LATEST, as native records say
		{fn + ":live", "", "1", fn + ":live"},             // through an alias: the alias, whatever version ran
		{fn + ":7", "", "7", fn + ":7"},                   // a version
		{fn + ":$LATEST", "", "$LATEST", fn + ":$LATEST"}, // already qualified
		{"", fn, "3", fn + ":3"},                          // no invoked ARN known: the function's own, and what ran
		{"", "", "$LATEST", ""},                           // nothing known
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:f", "", "", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:$LATEST"},
	}
	for _, tt := range tests {
		if got := QualifiedARN(tt.invoked, tt.own, tt.version); got != tt.want {
			t.Errorf("QualifiedARN(%q, %q, %q) = %q, want %q", tt.invoked, tt.own, tt.version, got, tt.want)
		}
	}
}

func TestBuild(t *testing.T) {
	end := time.Date(2019, 11, 14, 18, 16, 5, 568_900_000, time.FixedZone("x", 3600))
	base := invocation.Invocation{
		RequestID:          "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
		InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:my-function:prod",
		Request:            pl(`{"Success":true}`),
		Response:           pl(`{"ok":true}`),
		End:                end,
		Attempt:            1,
	}
	t.Run("success", func(t *testing.T) {
		r := Build(base, Function{Version: "$LATEST"})
		got, err := Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"version":"1.0","timestamp":"2019-11-14T17:16:05.568Z","requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-function:prod","condition":"Success","approximateInvokeCount":1},"requestPayload":{"Success":true},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":{"ok":true}}`
		if string(got) != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("failure", func(t *testing.T) {
		inv := base
		inv.Outcome, inv.ErrorType = invocation.Error, "SampleError"
		inv.Response = pl(`{"errorMessage":"boom","errorType":"SampleError"}`)
		inv.Attempt = 3
		r := Build(inv, Function{Version: "7", ARN: "arn:aws:lambda:eu-west-1:123456789012:function:f"})
		if r.RequestContext.Condition != "Failure" || r.ResponseContext.FunctionError != "Unhandled" ||
			r.RequestContext.FunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:my-function:prod" ||
			r.ResponseContext.ExecutedVersion != "7" || r.RequestContext.ApproximateInvokeCount != 3 {
			t.Errorf("record = %+v", r)
		}
		if string(r.ResponsePayload) != `{"errorMessage":"boom","errorType":"SampleError"}` {
			t.Errorf("responsePayload = %s", r.ResponsePayload)
		}
	})
	t.Run("success with no body is null", func(t *testing.T) {
		inv := base
		inv.Response = invocation.Payload{}
		r := Build(inv, Function{})
		b, _ := Marshal(&r)
		if !strings.Contains(string(b), `"responsePayload":null`) || r.ResponseContext.ExecutedVersion != "$LATEST" {
			t.Errorf("got %s", b)
		}
	})
}

func BenchmarkBuildMarshal1KB(b *testing.B) {
	body := `{"items":[` + strings.Repeat(`{"id":12345,"name":"abcdefghij"},`, 30) + `{"id":0}]}`
	inv := invocation.Invocation{
		RequestID: "e4b46cbf-b738-xmpl-8880-a18cdf61200e", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
		Request: pl(body), Response: pl(body), End: time.Now(), Attempt: 1,
	}
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(body)))
	for b.Loop() {
		r := Build(inv, Function{Version: "$LATEST"})
		if _, err := Marshal(&r); err != nil {
			b.Fatal(err)
		}
	}
}
