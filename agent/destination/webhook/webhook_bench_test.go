package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// BenchmarkSend measures one delivery of a record to a webhook on the
// loopback interface: the request, its headers (signed or not), the
// answer, and the kept-alive connection's reuse.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := NewClient()
	for _, n := range []int{1 << 10, 64 << 10} {
		rec := append(append([]byte(`{"version":"1.0","responsePayload":"`), bytes.Repeat([]byte("x"), n)...), `"}`...)
		m := destination.Message{Record: rec, Condition: "Success", RequestID: "e4b46cbf-b738-xmpl-8880-a18cdf61200e"}
		for _, secret := range []string{"", "s3cr3t"} {
			name := fmt.Sprintf("%dKB", n>>10)
			if secret != "" {
				name += "/signed"
			}
			b.Run(name, func(b *testing.B) {
				d := NewSigned(srv.URL+"/hook", client, secret)
				ctx := context.Background()
				b.ReportAllocs()
				b.SetBytes(int64(len(rec)))
				for b.Loop() {
					if err := d.Send(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSign measures the signature of a 1 KiB record alone.
func BenchmarkSign(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = Sign("s3cr3t", "1700000000", body)
	}
}
