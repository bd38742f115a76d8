package proxy

import (
	"sync"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// capture keeps the first max bytes of a body that streams through it and
// counts the rest, so a large body is passed on without being held.
type capture struct {
	mu        sync.Mutex // written by one side of a pair, read by the other
	buf       []byte     // used when the size is known: one allocation
	chunks    [][]byte   // used when it is not: no regrowth copies
	kept      int
	max       int
	size      int64
	truncated bool
}

const chunkSize = 64 << 10

func newCapture(max int, contentLength int64) *capture {
	c := &capture{max: max}
	if contentLength > 0 {
		c.buf = make([]byte, 0, min(contentLength, int64(max)))
	}
	return c
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
			if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == chunkSize {
				c.chunks = append(c.chunks, make([]byte, 0, min(chunkSize, c.max-c.kept)))
			}
			last := &c.chunks[len(c.chunks)-1]
			n = min(n, cap(*last)-len(*last))
			*last = append(*last, p[:n]...)
		}
		c.kept += n
		p = p[n:]
	}
	return written, nil
}

// reserve sizes a capture whose size was not announced once its first
// chunk says how large it is: a chunked body is often one large chunk.
func (c *capture) reserve(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == 0 && len(c.chunks) == 0 && c.buf == nil && n > 0 {
		c.buf = make([]byte, 0, min(n, int64(c.max)))
	}
}

// spare returns free room in the buffer of a capture whose size was known,
// at most n bytes, for the caller to read into and then commit; nil when
// there is none.
func (c *capture) spare(n int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil || len(c.chunks) > 0 || c.kept >= c.max {
		return nil
	}
	room := min(int64(cap(c.buf)-len(c.buf)), int64(c.max-c.kept), n)
	return c.buf[len(c.buf) : len(c.buf)+int(room)]
}

// commit keeps the first n bytes of the last spare slice.
func (c *capture) commit(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = c.buf[:len(c.buf)+n]
	c.kept += n
	c.size += int64(n)
}

// payload returns what was kept, in one slice.
func (c *capture) payload() invocation.Payload {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf
	if len(c.chunks) > 0 {
		joined := make([]byte, 0, c.kept)
		joined = append(joined, c.buf...)
		for _, ch := range c.chunks {
			joined = append(joined, ch...)
		}
		b, c.buf, c.chunks = joined, joined, nil
	}
	return invocation.Payload{Bytes: b, Size: c.size, Truncated: c.truncated}
}
