package proxy

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// capture keeps the first max bytes of a body that streams through it and
// counts the rest, so a large body is passed on without being held. It is
// the relay's sink.
type capture struct {
	mu        sync.Mutex // written by one side of a pair, read by the other
	buf       []byte     // used when the size is known: one allocation
	chunks    [][]byte   // used when it is not: no regrowth copies
	kept      int
	max       int
	size      int64
	truncated bool
	collected bool   // onLarge was called
	onLarge   func() // called once when the body turns out large; may be nil
}

// A body of unknown size is kept in chunks that double from firstChunk
// to chunkSize: a small body takes little, a large one few allocations.
const (
	firstChunk = 4 << 10
	chunkSize  = 64 << 10
)

func newCapture(max int, contentLength int64) *capture {
	c := &capture{max: max}
	if contentLength > 0 {
		c.buf = make([]byte, 0, min(contentLength, int64(max)))
	}
	return c
}

// sink is c as a sink: nil when there is no capture.
func (c *capture) sink() sink {
	if c == nil {
		return nil
	}
	return c
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	written := len(p)
	c.size += int64(len(p))
	if c.size > int64(c.max) {
		c.truncated = true
	}
	for len(p) > 0 && c.kept < c.max {
		n := min(len(p), c.max-c.kept)
		if c.buf != nil && len(c.buf)+n <= cap(c.buf) {
			c.buf = append(c.buf, p[:n]...)
		} else {
			if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == cap(c.chunks[len(c.chunks)-1]) {
				next := firstChunk
				if len(c.chunks) > 0 {
					next = min(chunkSize, 2*cap(c.chunks[len(c.chunks)-1]))
				}
				c.chunks = append(c.chunks, make([]byte, 0, min(next, c.max-c.kept)))
			}
			last := &c.chunks[len(c.chunks)-1]
			n = min(n, cap(*last)-len(*last))
			*last = append(*last, p[:n]...)
		}
		c.kept += n
		p = p[n:]
	}
	collect := c.large()
	c.mu.Unlock()
	if collect {
		c.onLarge()
	}
	return written, nil
}

// large reports, once, that the capture has come to hold a large body, for
// which the caller calls onLarge. The caller holds mu.
func (c *capture) large() bool {
	if c.kept > collectAbove && !c.collected && c.onLarge != nil {
		c.collected = true
		return true
	}
	return false
}

// collectAbove is the size from which a body is large: collecting garbage
// then costs little beside carrying the body.
const collectAbove = 1 << 20

// collector runs before a large body is held in full. Left to the pacer,
// whose goal is twice the heap live at the last collection (a large body
// and its record), what earlier invocations left would still be there as
// this body and its record are allocated: peak memory some four times the
// body. Collected now, it is reused instead. Now and then the free memory
// also goes back to the system: what a run of small invocations left free
// is of no use to large bodies, yet would stay counted as the extension's
// (and the function's) memory; not each time, for the pages taken back
// cost faults to touch again (some milliseconds for a few MiB).
type collector struct {
	lastRelease atomic.Int64 // UnixNano of the last return to the system
}

func (g *collector) collect() {
	now := time.Now().UnixNano()
	if last := g.lastRelease.Load(); now-last >= int64(releaseEvery) && g.lastRelease.CompareAndSwap(last, now) {
		debug.FreeOSMemory()
		return
	}
	runtime.GC()
}

// releaseEvery spaces the returns of free memory to the system.
const releaseEvery = 10 * time.Second

// expect sizes a capture whose size was not announced once its first
// chunk says how large it is: a chunked body is often one large chunk.
func (c *capture) expect(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == 0 && len(c.chunks) == 0 && c.buf == nil && n > 0 {
		c.buf = make([]byte, 0, min(n, int64(c.max)))
	}
}

// room returns free room in the buffer of a capture whose size was known,
// at most n bytes, for the caller to read into and then commit; nil when
// there is none.
func (c *capture) room(n int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil || len(c.chunks) > 0 || c.kept >= c.max {
		return nil
	}
	room := min(int64(cap(c.buf)-len(c.buf)), int64(c.max-c.kept), n)
	return c.buf[len(c.buf) : len(c.buf)+int(room)]
}

// commit keeps the first n bytes of the last room slice.
func (c *capture) commit(n int) {
	c.mu.Lock()
	c.buf = c.buf[:len(c.buf)+n]
	c.kept += n
	c.size += int64(n)
	collect := c.large()
	c.mu.Unlock()
	if collect {
		c.onLarge()
	}
}

// payload returns what was kept: in Bytes when it is one slice or small,
// else in Parts, the slices as they were filled, not joined (a copy of a
// large body would hold it twice).
func (c *capture) payload() invocation.Payload {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := invocation.Payload{Size: c.size, Truncated: c.truncated}
	if len(c.chunks) == 0 {
		p.Bytes = c.buf
		return p
	}
	if c.kept <= chunkSize { // small: one slice is simpler for all, and cheap
		joined := make([]byte, 0, c.kept)
		joined = append(joined, c.buf...)
		for _, ch := range c.chunks {
			joined = append(joined, ch...)
		}
		c.buf, c.chunks = joined, nil
		p.Bytes = joined
		return p
	}
	parts := make([][]byte, 0, len(c.chunks)+1)
	if len(c.buf) > 0 {
		parts = append(parts, c.buf[:len(c.buf):len(c.buf)])
	}
	for _, ch := range c.chunks {
		if len(ch) > 0 {
			parts = append(parts, ch[:len(ch):len(ch)])
		}
	}
	switch len(parts) {
	case 0:
	case 1:
		p.Bytes = parts[0]
	default:
		p.Parts = parts
	}
	return p
}
