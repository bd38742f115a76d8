package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// bufSize is each connection's read and write buffer.
	bufSize = 32 << 10
	// pipelined bounds the exchanges queued for the answer side.
	pipelined = 16
	// linger bounds the wait for what the runtime still sends after the
	// Runtime API has ended the exchange: the rest of a body it did not
	// wait for, or the answers of a runtime that half-closed.
	linger = 2 * time.Second
)

// aLongTimeAgo is a deadline that makes blocked reads fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// pair is one runtime connection and the Runtime API connection it is
// paired with. The request side (serve's goroutine) reads requests from the
// runtime and sends them up; the answer side reads their answers and sends
// them back, in order, and tells the observer what went through. The
// answer side alone writes to the runtime: what the relay answers itself
// (a 400, a 100 Continue) goes through the same queue, in its turn.
type pair struct {
	p      *Proxy
	client net.Conn
	cr     *bufio.Reader
	cw     *bufio.Writer // the answer side's

	mu      sync.Mutex // guards up and closing
	up      *upstream  // nil until the first request; replaced by a redial
	closing bool

	queue    chan *exchange // exchanges in order, for the answer side
	replayed chan struct{}  // the exchange that could be sent again is settled
	answered chan struct{}  // closed when the answer side has stopped
	// byUpstream is set by the answer side, before answered is closed,
	// when the Runtime API ended the pair: the runtime did not go, it will
	// connect again.
	byUpstream bool
	done       chan struct{} // closed when the pair is closed

	polls atomic.Int32 // /next and /restore/next sent up, waiting for an event

	// Request side only.
	carried   bool      // the pair carried a request
	sending   *exchange // the exchange being sent up
	replayBuf []byte    // the head of the exchange that can be sent again
}

func newPair(p *Proxy, c net.Conn) *pair {
	return &pair{
		p:        p,
		client:   c,
		cr:       bufio.NewReaderSize(c, bufSize),
		cw:       bufio.NewWriterSize(c, bufSize),
		queue:    make(chan *exchange, pipelined),
		replayed: make(chan struct{}, 1),
		answered: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// serve runs the pair until the runtime closes its connection or a failure
// ends it, then closes both connections.
func (pc *pair) serve() {
	defer close(pc.done)
	defer pc.p.gone(pc)
	go pc.answerSide()
	runtimeGone := pc.requestSide()
	close(pc.queue)
	if runtimeGone {
		pc.release()
	}
	<-pc.answered
	pc.abort()
}

// release lets the answer side end once the runtime has closed its side:
// at once when a /next waits for an event nobody would read, else once the
// answers already asked for are back, within linger.
func (pc *pair) release() {
	u := pc.upstream()
	if u == nil {
		return
	}
	deadline := time.Now().Add(linger)
	if pc.polls.Load() > 0 {
		deadline = aLongTimeAgo
	}
	_ = u.conn.SetReadDeadline(deadline)
}

// abort closes both connections: whatever was in flight fails.
func (pc *pair) abort() {
	_ = pc.client.Close()
	pc.mu.Lock()
	pc.closing = true
	u := pc.up
	pc.mu.Unlock()
	if u != nil {
		_ = u.conn.Close()
	}
}

func (pc *pair) upstream() *upstream {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.up
}

// recoverPanic ends the pair, and only the pair, on a panic in one of its
// goroutines: the proxy goes on serving the runtime's other connections
// and the next ones.
func (pc *pair) recoverPanic(side string) {
	v := recover()
	if v == nil {
		return
	}
	pc.p.log.Error("runtime API proxy: panic, closing the connection", "side", side, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	pc.abort()
	if side != "request" {
		return
	}
	if ex := pc.sending; ex != nil {
		select {
		case <-ex.bodyDone:
		default:
			ex.bodyErr = fmt.Errorf("panic: %v", v)
			close(ex.bodyDone) // the answer side may wait for it
		}
	}
}

func (pc *pair) requestSide() (runtimeGone bool) {
	defer pc.recoverPanic("request")
	return pc.requests()
}

// requests reads requests and sends them up until the runtime closes its
// connection (runtimeGone) or asks to, or something fails.
func (pc *pair) requests() (runtimeGone bool) {
	var buf []byte
	afterPost := false
	var pending *exchange // may be sent again: nothing goes up after it until that is settled
	for {
		// Waiting for the runtime's next request: whatever the answer side
		// had to say has been flushed by it.
		h, err := readRequest(pc.cr, buf[:0], afterPost)
		buf = h.raw
		if err != nil {
			if isClosed(err) {
				return true
			}
			pc.push(&exchange{status: rejectStatus(err), cause: err})
			return false
		}
		afterPost = h.method == http.MethodPost
		pc.carry()
		ex := pc.p.newExchange(&h)
		if hook := pc.p.onExchange; hook != nil {
			hook("request", ex.target)
		}
		u, ok := pc.ready(ex, pending)
		if !ok {
			return false
		}
		pending = pc.holdForReplay(u, ex, h.raw)
		if h.expectContinue && ex.framing.kind != noBody && !pc.push(&exchange{interim: true}) {
			return false
		}
		if ex.call.waits() {
			pc.polls.Add(1)
		}
		if ex.call == CallNext {
			// Before the call goes up: Lambda may send INVOKE as soon as
			// the Runtime API has it, and the lifecycle asks then whether the
			// runtime goes through the proxy.
			pc.p.obs.Polled()
		}
		if !pc.push(ex) {
			return false
		}
		if err := pc.send(u, h.raw, ex); err != nil {
			// The runtime's side failed mid-body: the Runtime API has part
			// of a request, so the pair cannot go on.
			if !isClosed(err) {
				pc.p.log.Error("runtime API call failed", "method", ex.method, "target", ex.target, "error", err)
			}
			_ = u.conn.Close()
			return isClosed(err)
		}
		if u.out.failed() && ex.replay == nil {
			return false // the answer side tells the runtime what came back
		}
		if h.close {
			return false // the answer side closes after the answer
		}
	}
}

// ready returns the Runtime API connection to send ex on, once the
// exchange that may be sent again has been settled; false when the pair
// must end.
func (pc *pair) ready(ex *exchange, pending *exchange) (*upstream, bool) {
	if err := pc.connect(); err != nil {
		pc.p.log.Error("runtime API call failed", "method", ex.method, "target", ex.target, "upstream", pc.p.upstream, "error", err)
		pc.push(&exchange{status: http.StatusBadGateway, cause: err})
		return nil, false
	}
	if pending != nil {
		select {
		case <-pc.replayed:
		case <-pc.answered:
			return nil, false
		}
	}
	return pc.upstream(), true
}

// holdForReplay keeps what it takes to send ex again when ex goes on a
// connection that carried earlier requests, and returns ex then; nil
// otherwise.
func (pc *pair) holdForReplay(u *upstream, ex *exchange, head []byte) *exchange {
	if u.carried == 0 || !ex.replayable() {
		return nil
	}
	pc.replayBuf = append(pc.replayBuf[:0], head...)
	ex.replay = pc.replayBuf
	return ex
}

// carry records that the pair carried a request.
func (pc *pair) carry() {
	if !pc.carried {
		pc.carried = true
		pc.p.carried()
	}
}

// connect dials the Runtime API for the pair's first request.
func (pc *pair) connect() error {
	if pc.upstream() != nil {
		return nil
	}
	c, err := pc.p.dialer.Dial("tcp", pc.p.upstream)
	if err != nil {
		return err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closing {
		_ = c.Close()
		return net.ErrClosed
	}
	pc.up = newUpstream(c)
	return nil
}

// push queues ex for the answer side; false when the answer side stopped.
func (pc *pair) push(ex *exchange) bool {
	select {
	case pc.queue <- ex:
		return true
	case <-pc.answered:
		return false
	}
}

// send writes the request head and body up, teeing the body into ex.body,
// then tells the answer side the body is done. Errors are the runtime's
// side: the Runtime API's side fails into u.out.
func (pc *pair) send(u *upstream, head []byte, ex *exchange) error {
	pc.sending = ex
	_, _ = u.w.Write(head)
	trailer, err := copyBody(u.w, pc.cr, ex.framing, ex.body.sink())
	if err == nil {
		err = u.w.Flush()
	}
	ex.trailer, ex.bodyErr = trailer, err
	close(ex.bodyDone)
	pc.sending = nil
	u.carried++
	return err
}

// rejectStatus is the status net/http's server answers a request it cannot
// read with.
func rejectStatus(err error) int {
	switch {
	case errors.Is(err, errHeadTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errUnsupportedTE):
		return http.StatusNotImplemented
	}
	return http.StatusBadRequest
}

// stopping reports whether err comes from the pair being closed on
// purpose: a deadline set to wake a blocked read, or a closed connection.
func stopping(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}

// isClosed reports whether err says a connection ended, whoever ended it.
func isClosed(err error) bool {
	return stopping(err) || lost(err)
}

// lost reports whether err says the other end closed or reset the
// connection.
func lost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
