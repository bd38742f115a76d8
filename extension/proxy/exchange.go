package proxy

import "net/http"

// exchange is one request and what its answer needs to know of it.
type exchange struct {
	call           Call
	requestID      string
	method, target string
	close          bool        // the request asked to close the connection
	lambda         http.Header // the request's Lambda-Runtime-* fields
	framing        framing
	body           *capture // what is kept of a result's body

	// Set by the request side before bodyDone is closed.
	trailer  http.Header // the request's Lambda-Runtime-* trailer fields
	bodyErr  error
	bodyDone chan struct{}

	// replay, when set, is the head to send again on a new connection,
	// should the reused one fail before any answer came; the answer side
	// says on pair.replayed when that is settled.
	replay []byte

	// Exchanges the relay answers itself: status ends the pair with that
	// status; interim writes a 100 Continue.
	status  int
	cause   error
	interim bool
}

// newExchange builds the exchange of a request head.
func (p *Proxy) newExchange(h *head) *exchange {
	ex := &exchange{method: h.method, target: h.target, close: h.close, lambda: h.lambda,
		framing: h.requestFraming(), bodyDone: make(chan struct{})}
	ex.call, ex.requestID = classify(h.method, h.target)
	if ex.call.postsResult() {
		cl := h.length
		if ex.framing.kind == chunked {
			cl = -1
		}
		ex.body = newCapture(p.keep[ex.call], cl)
		ex.body.onLarge = p.onLarge
	}
	return ex
}

// replayable reports whether the request can be sent again whole: it has
// no body, or one of known length that its capture keeps in full.
func (ex *exchange) replayable() bool {
	switch ex.framing.kind {
	case noBody:
		return true
	case fixedLength:
		return ex.body != nil && int64(ex.body.max) >= ex.framing.length
	}
	return false
}
