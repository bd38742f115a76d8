package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	polled  int
	events  []Event
	results []Result
	gone    int
}

func (r *recorder) Polled()         { r.mu.Lock(); r.polled++; r.mu.Unlock() }
func (r *recorder) Event(e Event)   { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) Result(x Result) { r.mu.Lock(); r.results = append(r.results, x); r.mu.Unlock() }
func (r *recorder) RuntimeGone()    { r.mu.Lock(); r.gone++; r.mu.Unlock() }

func (r *recorder) snapshot() (events []Event, results []Result, gone int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...), append([]Result(nil), r.results...), r.gone
}

// wait returns the snapshot once it holds at least the given numbers of
// events and results: the proxy tells the observer right after it has
// answered the runtime, so the answer can arrive first.
func (r *recorder) wait(t testing.TB, events, results int) ([]Event, []Result) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, res, _ := r.snapshot()
		if len(evs) >= events && len(res) >= results {
			return evs, res
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer told %d events and %d results, want %d and %d", len(evs), len(res), events, results)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeAPI is a fake Runtime API that records what reaches it.
type fakeAPI struct {
	mu       sync.Mutex
	bodies   map[string][]byte
	headers  map[string]http.Header
	trailers map[string]http.Header
	event    []byte
}

func newFakeAPI(t *testing.T, event []byte) (*fakeAPI, *httptest.Server) {
	u := &fakeAPI{bodies: map[string][]byte{}, headers: map[string]http.Header{}, trailers: map[string]http.Header{}, event: event}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/2018-06-01/runtime/invocation/next":
			h := w.Header()
			h.Set(HeaderRequestID, "req-1")
			h.Set(HeaderDeadlineMs, "1700000000000")
			h.Set(HeaderInvokedARN, "arn:aws:lambda:us-east-1:123456789012:function:f")
			h.Set(HeaderTraceID, "Root=1-abc")
			h.Set(HeaderClientContext, `{"c":1}`)
			h.Set(HeaderCognitoIdentity, `{"cognitoIdentityId":"x"}`)
			h.Set("Lambda-Runtime-Future-Header", "kept")
			w.Write(u.event)
		case strings.HasSuffix(r.URL.Path, "/response") || strings.HasSuffix(r.URL.Path, "/error"):
			b, _ := io.ReadAll(r.Body)
			u.mu.Lock()
			u.bodies[r.URL.Path] = b
			u.headers[r.URL.Path] = r.Header.Clone()
			u.trailers[r.URL.Path] = r.Trailer.Clone()
			u.mu.Unlock()
			if r.URL.Query().Get("reject") != "" {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"status":"OK"}`)
		default:
			w.Header().Set("X-Echo-Path", r.URL.RequestURI())
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return u, srv
}

func startProxy(t *testing.T, upstreamAddr string, max int) (*recorder, string) {
	rec := &recorder{}
	_, addr := serveProxy(t, Options{Upstream: upstreamAddr, MaxPayloadBytes: max, Observer: rec})
	return rec, addr
}

// serveProxy runs a proxy until the test ends and returns its address;
// setup, if any, runs before it serves.
func serveProxy(t testing.TB, o Options, setup ...func(*Proxy)) (*Proxy, string) {
	t.Helper()
	p := New(o)
	for _, f := range setup {
		f(p)
	}
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	return p, ln.Addr().String()
}

// conns is how many runtime connections the proxy has open.
func (p *Proxy) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// eventually waits until cond holds, and fails the test if it does not
// within a generous bound: a signal awaited, not a timing asserted.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// logs is a slog JSON handler's output, safe for the proxy's goroutines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logs) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

func TestForwardsAndCaptures(t *testing.T) {
	u, srv := newFakeAPI(t, []byte(`{"Success": true}`))
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)
	base := "http://" + addr + "/2018-06-01/runtime/invocation/"

	resp, err := http.Get(base + "next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"Success": true}` {
		t.Fatalf("next: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Lambda-Runtime-Future-Header") != "kept" || resp.Header.Get(HeaderTraceID) != "Root=1-abc" {
		t.Errorf("headers not passed through: %v", resp.Header)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"req-1/error", strings.NewReader(`{"errorMessage":"boom","errorType":"E"}`))
	req.Header.Set(HeaderErrorType, "E")
	req.Header.Set("Lambda-Runtime-Function-Xray-Error-Cause", `{"x":1}`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error: status %d", resp.StatusCode)
	}
	u.mu.Lock()
	got := u.bodies["/2018-06-01/runtime/invocation/req-1/error"]
	gotHeader := u.headers["/2018-06-01/runtime/invocation/req-1/error"]
	u.mu.Unlock()
	if string(got) != `{"errorMessage":"boom","errorType":"E"}` || gotHeader.Get("Lambda-Runtime-Function-Xray-Error-Cause") != `{"x":1}` {
		t.Errorf("upstream got %q %v", got, gotHeader)
	}

	events, results := rec.wait(t, 1, 1)
	if len(events) != 1 || len(results) != 1 {
		t.Fatalf("events %d results %d", len(events), len(results))
	}
	ev := events[0]
	if ev.RequestID != "req-1" || ev.TraceID != "Root=1-abc" || ev.ClientContext != `{"c":1}` ||
		ev.CognitoIdentity != `{"cognitoIdentityId":"x"}` || ev.Deadline.UnixMilli() != 1700000000000 ||
		ev.InvokedFunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:f" || string(ev.Body.Bytes) != `{"Success": true}` {
		t.Errorf("event = %+v", ev)
	}
	r := results[0]
	if r.RequestID != "req-1" || !r.Failed || r.ErrorType != "E" || string(r.Body.Bytes) != `{"errorMessage":"boom","errorType":"E"}` {
		t.Errorf("result = %+v", r)
	}
}

func TestUnknownPathsAndRefusedResults(t *testing.T) {
	_, srv := newFakeAPI(t, nil)
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)
	resp, err := http.Post("http://"+addr+"/2018-06-01/runtime/unknown?x=1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Echo-Path") != "/2018-06-01/runtime/unknown?x=1" {
		t.Errorf("unknown path: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Post("http://"+addr+"/2018-06-01/runtime/invocation/req-2/response?reject=1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413 passed through", resp.StatusCode)
	}
	_, results := rec.wait(t, 0, 1)
	if r := results[0]; r.Call != CallResponse || r.RequestID != "req-2" || r.Status != http.StatusRequestEntityTooLarge || string(r.Body.Bytes) != "{}" {
		t.Errorf("refused result %+v", r)
	}
}

func TestLargeBodyIsCappedNotBuffered(t *testing.T) {
	u, srv := newFakeAPI(t, nil)
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1000)
	big := bytes.Repeat([]byte("x"), 5<<20)
	resp, err := http.Post("http://"+addr+"/2018-06-01/runtime/invocation/req-3/response", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u.mu.Lock()
	got := u.bodies["/2018-06-01/runtime/invocation/req-3/response"]
	u.mu.Unlock()
	if !bytes.Equal(got, big) {
		t.Errorf("upstream got %d bytes, want %d", len(got), len(big))
	}
	_, results := rec.wait(t, 0, 1)
	if len(results) != 1 {
		t.Fatal("no result")
	}
	p := results[0].Body
	if len(p.Bytes) != 1000 || p.Size != int64(len(big)) || !p.Truncated {
		t.Errorf("capture: kept %d size %d truncated %v", len(p.Bytes), p.Size, p.Truncated)
	}
}

// TestStreamingWithErrorTrailers sends a chunked response that fails midway:
// chunks reach the Runtime API as they are written, and the trailers too.
func TestStreamingWithErrorTrailers(t *testing.T) {
	arrived := make(chan string, 10)
	var trailer http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReader(r.Body)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				arrived <- line
			}
			if err != nil {
				break
			}
		}
		trailer = r.Trailer.Clone()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/2018-06-01/runtime/invocation/req-4/response", pr)
	req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
	req.Trailer = http.Header{TrailerErrorType: nil, TrailerErrorBody: nil}
	done := make(chan *http.Response)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	fmt.Fprint(pw, "chunk-1\n")
	select {
	case got := <-arrived:
		if got != "chunk-1\n" {
			t.Errorf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first chunk held back by the proxy")
	}
	fmt.Fprint(pw, "chunk-2\n")
	errBody := `{"errorMessage":"midway","errorType":"Stream.Failed"}`
	req.Trailer.Set(TrailerErrorType, "Stream.Failed")
	req.Trailer.Set(TrailerErrorBody, base64.StdEncoding.EncodeToString([]byte(errBody)))
	pw.Close()
	resp := <-done
	if resp == nil {
		return
	}
	resp.Body.Close()
	if trailer.Get(TrailerErrorType) != "Stream.Failed" {
		t.Errorf("trailers upstream: %v", trailer)
	}
	_, results := rec.wait(t, 0, 1)
	if len(results) != 1 || !results[0].Failed || results[0].ErrorType != "Stream.Failed" || string(results[0].Body.Bytes) != errBody {
		t.Errorf("results = %+v", results)
	}
}

func TestRuntimeGoneWhenLastConnectionCloses(t *testing.T) {
	_, srv := newFakeAPI(t, []byte("{}"))
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, _, gone := rec.snapshot(); gone != 0 {
		t.Fatal("gone before the connection closed")
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, gone := rec.snapshot(); gone == 1 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("RuntimeGone not called")
}

func BenchmarkProxyNext(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 20} {
		event := bytes.Repeat([]byte("x"), size)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(HeaderRequestID, "id")
			w.Write(event)
		}))
		direct := "http://" + srv.Listener.Addr().String() + "/2018-06-01/runtime/invocation/next"
		p := New(Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 6 << 20, Observer: &recorder{}})
		ln, _ := p.Listen("127.0.0.1:0")
		go p.Serve(ln)
		proxied := "http://" + ln.Addr().String() + "/2018-06-01/runtime/invocation/next"
		for _, c := range []struct{ name, url string }{{"direct", direct}, {"proxied", proxied}} {
			b.Run(fmt.Sprintf("%s/%dB", c.name, size), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					resp, err := http.Get(c.url)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		p.Shutdown(context.Background())
		srv.Close()
	}
}

// TestDroppedBodies: bodies no record will hold go through but are not kept.
func TestDroppedBodies(t *testing.T) {
	u, srv := newFakeAPI(t, []byte(`{"event":1}`))
	rec := &recorder{}
	p := New(Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 1 << 20, Observer: rec,
		Keep: func(c Call) bool { return c != CallNext && c != CallResponse }})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(context.Background())
	base := "http://" + ln.Addr().String() + "/2018-06-01/runtime/invocation/"
	resp, err := http.Get(base + "next")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != `{"event":1}` {
		t.Errorf("event %q", b)
	}
	resp.Body.Close()
	for _, path := range []string{"r1/response", "r2/error"} {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(`{"body":"`+path+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	events, results := rec.wait(t, 1, 2)
	if len(events[0].Body.Bytes) != 0 || events[0].Body.Size != int64(len(`{"event":1}`)) {
		t.Errorf("event kept %q", events[0].Body.Bytes)
	}
	for _, r := range results {
		kept := string(r.Body.Bytes)
		if r.Failed && kept != `{"body":"r2/error"}` || !r.Failed && kept != "" {
			t.Errorf("%s kept %q", r.RequestID, kept)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if string(u.bodies["/2018-06-01/runtime/invocation/r1/response"]) != `{"body":"r1/response"}` {
		t.Error("the response did not reach the Runtime API whole")
	}
}

// A poll is told before the Runtime API has the call: Lambda may send the
// extension its INVOKE as soon as the runtime asked for the event, and the
// lifecycle then asks whether the runtime goes through the proxy.
func TestPolledBeforeTheCallGoesUp(t *testing.T) {
	rec := &slowPoll{}
	polledFirst := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polledFirst <- rec.polled.Load()
		w.Header().Set(HeaderRequestID, "r-1")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	_, addr := serveProxy(t, Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 1 << 20, Observer: rec})
	resp, err := http.Get("http://" + addr + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !<-polledFirst {
		t.Error("the Runtime API had the /next before the observer was told of the poll")
	}
}

// slowPoll is told of a poll only after a while: were it told after the
// call went up, the Runtime API would have the call first.
type slowPoll struct {
	recorder
	polled atomic.Bool
}

func (s *slowPoll) Polled() {
	time.Sleep(100 * time.Millisecond)
	s.polled.Store(true)
}
