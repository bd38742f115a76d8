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
	buf       []byte
	max       int
	size      int64
	truncated bool
}

func newCapture(max int, contentLength int64) *capture {
	c := &capture{max: max}
	if contentLength > 0 {
		// One allocation of the right size instead of repeated growth.
		c.buf = make([]byte, 0, min(contentLength, int64(max)))
	}
	return c
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size += int64(len(p))
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	if len(c.buf) >= c.max && c.size > int64(c.max) {
		c.truncated = true
	}
	return len(p), nil
}

func (c *capture) payload() invocation.Payload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return invocation.Payload{Bytes: c.buf, Size: c.size, Truncated: c.truncated}
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
