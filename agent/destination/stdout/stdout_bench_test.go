package stdout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// sampleRecord returns a serialised record of about n bytes.
func sampleRecord(n int) []byte {
	head := []byte(`{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST","condition":"Success","approximateInvokeCount":1},"requestPayload":{"Success":true},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":"`)
	body := bytes.Repeat([]byte("x"), max(0, n-len(head)-2))
	return append(append(head, body...), `"}`...)
}

// BenchmarkSend measures writing one record as a log line: the line's
// serialisation and one Write (to io.Discard, so the pipe is not measured).
func BenchmarkSend(b *testing.B) {
	for _, n := range []int{1 << 10, 64 << 10, 5 << 20} {
		m := destination.Message{Record: sampleRecord(n), Condition: "Success", RequestID: "e4b46cbf-b738-xmpl-8880-a18cdf61200e"}
		b.Run(sizeName(n), func(b *testing.B) {
			d := New(NewWriter(io.Discard))
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(m.Record)))
			for b.Loop() {
				if err := d.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}
