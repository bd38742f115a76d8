package proxy

import (
	"fmt"
	"net/http"
	"time"
)

func (pc *pair) answerSide() {
	defer close(pc.answered)
	defer pc.recoverPanic("answer")
	pc.answers()
}

// answers writes back, in order, each queued exchange's answer: the
// Runtime API's, or the relay's own.
func (pc *pair) answers() {
	var buf []byte
	for ex := range pc.queue {
		keep := false
		switch {
		case ex.status != 0:
			if ex.status != http.StatusBadGateway {
				pc.p.log.Warn("malformed request from the runtime", "status", ex.status, "error", ex.cause)
			}
			_ = writeStatus(pc.cw, ex.status)
		case ex.interim:
			_, err := pc.cw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			keep = err == nil && pc.cw.Flush() == nil
		default:
			buf, keep = pc.answer(ex, buf)
		}
		if !keep {
			// Wake the request side if it waits for the runtime.
			_ = pc.client.SetReadDeadline(aLongTimeAgo)
			return
		}
	}
}

// answer sends one answer back and tells the observer; keep is false when
// the pair must end.
func (pc *pair) answer(ex *exchange, buf []byte) (_ []byte, keep bool) {
	if hook := pc.p.onExchange; hook != nil {
		hook("answer", ex.target)
	}
	// Nothing more to send back until the Runtime API answers.
	if err := pc.cw.Flush(); err != nil {
		return buf, false
	}
	u, h, err := pc.finalHead(ex, buf)
	buf = h.raw
	if err != nil {
		pc.answerRead(ex)
		// Unless the pair is being closed (the runtime went away, or
		// Shutdown), the Runtime API failed the call.
		if !stopping(err) {
			pc.byUpstream = true
			pc.p.log.Error("runtime API call failed", "method", ex.method, "target", ex.target, "upstream", pc.p.upstream, "error", err)
		}
		_ = writeStatus(pc.cw, http.StatusBadGateway)
		return buf, false
	}
	at := time.Now()
	f := h.answerFraming(ex.method)
	closes := h.close || f.kind == untilClose
	if closes && !done(ex.bodyDone) {
		u.out.drop.Store(true) // the Runtime API reads no more of the body
	}
	var c *capture
	switch {
	case ex.call == CallNext && h.status == http.StatusOK:
		c = newCapture(pc.p.keep[CallNext], h.length)
		c.onLarge = pc.p.onLarge
	case ex.call.postsResult() && h.status/100 != 2:
		c = newCapture(maxAnswer, h.length)
	}
	_, _ = pc.cw.Write(h.raw)
	_, err = copyBody(pc.cw, u.r, f, c.sink())
	if err == nil {
		err = pc.cw.Flush()
	}
	pc.answerRead(ex)
	if err != nil {
		if !stopping(err) {
			pc.p.log.Error("runtime API call failed", "method", ex.method, "target", ex.target, "upstream", pc.p.upstream, "error", err)
		}
		return buf, false
	}
	if closes && !ex.close {
		pc.byUpstream = true
	}
	if closes && !done(ex.bodyDone) {
		// Let the runtime finish sending the body, so that it reads the
		// answer rather than a reset.
		_ = pc.client.SetReadDeadline(time.Now().Add(linger))
	}
	// The answer is with the runtime: now the observer.
	switch {
	case ex.call == CallNext && c != nil:
		ev := eventFromHeader(h.lambda)
		ev.Body = c.payload()
		ev.At = time.Now()
		pc.p.obs.Event(ev)
	case ex.call.postsResult():
		<-ex.bodyDone
		pc.p.obs.Result(pc.result(ex, &h, c, at))
	}
	ex.body = nil // handed over
	return buf, !(closes || ex.close)
}

// answerRead counts ex's answer as read off the connection.
func (pc *pair) answerRead(ex *exchange) {
	if ex.call.waits() {
		pc.polls.Add(-1)
	}
}

// finalHead reads the head of ex's final answer, passing interim ones (100
// Continue, 103 Early Hints) back to the runtime. A request sent on a
// reused connection that fails before any answer came is sent once more on
// a new connection.
func (pc *pair) finalHead(ex *exchange, buf []byte) (*upstream, head, error) {
	u := pc.upstream()
	if ex.replay != nil {
		defer func() { pc.replayed <- struct{}{} }()
		if _, err := u.r.Peek(1); err != nil && lost(err) {
			nu, rerr := pc.redial(ex, u)
			if rerr != nil {
				return u, head{raw: buf}, fmt.Errorf("%w; sending it again: %w", err, rerr)
			}
			pc.p.log.Info("runtime API connection failed before answering; re-dialled and sent the request again", "method", ex.method, "target", ex.target, "error", err)
			u = nu
		}
	}
	for {
		h, err := readAnswer(u.r, buf[:0])
		buf = h.raw
		switch {
		case err != nil:
			return u, h, err
		case h.status == http.StatusSwitchingProtocols:
			return u, h, fmt.Errorf("protocol upgrades are not proxied")
		case h.status >= 100 && h.status < 200:
			// An interim answer, which the runtime may be waiting for (a
			// 100 Continue it asked the Runtime API for): the final one
			// follows.
			_, _ = pc.cw.Write(h.raw)
			if err := pc.cw.Flush(); err != nil {
				return u, h, err
			}
		default:
			return u, h, nil
		}
	}
}

// result is what the Runtime API answered a result call, and what the call
// carried.
func (pc *pair) result(ex *exchange, h *head, answer *capture, at time.Time) Result {
	r := Result{Call: ex.call, RequestID: ex.requestID, Status: h.status, Body: ex.body.payload(), At: at}
	outcome(&r, ex.lambda, ex.trailer, pc.p.managedInstances)
	if answer != nil {
		r.Answer = answer.payload().Join()
	}
	return r
}

// done reports whether ch is closed.
func done(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
