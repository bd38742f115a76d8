package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const nextRequest = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"

// A panic on one connection, on either side, closes that connection alone:
// the runtime's other connection and the next one are served.
func TestPanicClosesOnlyItsConnection(t *testing.T) {
	for _, side := range []string{"request", "answer"} {
		t.Run(side, func(t *testing.T) {
			_, srv := newFakeAPI(t, []byte(`{"n":1}`))
			var lg logs
			_, addr := serveProxy(t, Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 1 << 20, Logger: lg.logger()},
				func(p *Proxy) {
					p.onExchange = func(s, target string) {
						if s == side && target == "/panic" {
							panic("injected by the test")
						}
					}
				})
			kept, keptR := dial(t, addr)
			fmt.Fprint(kept, nextRequest)
			if resp, _ := readResponse(t, keptR, "GET"); resp.StatusCode != http.StatusOK {
				t.Fatalf("next: %d", resp.StatusCode)
			}

			if got := untilClosed(t, addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n"); len(got) != 0 {
				t.Errorf("the connection that panicked got %q", got)
			}
			if out := lg.String(); !strings.Contains(out, "injected by the test") || !strings.Contains(out, "goroutine ") || !strings.Contains(out, `"side":"`+side+`"`) {
				t.Errorf("log:\n%s", out)
			}

			fmt.Fprint(kept, nextRequest)
			if resp, body := readResponse(t, keptR, "GET"); resp.StatusCode != http.StatusOK || string(body) != `{"n":1}` {
				t.Errorf("the other connection, after the panic: %d %q", resp.StatusCode, body)
			}
			fresh, freshR := dial(t, addr)
			fmt.Fprint(fresh, nextRequest)
			if resp, _ := readResponse(t, freshR, "GET"); resp.StatusCode != http.StatusOK {
				t.Errorf("a new connection, after the panic: %d", resp.StatusCode)
			}
		})
	}
}

// A malformed request pipelined after a valid one: the valid one gets the
// Runtime API's answer, then the malformed one a 400, in order.
func TestPipelinedMalformedRequest(t *testing.T) {
	for _, malformed := range []string{
		"NONSENSE\r\n\r\n",
		"POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
	} {
		t.Run(fmt.Sprintf("%.20q", malformed), func(t *testing.T) {
			u := newRawUpstream(t, nextAnswer("a", `{"n":1}`))
			_, addr := startProxy(t, u.addr(), 1<<20)
			c, br := dial(t, addr)
			fmt.Fprint(c, nextRequest+malformed)
			if resp, body := readResponse(t, br, "GET"); resp.StatusCode != http.StatusOK || string(body) != `{"n":1}` {
				t.Errorf("valid request: %d %q, want the Runtime API's answer", resp.StatusCode, body)
			}
			if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("malformed request: %d, want 400", resp.StatusCode)
			}
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Errorf("then %q", rest)
			}
		})
	}
}

// A connection whose Runtime API call hangs holds up no other: no lock is
// held across network I/O.
func TestStalledCallHoldsNoOther(t *testing.T) {
	u := newRawUpstream(t, "hang", accepted)
	_, addr := startProxy(t, u.addr(), 1<<20)
	stalled, _ := dial(t, addr)
	fmt.Fprint(stalled, nextRequest)
	eventually(t, "the stalled call to reach the Runtime API", func() bool { return len(u.requests()) == 1 })
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// The Runtime API may refuse a response before it has read it all (Lambda
// stops reading at 6 MB), closing the connection after its answer, as
// net/http's server does when a handler leaves a large body unread. The
// runtime gets that answer, not a reset, and the observer the refusal.
func TestRefusedBeforeTheWholeBody(t *testing.T) {
	const refusal = `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.CopyN(io.Discard, r.Body, 64<<10)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, refusal)
	}))
	t.Cleanup(srv.Close)
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)
	big := bytes.Repeat([]byte("x"), 7<<20)
	for _, via := range []string{srv.Listener.Addr().String(), addr} {
		resp, err := http.Post("http://"+via+"/2018-06-01/runtime/invocation/big/response", "application/json", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("via %s: %v", via, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || string(body) != refusal {
			t.Errorf("via %s: %d %q", via, resp.StatusCode, body)
		}
	}
	_, results := rec.wait(t, 0, 1)
	r := results[0]
	if r.Call != CallResponse || r.RequestID != "big" || r.Status != http.StatusRequestEntityTooLarge || string(r.Answer) != refusal {
		t.Errorf("result %v %q %d %q", r.Call, r.RequestID, r.Status, r.Answer)
	}
	// Go's client stops sending once the answer is in: the body is what
	// came before.
	if r.Body.Size == 0 || r.Body.Size > int64(len(big)) || int64(r.Body.Len()) != min(r.Body.Size, 1<<20) {
		t.Errorf("result body: size %d, kept %d", r.Body.Size, r.Body.Len())
	}
}

// A reused Runtime API connection that turns out dead on first use after
// being idle (as after a snapshot restore) is re-dialled once and the
// request sent again; the runtime sees only the answer.
func TestRedialAfterIdle(t *testing.T) {
	post := "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	tests := []struct {
		name, end, request, method string
		redialled                  bool
	}{
		{"next, connection closed", thenClose, nextRequest, "GET", true},
		{"next, connection reset", thenReset, nextRequest, "GET", true},
		{"response with its body", thenClose, post, "POST", true},
		{"chunked body cannot go again", thenClose, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "POST", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUpstream(t, tt.end+nextAnswer("first", `{}`), nextAnswer("second", `{}`))
			var lg logs
			rec := &recorder{}
			_, addr := serveProxy(t, Options{Upstream: u.addr(), MaxPayloadBytes: 1 << 20, Observer: rec, Logger: lg.logger()})
			c, br := dial(t, addr)
			fmt.Fprint(c, nextRequest)
			if resp, _ := readResponse(t, br, "GET"); resp.Header.Get(HeaderRequestID) != "first" {
				t.Fatalf("first answer %v", resp.Header)
			}
			if tt.end == thenClose {
				eventually(t, "the Runtime API to drop the connection", func() bool { _, closed := u.counts(); return closed == 1 })
			}
			fmt.Fprint(c, tt.request)
			resp, _ := readResponse(t, br, tt.method)
			conns, _ := u.counts()
			if !tt.redialled {
				if resp.StatusCode != http.StatusBadGateway || conns != 1 {
					t.Errorf("status %d after %d connections, want 502 after 1", resp.StatusCode, conns)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderRequestID) != "second" || conns != 2 {
				t.Errorf("status %d id %q after %d connections", resp.StatusCode, resp.Header.Get(HeaderRequestID), conns)
			}
			if got := u.requests(); len(got) != 2 || tt.method == "POST" && !bytes.HasSuffix(got[1], []byte("\nhello")) {
				t.Errorf("the Runtime API got %q", got)
			}
			if !strings.Contains(lg.String(), "re-dialled") {
				t.Errorf("log:\n%s", lg.String())
			}
		})
	}
}

// A call on a connection just dialled is not sent again: its failure is
// the Runtime API's.
func TestNoRedialOnAFreshConnection(t *testing.T) {
	u := newRawUpstream(t) // hangs up on every request
	_, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, nextRequest)
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d", resp.StatusCode)
	}
	if conns, _ := u.counts(); conns != 1 {
		t.Errorf("%d connections", conns)
	}
}

// closeWrite half-closes a connection, as a runtime may once it has sent
// its last request.
func closeWrite(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

// A runtime that half-closes after its result still gets the answer, and
// the observer the result.
func TestHalfClosedRuntimeGetsItsAnswer(t *testing.T) {
	u := newRawUpstream(t, accepted)
	rec, addr := startProxy(t, u.addr(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	closeWrite(t, c)
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, results := rec.wait(t, 0, 1); results[0].Status != http.StatusAccepted {
		t.Errorf("result %+v", results[0])
	}
}

// An interim answer of the Runtime API reaches the runtime at once: here
// the 100 Continue of an expectation the relay leaves to the Runtime API,
// which the runtime waits for before it sends its body.
func TestInterimAnswerPassesAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // net/http sends 100 Continue now
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	_, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)
	c, br := dial(t, addr)
	fmt.Fprint(c, "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, x-more\r\nContent-Length: 2\r\n\r\n")
	if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v before sending the body", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("got %q after 100 Continue", blank)
	}
	fmt.Fprint(c, "{}")
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", resp.StatusCode)
	}
}
