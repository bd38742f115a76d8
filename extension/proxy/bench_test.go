package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardObserver drops what it is told, so that benchmarks measure the
// proxy alone.
type discardObserver struct{}

func (discardObserver) Polled()       {}
func (discardObserver) Event(Event)   {}
func (discardObserver) Result(Result) {}
func (discardObserver) RuntimeGone()  {}

// BenchmarkProxyResponse posts a response body to a fake Runtime API, once
// directly and once through the proxy, which forwards it and tees it into
// the capture: the difference is the proxy's cost per /response.
func BenchmarkProxyResponse(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}))
	defer srv.Close()
	p := New(Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 6 << 20, Observer: discardObserver{}})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(context.Background())

	const path = "/2018-06-01/runtime/invocation/8f5c1a52-7e1d-4c47-9d0e-2f8f3b2d1c11/response"
	// The runtime's client: one keep-alive connection, as aws-lambda-go has.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}}
	for _, size := range []int{1 << 10, 5 << 20} {
		body := bytes.Repeat([]byte("x"), size)
		body[0], body[size-1] = '"', '"'
		for _, c := range []struct{ name, addr string }{
			{"direct", srv.Listener.Addr().String()},
			{"proxied", ln.Addr().String()},
		} {
			b.Run(fmt.Sprintf("%s/%s", c.name, sizeName(size)), func(b *testing.B) {
				url := "http://" + c.addr + path
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		}
	}
}

// BenchmarkCapture measures the tee alone: copying a body into the capture
// in the transport's 32 KiB reads, and handing the payload over.
func BenchmarkCapture(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 20} {
		data := bytes.Repeat([]byte("x"), size)
		for _, known := range []bool{true, false} {
			name := sizeName(size) + "/chunked"
			cl := int64(-1)
			if known {
				name, cl = sizeName(size)+"/length", int64(size)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					c := newCapture(6<<20, cl)
					for off := 0; off < size; off += 32 << 10 {
						_, _ = c.Write(data[off:min(size, off+32<<10)])
					}
					if p := c.payload(); p.Len() != size {
						b.Fatalf("kept %d", p.Len())
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
