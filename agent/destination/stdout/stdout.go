// Package stdout writes records to the function's log stream, one JSON line
// each, where CloudWatch Logs (or sam local) shows them.
package stdout

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Writer writes whole lines to a stream shared with other writers: a line
// goes out in one Write so lines never interleave, but for large records,
// which go out in three writes under the lock rather than through a copy
// kept for later (a pipe interleaves writes that large anyway).
type Writer struct {
	mu  sync.Mutex
	out io.Writer
	buf []byte
}

// NewWriter returns a line writer on out.
func NewWriter(out io.Writer) *Writer { return &Writer{out: out} }

// Line writes {"time":…,"level":…,"msg":…,<fields>,"record":<record>}.
// fields are key/value pairs of strings.
func (w *Writer) Line(level, msg string, rec []byte, fields ...string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf[:0]
	b = append(b, `{"time":`...)
	b = record.AppendString(b, time.Now().UTC().Format(time.RFC3339Nano))
	b = append(b, `,"level":`...)
	b = record.AppendString(b, level)
	b = append(b, `,"msg":`...)
	b = record.AppendString(b, msg)
	for i := 0; i+1 < len(fields); i += 2 {
		b = append(b, ',')
		b = record.AppendString(b, fields[i])
		b = append(b, ':')
		b = record.AppendString(b, fields[i+1])
	}
	b = append(b, `,"record":`...)
	if len(rec) > inPlace {
		w.buf = b
		for _, part := range [][]byte{b, rec, []byte("}\n")} {
			if _, err := w.out.Write(part); err != nil {
				return fmt.Errorf("writing to the log: %w", err)
			}
		}
		return nil
	}
	b = append(b, rec...)
	b = append(b, "}\n"...)
	w.buf = b
	if _, err := w.out.Write(b); err != nil {
		return fmt.Errorf("writing to the log: %w", err)
	}
	return nil
}

// Document writes doc, a JSON document of its own (an EMF document), as one
// line in one write.
func (w *Writer) Document(doc []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append(append(w.buf[:0], doc...), '\n')
	if len(b) <= inPlace {
		w.buf = b
	}
	if _, err := w.out.Write(b); err != nil {
		return fmt.Errorf("writing to the log: %w", err)
	}
	return nil
}

// inPlace is the record size above which a line is not assembled in the
// buffer: the buffer is kept between lines, and must not keep a copy of
// the largest record ever written.
const inPlace = 64 << 10

// Destination writes records to the function's log, through a Writer it
// may share with the agent's other lines.
type Destination struct{ w *Writer }

// New returns the stdout destination writing through w.
func New(w *Writer) *Destination { return &Destination{w: w} }

// Send writes the record as one log line.
func (d *Destination) Send(_ context.Context, m destination.Message) error {
	return d.w.Line("INFO", "execution record", m.Record,
		"destination", "stdout", "condition", m.Condition, "requestId", m.RequestID)
}
