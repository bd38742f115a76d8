package proxy

import (
	"bufio"
	"errors"
	"net"
	"sync/atomic"
)

// upstream is one connection to the Runtime API.
type upstream struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer // over out
	out     *sender
	carried int // exchanges sent on it; the request side's, or the redial's before it is used
}

func newUpstream(c net.Conn) *upstream {
	s := &sender{conn: c}
	return &upstream{conn: c, r: bufio.NewReaderSize(c, bufSize), w: bufio.NewWriterSize(s, bufSize), out: s}
}

// sender is an upstream connection's write side. When a write fails, or
// once the Runtime API has answered a request whose body is still coming
// and said it closes, the rest is dropped here: the request side goes on
// reading the body from the runtime, which can then read the answer,
// rather than being cut off mid-send.
type sender struct {
	conn net.Conn
	drop atomic.Bool
	err  atomic.Pointer[error] // the write that failed
}

func (s *sender) Write(p []byte) (int, error) {
	if s.drop.Load() {
		return len(p), nil
	}
	if _, err := s.conn.Write(p); err != nil {
		s.fail(err)
	}
	return len(p), nil
}

func (s *sender) fail(err error) {
	s.err.Store(&err)
	s.drop.Store(true)
}

// failed reports whether a write failed.
func (s *sender) failed() bool { return s.err.Load() != nil }

var errNoReplay = errors.New("the request cannot be sent again")

// redial sends ex again on a new connection, once, when the reused
// connection it went on failed before any of its answer came: a connection
// that sat idle while the environment was snapshotted and restored
// (SnapStart) can be dead on first use. The runtime notices nothing. Only
// a request held whole can go again: one without a body, or whose body
// the capture kept in full.
func (pc *pair) redial(ex *exchange, old *upstream) (*upstream, error) {
	<-ex.bodyDone
	var body []byte
	if ex.framing.kind == fixedLength {
		p := ex.body.payload()
		if p.Parts != nil || int64(len(p.Bytes)) != ex.framing.length {
			return nil, errNoReplay
		}
		body = p.Bytes
	}
	if ex.bodyErr != nil {
		return nil, errNoReplay
	}
	c, err := pc.p.dialer.Dial("tcp", pc.p.upstream)
	if err != nil {
		return nil, err
	}
	u := newUpstream(c)
	u.carried = 1
	pc.mu.Lock()
	if pc.closing {
		pc.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	}
	pc.up = u
	pc.mu.Unlock()
	_ = old.conn.Close()
	_, _ = u.w.Write(ex.replay)
	_, _ = u.w.Write(body)
	if err := u.w.Flush(); err != nil {
		return nil, err
	}
	if p := u.out.err.Load(); p != nil {
		return nil, *p
	}
	return u, nil
}
