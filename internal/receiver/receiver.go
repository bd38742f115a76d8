// Package receiver is a webhook receiver for tests and the demo: an HTTP
// server on 127.0.0.1 that records every request and answers as told
// (a fixed status, a sequence of statuses, hanging, or being down).
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Options configure a Receiver.
type Options struct {
	// Addr to listen on; default "127.0.0.1:0" (a free port).
	Addr string
	// Status answered to every request; default 200.
	Status int
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Time   time.Time // when the request's body had been read
	// Status answered, or 0 when the handler hung (no answer sent).
	Status int
}

// Receiver is a running webhook receiver. Its behaviour can be changed at any
// time; it applies to requests arriving afterwards.
type Receiver struct {
	addr   string        // host:port, fixed at New so that Up reuses it
	closed chan struct{} // closed by Close: ends hanging handlers

	mu       sync.Mutex
	srv      *http.Server  // nil while down
	serveErr chan error    // Serve's result for srv
	down     chan struct{} // closed by Down: ends hanging handlers of srv
	status   int
	sequence []int
	hang     bool
	delay    time.Duration
	requests []Request
	changed  chan struct{} // closed and replaced when a request is recorded
	isClosed bool
}

// New starts a receiver.
func New(opts Options) (*Receiver, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	status := opts.Status
	if status == 0 {
		status = http.StatusOK
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("receiver listening on %s: %w", addr, err)
	}
	r := &Receiver{
		addr:    l.Addr().String(),
		closed:  make(chan struct{}),
		status:  status,
		changed: make(chan struct{}),
	}
	r.mu.Lock()
	r.serveLocked(l)
	r.mu.Unlock()
	return r, nil
}

func (r *Receiver) serveLocked(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	r.srv, r.serveErr, r.down = srv, errc, make(chan struct{})
	go func() { errc <- srv.Serve(l) }()
}

// URL is the receiver's base URL, e.g. http://127.0.0.1:PORT.
func (r *Receiver) URL() string { return "http://" + r.addr }

// SetStatus makes the receiver answer every request with code, ending any
// sequence or hanging set before.
func (r *Receiver) SetStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.sequence, r.hang = code, nil, false
}

// SetSequence makes the next requests get codes in order (e.g. 503, 503,
// 200); once they are used up, the status set by SetStatus applies again.
// It ends hanging.
func (r *Receiver) SetSequence(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sequence, r.hang = slices.Clone(codes), false
}

// SetDelay makes the receiver wait d before each answer, as a slow
// endpoint does.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// Hang makes requests wait, unanswered, until the client gives up (its
// request context ends), Down or Close. SetStatus and SetSequence end it
// for later requests.
func (r *Receiver) Hang() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hang = true
}

// Down closes the listener and every connection, so that clients get
// connection errors, and ends hanging handlers. Up restores service.
func (r *Receiver) Down() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downLocked()
}

func (r *Receiver) downLocked() error {
	if r.srv == nil {
		return nil
	}
	err := r.srv.Close()
	close(r.down)
	<-r.serveErr
	r.srv = nil
	if err != nil {
		return fmt.Errorf("receiver %s going down: %w", r.addr, err)
	}
	return nil
}

// Up listens again on the same address after Down.
func (r *Receiver) Up() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosed {
		return fmt.Errorf("receiver %s: closed", r.addr)
	}
	if r.srv != nil {
		return nil
	}
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("receiver listening again on %s: %w", r.addr, err)
	}
	r.serveLocked(l)
	return nil
}

// Close stops the receiver for good and ends hanging handlers. The recorded
// requests stay readable.
func (r *Receiver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosed {
		return nil
	}
	r.isClosed = true
	close(r.closed)
	return r.downLocked()
}

// Received returns the requests recorded so far, in arrival order.
func (r *Receiver) Received() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.copyLocked()
}

// copyLocked returns a deep copy, so that callers may modify what they get.
func (r *Receiver) copyLocked() []Request {
	out := make([]Request, len(r.requests))
	for i, req := range r.requests {
		req.Header = req.Header.Clone()
		req.Body = slices.Clone(req.Body)
		out[i] = req
	}
	return out
}

// Wait waits until at least n requests have been recorded and returns all of
// them; on ctx's end it returns those recorded so far with the error.
func (r *Receiver) Wait(ctx context.Context, n int) ([]Request, error) {
	for {
		r.mu.Lock()
		got, changed := r.copyLocked(), r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("receiver %s waiting for %d requests, got %d: %w", r.addr, n, len(got), ctx.Err())
		}
	}
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		// A client that gave up mid-body is not a delivery: not recorded.
		return
	}
	r.mu.Lock()
	status, hang, down, delay := r.status, r.hang, r.down, r.delay
	if !hang && len(r.sequence) > 0 {
		status, r.sequence = r.sequence[0], r.sequence[1:]
	}
	rec := Request{
		Method: req.Method,
		Path:   req.URL.Path,
		Query:  req.URL.RawQuery,
		Header: req.Header.Clone(),
		Body:   body,
		Time:   time.Now(),
		Status: status,
	}
	if hang {
		rec.Status = 0
	}
	r.requests = append(r.requests, rec)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()

	if hang {
		select {
		case <-req.Context().Done():
		case <-down:
		case <-r.closed:
		}
		// Returning normally would send a 200: abort the response instead.
		panic(http.ErrAbortHandler)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	w.WriteHeader(status)
}
