package proxy

import (
	"errors"
	"net"
	"time"
)

// Serve serves the Runtime API on l until Shutdown; it returns nil then.
//
// A failed accept is retried whatever the error but a closed listener: a
// moment without file descriptors (EMFILE, ENFILE) or memory must not end
// the loop, or a runtime that connects anew for each call would have no
// Runtime API left. The first failure of a burst is logged, and the end of
// the burst.
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
	var b backoff
	for {
		c, err := l.Accept()
		if err != nil {
			if p.stopped() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			d := b.fail(time.Now())
			if b.failures == 1 {
				p.log.Warn("runtime API proxy cannot accept connections; retrying", "error", err)
			}
			if !p.sleep(d) {
				return nil
			}
			continue
		}
		if n, since := b.end(time.Now()); n > 0 {
			p.log.Info("runtime API proxy accepts connections again", "failures", n, "after", since.String())
		}
		pc := newPair(p, c)
		if !p.open(pc) {
			_ = c.Close()
			return nil
		}
		go pc.serve()
	}
}

// sleep waits d, or until Shutdown: false then.
func (p *Proxy) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		return false
	}
}

func (p *Proxy) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// backoff spaces the retries of a burst of failures: from minBackoff,
// doubling up to maxBackoff, as net/http's server does.
type backoff struct {
	failures int       // in the current burst
	since    time.Time // its first failure
	delay    time.Duration
}

const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// fail counts a failure at now and returns how long to wait.
func (b *backoff) fail(now time.Time) time.Duration {
	if b.failures == 0 {
		b.since = now
	}
	b.failures++
	b.delay = min(max(2*b.delay, minBackoff), maxBackoff)
	return b.delay
}

// end ends a burst: it returns how many failures it had and how long
// it lasted, zero when there was none.
func (b *backoff) end(now time.Time) (int, time.Duration) {
	n, since := b.failures, now.Sub(b.since)
	*b = backoff{}
	if n == 0 {
		return 0, 0
	}
	return n, since
}
