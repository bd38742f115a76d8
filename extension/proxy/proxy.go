// Package proxy is a Runtime API proxy: the runtime is pointed at it, it
// forwards every call to the real Runtime API unchanged and tees the bodies
// of the invocation it sees to an Observer.
package proxy

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// Runtime API headers and trailers.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedARN      = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	TrailerErrorType      = "Lambda-Runtime-Function-Error-Type"
	TrailerErrorBody      = "Lambda-Runtime-Function-Error-Body"
)

const invocationPrefix = "/2018-06-01/runtime/invocation/"

// Event is what the runtime received from /next.
type Event struct {
	RequestID          string
	Deadline           time.Time
	InvokedFunctionARN string
	TraceID            string
	ClientContext      string
	CognitoIdentity    string
	Body               invocation.Payload
	At                 time.Time // when the event went through
}

// Result is what the runtime posted for an invocation and Lambda accepted.
type Result struct {
	RequestID string
	Failed    bool   // posted to /error, or a streamed response with an error trailer
	ErrorType string // Lambda-Runtime-Function-Error-Type
	Body      invocation.Payload
	At        time.Time
}

// Observer receives what the proxy sees. Calls come from the proxy's
// goroutines and must not block.
type Observer interface {
	Polled()       // the runtime asked for its next event
	Event(Event)   // the runtime received an event
	Result(Result) // the runtime's result for a request id was accepted
	RuntimeGone()  // the last connection the runtime had used closed
}

// Proxy forwards the Runtime API.
type Proxy struct {
	upstream   string
	maxPayload int
	obs        Observer
	rp         *httputil.ReverseProxy
	log        *slog.Logger
	server     *http.Server
	mu         sync.Mutex
	conns      map[net.Conn]struct{} // connections that carried a request
}

// Options configure a Proxy.
type Options struct {
	Upstream        string // HOST:PORT of the real Runtime API
	MaxPayloadBytes int    // bytes of each body kept for the record
	Observer        Observer
	Logger          *slog.Logger
}

type ctxKey struct{}

// state is the per-request capture, carried in the request's context from
// the handler to the proxy's hooks.
type state struct {
	kind      string // "next", "response", "error" or ""
	requestID string
	body      *capture
}

// New returns a proxy; Serve starts it.
func New(o Options) *Proxy {
	p := &Proxy{upstream: o.Upstream, maxPayload: o.MaxPayloadBytes, obs: o.Observer, log: o.Logger,
		conns: map[net.Conn]struct{}{}}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		ModifyResponse: p.modifyResponse,
		Transport:      newTransport(),
		FlushInterval:  -1, // pass every write through at once: responses may stream
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		ErrorHandler:   p.errorHandler,
	}
	return p
}

// newTransport is tuned for one loopback peer and never uses HTTP_PROXY.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}).DialContext,
		MaxIdleConns:        8,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     0,
		DisableCompression:  true, // pass bodies as they are, never gzip on the way
		WriteBufferSize:     32 << 10,
		ReadBufferSize:      32 << 10,
	}
}

// Listen binds the proxy's address; call it before registering the
// extension, since Lambda starts the runtime right after.
func (p *Proxy) Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Serve serves the Runtime API on l until Shutdown.
func (p *Proxy) Serve(l net.Listener) error {
	p.server = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 0, // /next long-polls; the runtime is trusted
		ConnState:         p.connState,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	err := p.server.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the proxy.
func (p *Proxy) Shutdown(ctx context.Context) error {
	if p.server == nil {
		return nil
	}
	return p.server.Shutdown(ctx)
}

func (p *Proxy) connState(c net.Conn, s http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s {
	case http.StateActive:
		p.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		if _, ok := p.conns[c]; !ok {
			return
		}
		delete(p.conns, c)
		// Runtimes keep their connection open between calls: when the last
		// one closes, the runtime has exited, and nothing else will say so.
		if len(p.conns) == 0 && p.obs != nil {
			p.obs.RuntimeGone()
		}
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := classify(r)
	if st.kind != "" && p.obs != nil {
		if st.kind == "next" {
			p.obs.Polled()
		} else {
			st.body = newCapture(p.maxPayload, r.ContentLength)
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	}
	p.rp.ServeHTTP(w, r)
}

// classify tells which Runtime API call a request is.
func classify(r *http.Request) *state {
	rest, ok := strings.CutPrefix(r.URL.Path, invocationPrefix)
	if !ok {
		return &state{}
	}
	if rest == "next" && r.Method == http.MethodGet {
		return &state{kind: "next"}
	}
	id, action, ok := strings.Cut(rest, "/")
	if ok && r.Method == http.MethodPost && id != "" && (action == "response" || action == "error") {
		return &state{kind: action, requestID: id}
	}
	return &state{}
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = p.upstream
	pr.Out.Host = pr.In.Host
	// Clone copied the trailer map before the body was read; share the
	// inbound one so trailers the runtime sends after the body go through.
	pr.Out.Trailer = pr.In.Trailer
	st, _ := pr.In.Context().Value(ctxKey{}).(*state)
	if st != nil && (st.kind == "response" || st.kind == "error") && pr.Out.Body != nil {
		pr.Out.Body = &teeBody{r: pr.Out.Body, c: st.body}
	}
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(ctxKey{}).(*state)
	if st == nil || st.kind == "" {
		return nil
	}
	switch st.kind {
	case "next":
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		ev := eventFromHeader(resp.Header)
		st.body = newCapture(p.maxPayload, resp.ContentLength)
		resp.Body = &teeBody{r: resp.Body, c: st.body, done: func() {
			ev.Body = st.body.payload()
			ev.At = time.Now()
			p.obs.Event(ev)
		}}
	case "response", "error":
		if resp.StatusCode/100 != 2 {
			return nil // not accepted: the runtime will post again or fail
		}
		res := Result{RequestID: st.requestID, Body: st.body.payload(), At: time.Now()}
		if st.kind == "error" {
			res.Failed = true
			res.ErrorType = resp.Request.Header.Get(HeaderErrorType)
		} else if t := resp.Request.Trailer.Get(TrailerErrorType); t != "" {
			// A streamed response that failed midway reports it in trailers.
			res.Failed, res.ErrorType = true, t
			if b, err := base64.StdEncoding.DecodeString(resp.Request.Trailer.Get(TrailerErrorBody)); err == nil && len(b) > 0 {
				res.Body = invocation.Payload{Bytes: b, Size: int64(len(b))}
			}
		}
		p.obs.Result(res)
	}
	return nil
}

func eventFromHeader(h http.Header) Event {
	ev := Event{
		RequestID:          h.Get(HeaderRequestID),
		InvokedFunctionARN: h.Get(HeaderInvokedARN),
		TraceID:            h.Get(HeaderTraceID),
		ClientContext:      h.Get(HeaderClientContext),
		CognitoIdentity:    h.Get(HeaderCognitoIdentity),
	}
	if ms, err := strconv.ParseInt(h.Get(HeaderDeadlineMs), 10, 64); err == nil {
		ev.Deadline = time.UnixMilli(ms)
	}
	return ev
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the runtime went away; nobody to answer
	}
	p.log.Error("runtime API call failed", "method", r.Method, "path", r.URL.Path, "upstream", p.upstream, "error", err)
	w.WriteHeader(http.StatusBadGateway)
}
