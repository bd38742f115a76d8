package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
)

// A sink takes a copy of the body data a copy forwards: the capture.
type sink interface {
	io.Writer
	// room returns free space, at most n bytes, to read the next bytes
	// into directly and then commit k of them; nil when it has none.
	room(n int64) []byte
	commit(k int)
	// expect says that a chunk of n bytes follows.
	expect(n int64)
}

// framing is how a message's body is delimited.
type framing struct {
	kind   bodyKind
	length int64 // for fixedLength
}

type bodyKind uint8

const (
	noBody bodyKind = iota
	fixedLength
	chunked
	untilClose // the body ends when the connection does
)

// requestFraming is a request's body, as net/http reads it: chunked,
// Content-Length, or none.
func (h *head) requestFraming() framing {
	switch {
	case h.chunked:
		return framing{kind: chunked}
	case h.length > 0:
		return framing{kind: fixedLength, length: h.length}
	}
	return framing{}
}

// answerFraming is an answer's body to a request of the given method.
func (h *head) answerFraming(method string) framing {
	switch {
	case method == http.MethodHead || h.status/100 == 1 || h.status == http.StatusNoContent || h.status == http.StatusNotModified:
		return framing{}
	case h.chunked:
		return framing{kind: chunked}
	case h.length == 0:
		return framing{}
	case h.length > 0:
		return framing{kind: fixedLength, length: h.length}
	}
	return framing{kind: untilClose}
}

// copyBody forwards a body from r to w as it is framed, chunk extensions
// and trailer section included, teeing its data into s when s is not nil.
// It returns the trailer's Lambda-Runtime-* fields.
func copyBody(w *bufio.Writer, r *bufio.Reader, f framing, s sink) (http.Header, error) {
	switch f.kind {
	case fixedLength:
		return nil, copyN(w, r, f.length, s)
	case chunked:
		return copyChunked(w, r, s)
	case untilClose:
		return nil, copyAll(w, r, s)
	}
	return nil, nil
}

// wait makes sure r has something buffered, flushing w first when it has
// not: what was forwarded goes out before waiting for more.
func wait(w *bufio.Writer, r *bufio.Reader) error {
	if r.Buffered() > 0 {
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := r.Peek(1)
	return err
}

// copyN forwards n bytes from r to w, teeing them into s when it is set.
// A large body whose size was announced is read straight into the
// capture's buffer and written from there: bufio reads and writes a slice
// larger than its buffer directly, so the relay copies nothing itself.
func copyN(w *bufio.Writer, r *bufio.Reader, n int64, s sink) error {
	for n > 0 {
		if r.Buffered() == 0 && s != nil && n > int64(r.Size()) {
			if room := s.room(n); len(room) > r.Size() {
				if err := w.Flush(); err != nil {
					return err
				}
				k, err := r.Read(room)
				s.commit(k)
				if k > 0 {
					if _, werr := w.Write(room[:k]); werr != nil {
						return werr
					}
					n -= int64(k)
				}
				if err != nil {
					return unexpectedEOF(err)
				}
				continue
			}
		}
		if err := wait(w, r); err != nil {
			return unexpectedEOF(err)
		}
		b, _ := r.Peek(int(min(int64(r.Buffered()), n)))
		if s != nil {
			_, _ = s.Write(b)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, _ = r.Discard(len(b))
		n -= int64(len(b))
	}
	return nil
}

// copyAll forwards what r has until it ends, teeing it into s when set.
func copyAll(w *bufio.Writer, r *bufio.Reader, s sink) error {
	for {
		if err := wait(w, r); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		b, _ := r.Peek(r.Buffered())
		if s != nil {
			_, _ = s.Write(b)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, _ = r.Discard(len(b))
	}
}

// maxChunkLine bounds a chunk-size line, as net/http's chunked reader does.
const maxChunkLine = 4096

// copyChunked forwards a chunked body, teeing the chunks' data into s when
// it is set, and returns the trailer's Lambda-Runtime-* fields. It accepts
// what net/http's chunked reader accepts: CRLF line ends, hex sizes,
// extensions it ignores, and no more overhead than data allows.
func copyChunked(w *bufio.Writer, r *bufio.Reader, s sink) (http.Header, error) {
	var excess int64 // net/http's guard against chunks all overhead
	for {
		if err := wait(w, r); err != nil {
			return nil, unexpectedEOF(err)
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("%w: chunk size line too long", errMalformed)
			}
			return nil, unexpectedEOF(err)
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return nil, err
		}
		excess += int64(len(line)) - 16 - 2*size
		excess = max(excess, 0)
		if excess > 16<<10 {
			return nil, fmt.Errorf("%w: chunked encoding with too much non-data", errMalformed)
		}
		if _, err := w.Write(line); err != nil {
			return nil, err
		}
		if size == 0 {
			break
		}
		if s != nil {
			s.expect(size)
		}
		if err := copyN(w, r, size, s); err != nil {
			return nil, err
		}
		if err := wait(w, r); err != nil {
			return nil, unexpectedEOF(err)
		}
		crlf, err := r.Peek(2)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if string(crlf) != "\r\n" {
			return nil, fmt.Errorf("%w: chunk not followed by CRLF", errMalformed)
		}
		if _, err := w.Write(crlf); err != nil {
			return nil, err
		}
		_, _ = r.Discard(2)
	}
	return copyTrailer(w, r)
}

// parseChunkSize parses a chunk-size line, its CRLF included.
func parseChunkSize(line []byte) (int64, error) {
	p, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok || bytes.IndexByte(p, '\r') >= 0 {
		return 0, fmt.Errorf("%w: chunk size line %q", errMalformed, line)
	}
	if len(p) >= maxChunkLine {
		return 0, fmt.Errorf("%w: chunk size line too long", errMalformed)
	}
	p, _, _ = bytes.Cut(bytes.TrimRight(p, " \t"), []byte(";"))
	if len(p) == 0 || len(p) > 16 {
		return 0, fmt.Errorf("%w: chunk size %q", errMalformed, p)
	}
	var n uint64
	for _, c := range p {
		if !isHex(c) {
			return 0, fmt.Errorf("%w: chunk size %q", errMalformed, p)
		}
		n = n<<4 | uint64(hexValue(c))
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("%w: chunk size %q", errMalformed, p)
	}
	return int64(n), nil
}

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// copyTrailer forwards the trailer section that ends a chunked body and
// returns its Lambda-Runtime-* fields.
func copyTrailer(w *bufio.Writer, r *bufio.Reader) (http.Header, error) {
	if err := wait(w, r); err != nil {
		return nil, unexpectedEOF(err)
	}
	if end, _ := r.Peek(2); string(end) == "\r\n" { // no trailer, as nearly always
		_, err := w.Write(end)
		_, _ = r.Discard(2)
		return nil, err
	}
	var trailer http.Header
	s := fieldScanner{r: r, pending: -1}
	for {
		name, value, ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(name) > len("Lambda-Runtime-") && asciiEqualFold(name[:len("Lambda-Runtime-")], "Lambda-Runtime-") {
			if trailer == nil {
				trailer = http.Header{}
			}
			trailer.Add(textproto.CanonicalMIMEHeaderKey(string(name)), string(value))
		}
	}
	_, err := w.Write(s.raw)
	return trailer, err
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
