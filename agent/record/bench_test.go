package record

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// BenchmarkBuildMarshal builds and serialises the record of an invocation
// whose request is 1 KiB of JSON and whose response is n bytes: JSON, a
// JSON string (what the sample function returns for large responses), or
// text that is not JSON.
func BenchmarkBuildMarshal(b *testing.B) {
	request := []byte(`{"items":[` + strings.Repeat(`{"id":12345,"name":"abcdefghij"},`, 30) + `{"id":0}]}`)
	for _, n := range []int{1 << 10, 64 << 10, 5 << 20} {
		for _, kind := range []string{"json", "string", "text"} {
			var resp []byte
			switch kind {
			case "json":
				item := []byte(`{"id":12345,"name":"abcdefghij","tags":["a","b"],"price":12.5},`)
				resp = append([]byte(`[`), bytes.Repeat(item, n/len(item))...)
				resp[len(resp)-1] = ']'
			case "string":
				resp = bytes.Repeat([]byte("x"), n)
				resp[0], resp[n-1] = '"', '"'
			case "text":
				resp = bytes.Repeat([]byte("plain text, not JSON. "), n/22)
			}
			inv := invocation.Invocation{
				RequestID: "e4b46cbf-b738-xmpl-8880-a18cdf61200e", InvokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
				Request: pl(string(request)), Response: invocation.Payload{Bytes: resp, Size: int64(len(resp))}, End: time.Now(), Attempt: 1,
			}
			b.Run(fmt.Sprintf("%s/%s", sizeName(n), kind), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(request) + len(resp)))
				for b.Loop() {
					r := Build(inv, Function{Version: "$LATEST"})
					if _, err := Marshal(&r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}
