// Package proxy is a Runtime API proxy: the runtime is pointed at it, it
// forwards every call to the real Runtime API unchanged and tees the bodies
// of the invocation it sees to an Observer.
//
// It relays HTTP/1.1 byte for byte: each runtime connection is paired with
// one connection to the Runtime API, requests go up and answers come back as
// they were written (headers, their case and order, chunked framing,
// trailers), and the proxy reads only what it needs to find where each
// message ends and what it carries. Two goroutines per connection, each
// blocked on one socket, is all the work a call costs beyond a TCP relay:
// net/http's server, ReverseProxy and Transport cost several times that in
// goroutine hand-offs and copies, three times per invocation on the
// caller's critical path.
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
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

// Call is the Runtime API call a request is.
type Call uint8

const (
	CallOther        Call = iota // anything else: forwarded, not observed
	CallNext                     // GET  /2018-06-01/runtime/invocation/next
	CallResponse                 // POST /2018-06-01/runtime/invocation/{id}/response
	CallError                    // POST /2018-06-01/runtime/invocation/{id}/error
	CallInitError                // POST /2018-06-01/runtime/init/error
	CallRestoreNext              // GET  /2018-06-01/runtime/restore/next
	CallRestoreError             // POST /2018-06-01/runtime/restore/error
)

// Result is the Runtime API's answer to a call that posts a result,
// accepted or refused.
type Result struct {
	Call      Call
	RequestID string // the id in the path; empty for init and restore errors
	Status    int    // the Runtime API's final status: 2xx accepted
	Failed    bool   // posted to an error endpoint, or a response Lambda treats as failed
	ErrorType string // Lambda-Runtime-Function-Error-Type
	Body      invocation.Payload
	Answer    []byte // the Runtime API's answer body when Status is not 2xx
	At        time.Time
}

// Observer receives what the proxy sees. Calls come from the proxy's
// goroutines and must not block. Event and Result are told once the answer
// has gone back to the runtime: the runtime's next step is on the caller's
// critical path, the observer's work is not.
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
	drop       map[string]bool // by call kind: keep none of the body
	gc         collector       // before large bodies are kept
	obs        Observer
	log        *slog.Logger
	dialer     net.Dialer

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	pairs     map[*pair]struct{} // open runtime connections
	used      map[*pair]struct{} // those that carried a request
	closed    bool
}

// Options configure a Proxy.
type Options struct {
	Upstream        string // HOST:PORT of the real Runtime API
	MaxPayloadBytes int    // bytes of each body kept for the record
	// Bodies no record will hold are not kept: events when no record
	// carries its request, responses when no success is recorded, errors
	// when no failure is.
	DropEvents, DropResponses, DropErrors bool
	Observer                              Observer
	Logger                                *slog.Logger
}

// New returns a proxy; Serve starts it.
func New(o Options) *Proxy {
	p := &Proxy{upstream: o.Upstream, maxPayload: o.MaxPayloadBytes, obs: o.Observer, log: o.Logger,
		drop:      map[string]bool{"next": o.DropEvents, "response": o.DropResponses, "error": o.DropErrors, "initerror": o.DropErrors},
		dialer:    net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1},
		listeners: map[net.Listener]struct{}{},
		pairs:     map[*pair]struct{}{},
		used:      map[*pair]struct{}{},
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	return p
}

type nopObserver struct{}

func (nopObserver) Polled()       {}
func (nopObserver) Event(Event)   {}
func (nopObserver) Result(Result) {}
func (nopObserver) RuntimeGone()  {}

// Listen binds the proxy's address; call it before registering the
// extension, since Lambda starts the runtime right after.
func (p *Proxy) Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Serve serves the Runtime API on l until Shutdown; it returns nil then.
func (p *Proxy) Serve(l net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = l.Close()
		return nil
	}
	p.listeners[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return nil
			}
			// Out of file descriptors and the like: wait, as net/http does.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		pc := newPair(p, c)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return nil
		}
		p.pairs[pc] = struct{}{}
		p.mu.Unlock()
		go pc.serve()
	}
}

// Shutdown stops the proxy: it stops listening and closes every
// connection, the runtime's and the Runtime API's. Calls in flight fail.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	var errs []error
	for l := range p.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	pairs := make([]*pair, 0, len(p.pairs))
	for pc := range p.pairs {
		pairs = append(pairs, pc)
	}
	p.mu.Unlock()
	for _, pc := range pairs {
		pc.abort()
	}
	for _, pc := range pairs {
		select {
		case <-pc.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// carried records that a runtime connection carried a request.
func (p *Proxy) carried(pc *pair) {
	p.mu.Lock()
	p.used[pc] = struct{}{}
	p.mu.Unlock()
}

// gone forgets a closed runtime connection. Runtimes keep their connection
// open between calls: when the last one that carried a request closes, the
// runtime has exited, and nothing else will say so. A connection the
// Runtime API ended does not count: the runtime will connect again.
func (p *Proxy) gone(pc *pair) {
	p.mu.Lock()
	delete(p.pairs, pc)
	_, wasUsed := p.used[pc]
	delete(p.used, pc)
	last := wasUsed && len(p.used) == 0 && !pc.byUpstream
	p.mu.Unlock()
	if last {
		p.obs.RuntimeGone()
	}
}

// classify tells which Runtime API call a request for path (without the
// query) and method is, and for which request id.
func classify(method, path string) (kind, requestID string) {
	if path == "/2018-06-01/runtime/init/error" && method == http.MethodPost {
		return "initerror", ""
	}
	rest, ok := strings.CutPrefix(path, invocationPrefix)
	if !ok {
		return "", ""
	}
	if rest == "next" && method == http.MethodGet {
		return "next", ""
	}
	id, action, ok := strings.Cut(rest, "/")
	if ok && method == http.MethodPost && id != "" && (action == "response" || action == "error") {
		return action, id
	}
	return "", ""
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

// keep is how many bytes of a body of the given call kind to keep.
func (p *Proxy) keep(kind string) int {
	if p.drop[kind] {
		return 0
	}
	return p.maxPayload
}
