// Package proxy is a Runtime API proxy: the runtime is pointed at it, it
// forwards every call to the real Runtime API unchanged and tees the bodies
// of the invocations it sees to an Observer.
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
//
// The proxy must never take the function down: a connection that fails or
// panics is closed alone, and the listener outlives any error but its own
// closing.
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Options configure a Proxy.
type Options struct {
	Upstream        string // HOST:PORT of the real Runtime API
	MaxPayloadBytes int    // bytes of each body kept for the record
	// Keep says whether the bodies of a call are kept for records: the
	// events of CallNext, the bodies posted by the result calls. Bodies no
	// record will hold need not be. Nil keeps them all.
	Keep func(Call) bool
	// ManagedInstances says the function runs on Lambda Managed
	// Instances, which read error trailers on every response.
	ManagedInstances bool
	Observer         Observer
	Logger           *slog.Logger
}

// Proxy forwards the Runtime API.
type Proxy struct {
	upstream         string
	keep             [numCalls]int // bytes kept of each call's bodies
	managedInstances bool
	gc               collector // before large bodies are kept
	onLarge          func()    // gc.collect, made once
	obs              Observer
	log              *slog.Logger
	dialer           net.Dialer
	// onExchange, when set (by tests), is called as each side of a
	// connection takes up an exchange.
	onExchange func(side, target string)

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	pairs     map[*pair]struct{} // open runtime connections
	carrying  int                // of which those that carried a request
	closed    bool
	stop      chan struct{} // closed by Shutdown
}

// New returns a proxy; Serve starts it.
func New(o Options) *Proxy {
	p := &Proxy{upstream: o.Upstream, managedInstances: o.ManagedInstances, obs: o.Observer, log: o.Logger,
		dialer:    net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1},
		listeners: map[net.Listener]struct{}{},
		pairs:     map[*pair]struct{}{},
		stop:      make(chan struct{}),
	}
	p.onLarge = p.gc.collect
	for c := range numCalls {
		if o.Keep == nil || o.Keep(c) {
			p.keep[c] = o.MaxPayloadBytes
		}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	return p
}

// Listen binds the proxy's address; call it before registering the
// extension, since Lambda starts the runtime right after.
func (p *Proxy) Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Shutdown stops the proxy: it stops listening and closes every
// connection, the runtime's and the Runtime API's. Calls in flight fail.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
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

// open tracks a new runtime connection; false once the proxy is shut down.
func (p *Proxy) open(pc *pair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.pairs[pc] = struct{}{}
	return true
}

// carried records that a runtime connection carried its first request.
func (p *Proxy) carried() {
	p.mu.Lock()
	p.carrying++
	p.mu.Unlock()
}

// gone forgets a closed runtime connection. A runtime that keeps its
// connection open between calls has exited when the last one that carried
// a request closes, and nothing else may say so. A connection the Runtime
// API ended does not count: the runtime will connect again.
func (p *Proxy) gone(pc *pair) {
	p.mu.Lock()
	delete(p.pairs, pc)
	last := false
	if pc.carried {
		p.carrying--
		last = p.carrying == 0 && !pc.byUpstream
	}
	p.mu.Unlock()
	if last {
		p.obs.RuntimeGone()
	}
}
