package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawUpstream is a Runtime API that speaks bytes: for each request it
// reads, it records the request as received and writes the next scripted
// answer as it is. Some answers are instructions instead: "" hangs up,
// "hang" answers nothing until the connection closes, an answer that
// starts with thenClose is written and the connection then closed with no
// word of it, and one that starts with thenReset is written and the
// connection reset when the next request comes, as a peer that no longer
// knows the connection does.
type rawUpstream struct {
	t       *testing.T
	ln      net.Listener
	mu      sync.Mutex
	got     [][]byte // requests, head and body, as received
	answers []string
	conns   int
	closed  int // connections ended
}

const (
	thenClose = "then close:"
	thenReset = "then reset:"
)

func newRawUpstream(t *testing.T, answers ...string) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{t: t, ln: ln, answers: answers}
	t.Cleanup(func() { ln.Close() })
	go u.serve()
	return u
}

func (u *rawUpstream) addr() string { return u.ln.Addr().String() }

func (u *rawUpstream) serve() {
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.conns++
		u.mu.Unlock()
		go u.conn(c)
	}
}

func (u *rawUpstream) conn(c net.Conn) {
	defer func() {
		c.Close()
		u.mu.Lock()
		u.closed++
		u.mu.Unlock()
	}()
	// net/http reads a trailer section only as large as its reader's
	// buffer: 1 MiB, as the proxy allows.
	br := bufio.NewReaderSize(c, maxHeadBytes)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			u.t.Errorf("fake Runtime API: reading a body: %v", err)
			return
		}
		u.mu.Lock()
		u.got = append(u.got, append([]byte(req.Method+" "+req.URL.String()+"\n"+headerLines(req.Header)+"\n"), body...))
		var answer string
		if len(u.answers) > 0 {
			answer, u.answers = u.answers[0], u.answers[1:]
		}
		u.mu.Unlock()
		if answer == "" {
			return // hang up
		}
		if answer == "hang" {
			_, _ = io.Copy(io.Discard, c)
			return
		}
		if rest, ok := strings.CutPrefix(answer, thenReset); ok {
			_, _ = io.WriteString(c, rest)
			_, _ = br.Peek(1)
			_ = c.(*net.TCPConn).SetLinger(0)
			return
		}
		if rest, ok := strings.CutPrefix(answer, thenClose); ok {
			_, _ = io.WriteString(c, rest)
			return
		}
		if _, err := io.WriteString(c, answer); err != nil {
			return
		}
		if strings.Contains(answer, "Connection: close") {
			return
		}
	}
}

func headerLines(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

func (u *rawUpstream) counts() (conns, closed int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns, u.closed
}

func (u *rawUpstream) requests() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.got...)
}

// dial opens a raw connection to the proxy.
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// untilClosed sends raw requests on a new connection and returns all that
// comes back until the proxy closes it.
func untilClosed(t *testing.T, addr, requests string) []byte {
	t.Helper()
	c, _ := dial(t, addr)
	fmt.Fprint(c, requests)
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const accepted = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"

func nextAnswer(id, body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %s\r\nLambda-Runtime-Deadline-Ms: 1700000000000\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
}

// A runtime that keeps one connection: events and results in order.
func TestKeepAliveSequence(t *testing.T) {
	u := newRawUpstream(t, nextAnswer("a", `{"n":1}`), accepted, nextAnswer("b", `{"n":2}`), accepted)
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	for _, id := range []string{"a", "b"} {
		fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Header.Get(HeaderRequestID) != id {
			t.Fatalf("next: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\"ok%s\"", id, id)
		if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 202 {
			t.Fatalf("response: %d", resp.StatusCode)
		}
	}
	events, results := rec.wait(t, 2, 2)
	if events[0].RequestID != "a" || events[1].RequestID != "b" || string(events[1].Body.Bytes) != `{"n":2}` {
		t.Errorf("events %+v", events)
	}
	if results[0].RequestID != "a" || string(results[1].Body.Bytes) != `"okb"` {
		t.Errorf("results %+v", results)
	}
	if u.conns != 1 {
		t.Errorf("%d upstream connections for one runtime connection", u.conns)
	}
}

// Two requests written before either answer is read come back in order.
func TestPipelined(t *testing.T) {
	u := newRawUpstream(t, accepted, "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 3\r\n\r\ntea")
	_, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"+
		"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 202 {
		t.Errorf("first: %d", resp.StatusCode)
	}
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 418 || string(body) != "tea" {
		t.Errorf("second: %d %q", resp.StatusCode, body)
	}
}

// The proxy answers Expect: 100-continue itself; the Runtime API gets the
// body without the expectation.
func TestExpectContinue(t *testing.T) {
	u := newRawUpstream(t, accepted)
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("got %q after 100 Continue", blank)
	}
	fmt.Fprint(c, "true")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := u.requests()
	if len(got) != 1 || bytes.Contains(got[0], []byte("Expect")) || !bytes.HasSuffix(got[0], []byte("\ntrue")) {
		t.Errorf("upstream got %q", got)
	}
	if _, results := rec.wait(t, 0, 1); string(results[0].Body.Bytes) != "true" {
		t.Errorf("result %+v", results[0])
	}
}

// Headers go up as the runtime wrote them: names' case, order, repeats.
func TestHeadersByteForByte(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		var all []byte
		for !bytes.Contains(all, []byte("\r\n\r\n")) {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			all = append(all, buf[:n]...)
		}
		got <- all
		io.WriteString(c, "HTTP/1.1 204 No Content\r\nX-UPPER: 1\r\nx-lower: 2\r\n\r\n")
	}()
	_, addr := startProxy(t, ln.Addr().String(), 1<<20)
	c, br := dial(t, addr)
	req := "GET /2018-06-01/runtime/invocation/next?x=1 HTTP/1.1\r\nHost: example\r\nx-lower-case: a\r\nX-Repeat: 1\r\nUser-Agent: odd/1\r\nX-Repeat: 2\r\n\r\n"
	fmt.Fprint(c, req)
	if sent := <-got; string(sent) != req {
		t.Errorf("upstream got\n%q\nwant\n%q", sent, req)
	}
	line, _ := br.ReadString('\n')
	rest := make([]byte, len("X-UPPER: 1\r\nx-lower: 2\r\n\r\n"))
	io.ReadFull(br, rest)
	if line != "HTTP/1.1 204 No Content\r\n" || string(rest) != "X-UPPER: 1\r\nx-lower: 2\r\n\r\n" {
		t.Errorf("answer %q %q", line, rest)
	}
}

// An answer with no length ends when the Runtime API closes; so does the
// runtime's connection.
func TestAnswerUntilClose(t *testing.T) {
	u := newRawUpstream(t, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nConnection: close\r\n\r\n{\"until\":\"close\"}")
	rec, addr := startProxy(t, u.addr(), 1<<20)
	all := untilClosed(t, addr, nextRequest)
	if !bytes.HasSuffix(all, []byte("\r\n\r\n{\"until\":\"close\"}")) {
		t.Errorf("got %q", all)
	}
	if events, _ := rec.wait(t, 1, 0); string(events[0].Body.Bytes) != `{"until":"close"}` {
		t.Errorf("event %+v", events[0])
	}
}

// A connection the Runtime API closed is not the runtime going away.
func TestUpstreamCloseIsNotRuntimeGone(t *testing.T) {
	u := newRawUpstream(t, "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	rec := &recorder{}
	p, addr := serveProxy(t, Options{Upstream: u.addr(), MaxPayloadBytes: 1 << 20, Observer: rec})
	untilClosed(t, addr, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	rec.wait(t, 0, 1)
	eventually(t, "the proxy to forget the connection", func() bool { return p.conns() == 0 })
	if _, _, gone := rec.snapshot(); gone != 0 {
		t.Error("RuntimeGone told when the Runtime API closed the connection")
	}
}

// HTTP/1.0 without keep-alive: one request, then the connection closes.
func TestHTTP10(t *testing.T) {
	u := newRawUpstream(t, "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 3\r\n\r\ntea")
	_, addr := startProxy(t, u.addr(), 1<<20)
	all := untilClosed(t, addr, "GET /x HTTP/1.0\r\n\r\n")
	if !bytes.HasPrefix(all, []byte("HTTP/1.1 418")) || !bytes.HasSuffix(all, []byte("tea")) {
		t.Errorf("got %q", all)
	}
}

// A chunked request goes up with its framing, extensions and trailers.
func TestChunkedFramingKept(t *testing.T) {
	u := newRawUpstream(t, accepted)
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"+
		"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nLambda-Runtime-Function-Error-Type: Oops\r\n\r\n")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := u.requests()
	if len(got) != 1 || !bytes.HasSuffix(got[0], []byte("\nabcde")) {
		t.Errorf("upstream got %q", got)
	}
	_, results := rec.wait(t, 0, 1)
	if r := results[0]; !r.Failed || r.ErrorType != "Oops" || string(r.Body.Bytes) != "abcde" {
		t.Errorf("result %+v", r)
	}
}

// Header and trailer fields larger than the proxy's buffers go through:
// a streamed error's body travels in a trailer.
func TestLongFields(t *testing.T) {
	u := newRawUpstream(t, accepted)
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	long := strings.Repeat("x", 100<<10)
	errBody := base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"` + long + `"}`))
	fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nX-Long: %s\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"2\r\n{}\r\n0\r\nLambda-Runtime-Function-Error-Type: Big\r\nLambda-Runtime-Function-Error-Body: %s\r\n\r\n", long, errBody)
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := u.requests(); len(got) != 1 || !bytes.Contains(got[0], []byte("X-Long: "+long+"\n")) {
		t.Error("long header not passed up")
	}
	_, results := rec.wait(t, 0, 1)
	if r := results[0]; r.ErrorType != "Big" || !strings.Contains(string(r.Body.Bytes), long) {
		t.Errorf("result %s %.100s", r.ErrorType, r.Body.Bytes)
	}
}

// A large event sent as chunks is captured whole, in one buffer.
func TestLargeChunkedEvent(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 300000) // 4.8 MB
	var answer strings.Builder
	answer.WriteString("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nTransfer-Encoding: chunked\r\n\r\n")
	for off := 0; off < len(big); off += 1 << 20 {
		part := big[off:min(len(big), off+1<<20)]
		fmt.Fprintf(&answer, "%x\r\n%s\r\n", len(part), part)
	}
	answer.WriteString("0\r\n\r\n")
	u := newRawUpstream(t, answer.String())
	rec, addr := startProxy(t, u.addr(), 6<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := readResponse(t, br, "GET"); !bytes.Equal(body, big) {
		t.Fatalf("runtime got %d bytes", len(body))
	}
	events, _ := rec.wait(t, 1, 0)
	if !bytes.Equal(events[0].Body.Join(), big) || events[0].Body.Truncated {
		t.Errorf("captured %d bytes, truncated %v", events[0].Body.Len(), events[0].Body.Truncated)
	}
}

// When the Runtime API cannot be reached the runtime gets a 502.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrDown := ln.Addr().String()
	ln.Close()
	_, addr := startProxy(t, addrDown, 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// When the Runtime API hangs up before answering the runtime gets a 502.
func TestUpstreamHangsUp(t *testing.T) {
	u := newRawUpstream(t) // no answer: hangs up
	_, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// A runtime that dies while its /next waits for an event is noticed at
// once, not when the event comes.
func TestRuntimeGoneDuringLongPoll(t *testing.T) {
	u := newRawUpstream(t, "hang")
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, _ := dial(t, addr)
	fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for len(u.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	for time.Now().Before(deadline) {
		if _, _, gone := rec.snapshot(); gone == 1 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("RuntimeGone not told")
}

func TestMalformedRequest(t *testing.T) {
	u := newRawUpstream(t)
	_, addr := startProxy(t, u.addr(), 1<<20)
	for _, req := range []string{
		"NONSENSE\r\n\r\n",
		"POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
		"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /x HTTP/1.1\r\nBad Header: 1\r\n\r\n",
	} {
		c, br := dial(t, addr)
		fmt.Fprint(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			// A broken chunk is found after the head went up: the
			// connection just ends.
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%q: %v", req, err)
			}
			continue
		}
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%q: status %d", req, resp.StatusCode)
		}
	}
}

// Shutdown closes the runtime's connections and Serve returns nil.
func TestShutdown(t *testing.T) {
	u := newRawUpstream(t, "hang")
	p := New(Options{Upstream: u.addr(), MaxPayloadBytes: 1 << 20})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	c, _ := dial(t, ln.Addr().String())
	fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	eventually(t, "the long poll to reach the Runtime API", func() bool { return len(u.requests()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("runtime connection still open")
	}
}
