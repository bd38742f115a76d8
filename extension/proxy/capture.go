package proxy

import (
	"io"
	"sync"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// capture keeps the first max bytes of a body that streams through it and
// counts the rest, so a large body is passed on without being held.
type capture struct {
	mu        sync.Mutex // the transport reads request bodies on its own goroutine
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

// teeBody copies what is read from a body into a capture and calls done once,
// when the body ends or is closed, whichever comes first.
type teeBody struct {
	r    io.ReadCloser
	c    *capture
	once sync.Once
	done func()
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		_, _ = t.c.Write(p[:n])
	}
	if err == io.EOF {
		t.finish()
	}
	return n, err
}

func (t *teeBody) Close() error {
	err := t.r.Close()
	t.finish()
	return err
}

func (t *teeBody) finish() {
	if t.done != nil {
		t.once.Do(t.done)
	}
}
