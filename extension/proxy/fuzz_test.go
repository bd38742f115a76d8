package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzForward sends any body and header value through the proxy and checks
// that the Runtime API gets them unchanged and the capture holds the body.
func FuzzForward(f *testing.F) {
	events, _ := filepath.Glob("../../events/*.json")
	for _, e := range events {
		if b, err := os.ReadFile(e); err == nil {
			f.Add(b, "application/json", 1<<20)
		}
	}
	f.Add([]byte{}, "", 10)
	f.Add([]byte("\xff\xfe binary \x00"), "application/octet-stream", 3)
	f.Add(bytes.Repeat([]byte("a"), 70000), "text/plain; charset=utf-8", 65536)

	var (
		mu      sync.Mutex
		gotBody []byte
		gotType string
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBody, gotType = b, r.Header.Get("X-Value")
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	rec := &recorder{}
	p := New(Options{Upstream: up.Listener.Addr().String(), MaxPayloadBytes: 1 << 20, Observer: rec})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(context.Background())
	proxied := struct{ URL string }{"http://" + ln.Addr().String()}

	f.Fuzz(func(t *testing.T, body []byte, value string, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		if !validHeaderValue(value) {
			return
		}
		p.keep[CallResponse] = max
		_, before, _ := rec.snapshot()
		req, _ := http.NewRequest(http.MethodPost, proxied.URL+"/2018-06-01/runtime/invocation/id/response", bytes.NewReader(body))
		req.Header.Set("X-Value", value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if !bytes.Equal(gotBody, body) || gotType != strings.TrimSpace(value) {
			t.Fatalf("upstream got %q %q, sent %q %q", gotBody, gotType, body, value)
		}
		_, results := rec.wait(t, 0, len(before)+1)
		last := results[len(results)-1].Body
		keep := min(len(body), max)
		if !bytes.Equal(last.Bytes, body[:keep]) || last.Size != int64(len(body)) || last.Truncated != (len(body) > max) {
			t.Fatalf("capture kept %d of %d (truncated %v), want %d", len(last.Bytes), last.Size, last.Truncated, keep)
		}
	})
}

// validHeaderValue is what net/http lets a client send.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzRawRequest sends any bytes to the proxy as a runtime would send a
// request: whatever they are, the proxy does not fall over, and the next
// well-formed call on a new connection goes through.
func FuzzRawRequest(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/error HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n{}\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\nzz\r\n"))
	f.Add([]byte("\x00\xff garbage\r\n\r\n"))

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	p := New(Options{Upstream: up.Listener.Addr().String(), MaxPayloadBytes: 1 << 10, Observer: &recorder{}})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(context.Background())
	addr := ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 5 * time.Second}

	f.Fuzz(func(t *testing.T, raw []byte) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
		conn.Write(raw)
		io.Copy(io.Discard, conn)
		conn.Close()

		resp, err := client.Post("http://"+addr+"/2018-06-01/runtime/invocation/ok/response", "text/plain", strings.NewReader("fine"))
		if err != nil {
			t.Fatalf("a well-formed call after %q: %v", raw, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("a well-formed call after %q: status %d", raw, resp.StatusCode)
		}
	})
}
