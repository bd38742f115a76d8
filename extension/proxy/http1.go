package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// This file and body.go frame HTTP/1.x messages: where a head ends, how
// long its body is, what it says of the connection. They read each message
// as net/http does (ReadRequest, ReadResponse and its chunked reader), so
// that the relay and the Runtime API, a net/http server, never disagree on
// where a message it accepts ends. They know nothing of the proxy.

// maxHeadBytes bounds a head or a trailer section, as net/http's server
// does (DefaultMaxHeaderBytes).
const maxHeadBytes = 1 << 20

var (
	errMalformed     = errors.New("malformed HTTP/1.x message")
	errHeadTooLarge  = errors.New("HTTP/1.x head too large")
	errUnsupportedTE = errors.New("unsupported transfer encoding")
)

// head is a message's start line and header section, kept as received
// (less an Expect: 100-continue the relay answers itself), with what the
// relay needs of it.
type head struct {
	raw []byte

	method, target string // request
	status         int    // answer
	major, minor   int

	length         int64 // Content-Length, -1 when absent
	chunked        bool
	close          bool // the connection ends after this message
	expectContinue bool // Expect: 100-continue, removed from raw
	lambda         http.Header
}

// readRequest reads a request head into buf. After a POST, net/http's
// server skips up to four stray CR or LF bytes first, and so does this.
func readRequest(r *bufio.Reader, buf []byte, afterPost bool) (head, error) {
	if afterPost {
		peek, _ := r.Peek(4)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = r.Discard(n)
	}
	h := head{raw: buf, length: -1}
	line, err := h.startLine(r)
	if err != nil {
		return h, err
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return h, fmt.Errorf("%w: request line %q", errMalformed, line)
	}
	h.method, h.target = method, target
	if h.major, h.minor, ok1 = http.ParseHTTPVersion(proto); !ok1 {
		return h, fmt.Errorf("%w: version %q", errMalformed, proto)
	}
	return h, h.fields(r, true)
}

// readAnswer reads an answer head into buf.
func readAnswer(r *bufio.Reader, buf []byte) (head, error) {
	h := head{raw: buf, length: -1}
	line, err := h.startLine(r)
	if err != nil {
		return h, err
	}
	proto, status, ok := strings.Cut(line, " ")
	code, _, _ := strings.Cut(strings.TrimLeft(status, " "), " ")
	n, err := strconv.Atoi(code)
	if !ok || len(code) != 3 || err != nil || n < 0 {
		return h, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	h.status = n
	if h.major, h.minor, ok = http.ParseHTTPVersion(proto); !ok {
		return h, fmt.Errorf("%w: version %q", errMalformed, proto)
	}
	return h, h.fields(r, false)
}

// startLine reads the first line. A connection that ends before it gives
// io.EOF.
func (h *head) startLine(r *bufio.Reader) (string, error) {
	line, err := readLine(r)
	if err != nil {
		return "", err
	}
	h.raw = append(h.raw, line...)
	return string(trimEOL(line)), nil
}

// fields reads the header section and what the relay needs of it.
func (h *head) fields(r *bufio.Reader, request bool) error {
	s := fieldScanner{r: r, raw: h.raw, pending: -1}
	defer func() { h.raw = s.raw }()
	var lengthBuf [32]byte
	length := lengthBuf[:0] // the first Content-Length, trimmed
	lengths, encodings := 0, 0
	differ, chunked := false, false
	var encoding string // an unsupported Transfer-Encoding
	connection, keepAlive := false, false
	for {
		name, value, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			v := bytes.Trim(value, " \t\r\n") // as textproto.TrimString
			if lengths == 0 {
				length = append(length, v...)
			} else if !bytes.Equal(v, length) {
				differ = true
			}
			lengths++
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = encodings == 0 && asciiEqualFold(value, "chunked")
			if !chunked {
				encoding = string(value)
			}
			encodings++
		case asciiEqualFold(name, "Connection"):
			connection = connection || hasToken(value, "close")
			keepAlive = keepAlive || hasToken(value, "keep-alive")
		case request && asciiEqualFold(name, "Expect") && asciiEqualFold(value, "100-continue") &&
			(h.major > 1 || h.major == 1 && h.minor >= 1):
			h.expectContinue = true
			s.drop() // answered by the relay, not sent up
		case len(name) > len("Lambda-Runtime-") && asciiEqualFold(name[:len("Lambda-Runtime-")], "Lambda-Runtime-"):
			if h.lambda == nil {
				h.lambda = http.Header{}
			}
			h.lambda.Add(textproto.CanonicalMIMEHeaderKey(string(name)), string(value))
		}
	}
	// As net/http's shouldClose and readTransfer.
	h.close = h.major < 1 || connection || h.major == 1 && h.minor == 0 && !keepAlive
	if h.major > 1 || h.major == 1 && h.minor >= 1 {
		switch {
		case encodings > 1:
			return fmt.Errorf("%w: %d Transfer-Encoding fields", errUnsupportedTE, encodings)
		case encodings == 1 && !chunked:
			return fmt.Errorf("%w: %q", errUnsupportedTE, encoding)
		}
		h.chunked = chunked
	}
	if differ {
		return fmt.Errorf("%w: Content-Length fields differ", errMalformed)
	}
	if lengths > 0 {
		n, err := strconv.ParseUint(string(length), 10, 63)
		if err != nil {
			return fmt.Errorf("%w: Content-Length %q", errMalformed, string(length))
		}
		h.length = int64(n)
	}
	return nil
}

// fieldScanner reads a header or trailer section onto raw, up to and with
// its blank line, as net/textproto's ReadMIMEHeader does: a field may go on
// in lines that start with a space or a tab, and its value is then the
// lines trimmed and joined by single spaces.
type fieldScanner struct {
	r       *bufio.Reader
	raw     []byte
	pending int // where the line read ahead starts in raw; -1 before the first
	last    int // where the field next returned starts
	joined  []byte
	ended   bool
}

// next returns the next field once complete, valid until the next call;
// ok is false at the end of the section.
func (s *fieldScanner) next() (name, value []byte, ok bool, err error) {
	for !s.ended {
		line, err := readLine(s.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, false, err
		}
		if len(s.raw)+len(line) > maxHeadBytes {
			return nil, nil, false, errHeadTooLarge
		}
		content := trimEOL(line)
		if len(content) > 0 && (content[0] == ' ' || content[0] == '\t') {
			if s.pending < 0 {
				return nil, nil, false, fmt.Errorf("%w: header section starts with white space", errMalformed)
			}
			s.raw = append(s.raw, line...)
			continue
		}
		prev := s.pending
		s.pending = len(s.raw)
		s.raw = append(s.raw, line...)
		if len(content) == 0 {
			s.ended = true
		} else if name, _, ok := bytes.Cut(content, []byte(":")); !ok || !validFieldName(name) {
			return nil, nil, false, fmt.Errorf("%w: field %q", errMalformed, content)
		}
		if prev >= 0 {
			s.last = prev
			name, value := s.field(s.raw[prev:s.pending])
			return name, value, true, nil
		}
	}
	return nil, nil, false, nil
}

// field splits a field's lines into its name and value.
func (s *fieldScanner) field(lines []byte) (name, value []byte) {
	kv := bytes.TrimRight(trimEOL(lines), " \t")
	if bytes.Count(lines, []byte("\n")) > 1 { // continued: fold the lines
		s.joined = s.joined[:0]
		for l := range bytes.Lines(lines) {
			if len(s.joined) > 0 {
				s.joined = append(s.joined, ' ')
			}
			s.joined = append(s.joined, bytes.Trim(trimEOL(l), " \t")...)
		}
		kv = s.joined
	}
	name, value, _ = bytes.Cut(kv, []byte(":"))
	return name, bytes.TrimLeft(value, " \t")
}

// drop leaves the field last returned out of raw.
func (s *fieldScanner) drop() {
	n := copy(s.raw[s.last:], s.raw[s.pending:])
	s.raw = s.raw[:s.last+n]
	s.pending = s.last
}

// validFieldName is net/textproto's test of a field name: token bytes, and
// spaces, which it lets through unchanged (net/http's server then refuses
// them).
func validFieldName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c != ' ' && !isTokenByte(c) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// hasToken reports whether a comma-separated field value holds token, as
// net/http reads the Connection field.
func hasToken(value []byte, token string) bool {
	for part := range bytes.SplitSeq(value, []byte(",")) {
		if asciiEqualFold(bytes.Trim(part, " \t"), token) {
			return true
		}
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// readLine returns one line, its end of line included, valid until the
// next read of r. A line longer than r's buffer (a large header or trailer
// field, such as an error body in a trailer) is gathered in a new slice, up
// to maxHeadBytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	var long []byte
	for errors.Is(err, bufio.ErrBufferFull) {
		long = append(long, line...)
		if len(long) > maxHeadBytes {
			return nil, errHeadTooLarge
		}
		line, err = r.ReadSlice('\n')
	}
	if err != nil {
		if (len(line) > 0 || len(long) > 0) && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return append(long, line...), nil
}

// trimEOL drops a line's LF or CRLF.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// writeStatus writes a bodiless answer that closes the connection.
func writeStatus(w *bufio.Writer, status int) error {
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status))
	if err == nil {
		err = w.Flush()
	}
	return err
}
