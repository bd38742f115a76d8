package rie

import (
	"bytes"
	"io"
	"sync"
)

// output collects the emulator's combined stdout and stderr and wakes
// waiters on every write.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	copyTo  io.Writer
	keep    int // bytes kept at least, the latest; 0: all
}

func newOutput(copyTo io.Writer, keep int) *output {
	return &output{changed: make(chan struct{}), copyTo: copyTo, keep: keep}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	if o.keep > 0 && o.buf.Len() > 2*o.keep {
		// Drop all but the last keep bytes, in place (copy moves
		// overlapping bytes correctly).
		b := o.buf.Bytes()
		n := copy(b, b[len(b)-o.keep:])
		o.buf.Truncate(n)
	}
	close(o.changed)
	o.changed = make(chan struct{})
	w := o.copyTo
	o.mu.Unlock()
	if w != nil {
		// A failing copy must not stop the emulator's output pipe.
		_, _ = w.Write(p)
	}
	return len(p), nil
}

// snapshot returns the text so far and a channel closed at the next write.
func (o *output) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}
