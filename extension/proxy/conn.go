package proxy

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

const (
	// bufSize is each connection's read and write buffer.
	bufSize = 32 << 10
	// maxHeadBytes bounds a request's or an answer's header section, as
	// net/http's default does.
	maxHeadBytes = 1 << 20
	// pipelined bounds the requests sent up before their answers came back.
	pipelined = 16
)

var (
	errMalformed = errors.New("malformed HTTP/1.x message")
	// aLongTimeAgo is a deadline that makes blocked reads fail at once.
	aLongTimeAgo = time.Unix(1, 0)
)

// pair is one runtime connection and the Runtime API connection it is
// paired with. The request side (serve's goroutine) reads requests from the
// runtime and sends them up; the answer side reads the answers and sends
// them back, in order, and tells the observer what went through.
type pair struct {
	p      *Proxy
	client net.Conn
	cr     *bufio.Reader
	cw     *bufio.Writer
	cwMu   sync.Mutex // the answer side writes cw; the request side only for 100 Continue

	up net.Conn // nil until the first request
	ur *bufio.Reader
	uw *bufio.Writer

	queue   chan *exchange // requests sent up, awaiting their answers
	answers chan struct{}  // closed when the answer side has stopped
	// byUpstream is set by the answer side, before answers is closed, when
	// the Runtime API ended the pair: the runtime did not go, it will
	// connect again.
	byUpstream bool
	done       chan struct{} // closed when the pair is closed

	mu       sync.Mutex
	cond     *sync.Cond
	sent     int // requests queued
	answered int // answers sent back
}

// exchange is one request and what its answer needs to know of it.
type exchange struct {
	kind      string // "next", "response", "error" or ""
	requestID string
	method    string
	path      string
	close     bool        // the request asked to close the connection
	header    http.Header // the request's Lambda-Runtime-* fields
	body      *capture    // for results
	// Set before bodyDone is closed.
	trailer  http.Header // the request's Lambda-Runtime-* trailer fields
	bodyErr  error
	bodyDone chan struct{}

	// reject, when set, is answered instead: the request was not sent up.
	reject int
	cause  error
}

func newPair(p *Proxy, c net.Conn) *pair {
	pc := &pair{
		p:       p,
		client:  c,
		cr:      bufio.NewReaderSize(c, bufSize),
		cw:      bufio.NewWriterSize(c, bufSize),
		queue:   make(chan *exchange, pipelined),
		answers: make(chan struct{}),
		done:    make(chan struct{}),
	}
	pc.cond = sync.NewCond(&pc.mu)
	return pc
}

// abort closes both connections: whatever was in flight fails.
func (pc *pair) abort() {
	_ = pc.client.Close()
	pc.mu.Lock()
	up := pc.up
	pc.mu.Unlock()
	if up != nil {
		_ = up.Close()
	}
}

// serve runs the request side until the runtime closes its connection or
// a failure ends the pair, then stops the answer side and closes both.
func (pc *pair) serve() {
	defer close(pc.done)
	defer pc.p.gone(pc)
	runtimeGone := pc.requests()
	close(pc.queue)
	pc.mu.Lock()
	up := pc.up
	pc.mu.Unlock()
	if up == nil {
		close(pc.answers)
	} else {
		if runtimeGone {
			// An answer nobody will read (a /next long poll) must not
			// hold the pair.
			_ = up.SetReadDeadline(aLongTimeAgo)
		}
		<-pc.answers
		_ = up.Close()
	}
	_ = pc.client.Close()
}

// requests reads requests and sends them up until the runtime closes its
// connection (runtimeGone) or asks to, or something fails.
func (pc *pair) requests() (runtimeGone bool) {
	var headBuf []byte
	for {
		// Waiting for the runtime's next request: whatever the answer side
		// had to say has been flushed by it.
		h, err := readHead(pc.cr, headBuf[:0], true)
		headBuf = h.raw
		if err != nil {
			if !isClosed(err) {
				pc.reject(&exchange{reject: http.StatusBadRequest, cause: err})
			}
			return true
		}
		pc.p.carried(pc)
		ex := &exchange{method: h.method, path: h.path, close: h.close, header: h.lambda, bodyDone: make(chan struct{})}
		ex.kind, ex.requestID = classify(h.method, h.path)
		if ex.kind == "next" {
			pc.p.obs.Polled()
		}
		bodyLen, chunked := h.contentLength, h.chunked
		if h.otherTE {
			pc.reject(&exchange{reject: http.StatusNotImplemented, cause: fmt.Errorf("transfer encoding %q", h.te)})
			return false
		}
		if ex.kind == "response" || ex.kind == "error" || ex.kind == "initerror" {
			cl := bodyLen
			if chunked {
				cl = -1
			}
			ex.body = newCapture(pc.p.keep(ex.kind), cl)
			ex.body.onLarge = pc.p.gc.collect
		}
		if err := pc.connect(); err != nil {
			pc.p.log.Error("runtime API call failed", "method", h.method, "path", h.path, "upstream", pc.p.upstream, "error", err)
			pc.reject(&exchange{reject: http.StatusBadGateway, cause: err})
			return false
		}
		if h.expectContinue && (chunked || bodyLen > 0) {
			// The runtime waits for this before sending the body; the
			// Runtime API gets the request without the expectation.
			if !pc.continue100() {
				return false
			}
		}
		if !pc.push(ex) {
			return false
		}
		err = pc.send(h.raw, ex, bodyLen, chunked)
		if err != nil {
			ex.bodyErr = err
		}
		close(ex.bodyDone)
		if err != nil {
			if !isClosed(err) {
				pc.p.log.Error("runtime API call failed", "method", h.method, "path", h.path, "upstream", pc.p.upstream, "error", err)
			}
			// Either connection is in an unknown state: end the pair.
			_ = pc.up.Close()
			return isClosed(err)
		}
		if h.close {
			return false // the answer side closes after the answer
		}
	}
}

// connect dials the Runtime API for the pair's first request.
func (pc *pair) connect() error {
	if pc.up != nil {
		return nil
	}
	c, err := pc.p.dialer.Dial("tcp", pc.p.upstream)
	if err != nil {
		return err
	}
	pc.mu.Lock()
	pc.up, pc.ur, pc.uw = c, bufio.NewReaderSize(c, bufSize), bufio.NewWriterSize(c, bufSize)
	pc.mu.Unlock()
	go pc.answerLoop()
	return nil
}

// push queues ex for the answer side; false when the answer side stopped.
func (pc *pair) push(ex *exchange) bool {
	select {
	case pc.queue <- ex:
		pc.mu.Lock()
		pc.sent++
		pc.mu.Unlock()
		return true
	case <-pc.answers:
		return false
	}
}

// reject answers a request that is not sent up, after every earlier
// answer, and ends the pair.
func (pc *pair) reject(ex *exchange) {
	if pc.up == nil {
		pc.cwMu.Lock()
		_ = writeStatus(pc.cw, ex.reject)
		pc.cwMu.Unlock()
		return
	}
	pc.push(ex)
}

// continue100 waits until every earlier answer has gone back, then tells
// the runtime to send its body.
func (pc *pair) continue100() bool {
	pc.mu.Lock()
	for pc.answered < pc.sent {
		select {
		case <-pc.answers:
			pc.mu.Unlock()
			return false
		default:
		}
		pc.cond.Wait()
	}
	pc.mu.Unlock()
	pc.cwMu.Lock()
	defer pc.cwMu.Unlock()
	_, err := pc.cw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	if err == nil {
		err = pc.cw.Flush()
	}
	return err == nil
}

// send writes the request head and body up, teeing the body into ex.body.
func (pc *pair) send(head []byte, ex *exchange, bodyLen int64, chunked bool) error {
	if _, err := pc.uw.Write(head); err != nil {
		return err
	}
	var err error
	switch {
	case chunked:
		ex.trailer, err = copyChunked(pc.uw, pc.cr, ex.body)
	case bodyLen > 0:
		err = copyN(pc.uw, pc.cr, bodyLen, ex.body)
	}
	if err != nil {
		return err
	}
	return pc.uw.Flush()
}

// answerLoop reads each queued request's answer and sends it back.
func (pc *pair) answerLoop() {
	defer func() {
		close(pc.answers)
		pc.mu.Lock()
		pc.cond.Broadcast() // a request side waiting in continue100 sees it
		pc.mu.Unlock()
	}()
	var headBuf []byte
	for ex := range pc.queue {
		var keep bool
		headBuf, keep = pc.answer(ex, headBuf)
		pc.mu.Lock()
		pc.answered++
		pc.cond.Broadcast()
		pc.mu.Unlock()
		if !keep {
			// Wake the request side if it waits for the runtime.
			_ = pc.client.SetReadDeadline(aLongTimeAgo)
			return
		}
	}
}

// answer sends one answer back and tells the observer; keep is false when
// the pair must end.
func (pc *pair) answer(ex *exchange, headBuf []byte) (buf []byte, keep bool) {
	pc.cwMu.Lock()
	defer pc.cwMu.Unlock()
	if ex.reject != 0 {
		if ex.reject == http.StatusBadRequest {
			pc.p.log.Warn("malformed request from the runtime", "error", ex.cause)
		}
		_ = writeStatus(pc.cw, ex.reject)
		return headBuf, false
	}
	var h head
	var err error
	for {
		// Nothing more to send back until the Runtime API answers.
		if err = pc.cw.Flush(); err != nil {
			return headBuf, false
		}
		h, err = readHead(pc.ur, headBuf[:0], false)
		headBuf = h.raw
		if err != nil {
			// Unless the pair is being closed (the runtime went away, or
			// Shutdown), the Runtime API failed the call.
			if !stopping(err) {
				pc.byUpstream = true
				pc.p.log.Error("runtime API call failed", "method", ex.method, "path", ex.path, "upstream", pc.p.upstream, "error", err)
			}
			_ = writeStatus(pc.cw, http.StatusBadGateway)
			return headBuf, false
		}
		if h.status == http.StatusSwitchingProtocols {
			pc.byUpstream = true
			pc.p.log.Error("runtime API call failed", "method", ex.method, "path", ex.path, "upstream", pc.p.upstream, "error", "protocol upgrades are not proxied")
			_ = writeStatus(pc.cw, http.StatusBadGateway)
			return headBuf, false
		}
		if h.status >= 200 {
			break
		}
		// An interim answer (100 Continue, 103 Early Hints): the final one follows.
		if _, err := pc.cw.Write(h.raw); err != nil {
			return headBuf, false
		}
	}
	accepted := time.Now()
	if _, err := pc.cw.Write(h.raw); err != nil {
		return headBuf, false
	}
	var c *capture
	if ex.kind == "next" && h.status == http.StatusOK {
		c = newCapture(pc.p.keep("next"), h.contentLength)
		c.onLarge = pc.p.gc.collect
	}
	untilClose := false
	switch {
	case ex.method == http.MethodHead || h.status == http.StatusNoContent || h.status == http.StatusNotModified:
	case h.chunked:
		_, err = copyChunked(pc.cw, pc.ur, c)
	case h.otherTE || h.contentLength < 0:
		untilClose = true
		err = copyAll(pc.cw, pc.ur, c)
	case h.contentLength > 0:
		err = copyN(pc.cw, pc.ur, h.contentLength, c)
	}
	if err == nil {
		err = pc.cw.Flush()
	}
	if err != nil {
		if !stopping(err) {
			pc.p.log.Error("runtime API call failed", "method", ex.method, "path", ex.path, "upstream", pc.p.upstream, "error", err)
		}
		return headBuf, false
	}
	// The answer is with the runtime: now the observer.
	switch {
	case c != nil:
		ev := eventFromHeader(h.lambda)
		ev.Body = c.payload()
		ev.At = time.Now()
		pc.p.obs.Event(ev)
	case (ex.kind == "response" || ex.kind == "error" || ex.kind == "initerror") && h.status/100 == 2:
		<-ex.bodyDone
		if ex.bodyErr == nil {
			pc.p.obs.Result(result(ex, accepted))
		}
	}
	if (h.close || untilClose) && !ex.close {
		pc.byUpstream = true
	}
	return headBuf, !(h.close || ex.close || untilClose)
}

// result is what an accepted /response or /error carried.
func result(ex *exchange, at time.Time) Result {
	res := Result{Call: CallResponse, RequestID: ex.requestID, Status: http.StatusAccepted, Body: ex.body.payload(), At: at}
	if ex.kind == "initerror" {
		res.Call, res.Failed, res.ErrorType = CallInitError, true, ex.header.Get(HeaderErrorType)
	} else if ex.kind == "error" {
		res.Call = CallError
		res.Failed = true
		res.ErrorType = ex.header.Get(HeaderErrorType)
	} else if t := ex.trailer.Get(TrailerErrorType); t != "" {
		// A streamed response that failed midway reports it in trailers.
		res.Failed, res.ErrorType = true, t
		if b, err := base64.StdEncoding.DecodeString(ex.trailer.Get(TrailerErrorBody)); err == nil && len(b) > 0 {
			res.Body = invocation.Payload{Bytes: b, Size: int64(len(b))}
		}
	}
	return res
}

// writeStatus writes a bodiless answer that closes the connection.
func writeStatus(w *bufio.Writer, status int) error {
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status))
	if err == nil {
		err = w.Flush()
	}
	return err
}

// stopping reports whether err comes from the pair being closed on
// purpose: a deadline set to wake a blocked read, or a closed connection.
func stopping(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}

// isClosed reports whether err says a connection ended, whoever ended it.
func isClosed(err error) bool {
	return stopping(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// head is a request's or an answer's start line and header section, kept
// as received (less an Expect: 100-continue the proxy answers itself) with
// what the proxy needs of it.
type head struct {
	raw []byte

	method, path string // request
	status       int    // answer

	contentLength  int64 // -1 when absent
	chunked        bool
	otherTE        bool // a transfer coding other than chunked last
	te             string
	close          bool
	expectContinue bool
	lambda         http.Header // Lambda-Runtime-* fields
}

// readHead reads a start line and header section into buf.
func readHead(r *bufio.Reader, buf []byte, request bool) (head, error) {
	h := head{raw: buf, contentLength: -1}
	var line []byte
	var err error
	// A robust server ignores empty lines before a request line.
	for {
		line, err = readLine(r)
		if err != nil {
			return h, err
		}
		if !request || len(trimEOL(line)) > 0 {
			break
		}
	}
	h.raw = append(h.raw, line...)
	start := string(trimEOL(line))
	http10 := false
	if request {
		method, rest, ok1 := strings.Cut(start, " ")
		target, proto, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || method == "" || target == "" || !strings.HasPrefix(proto, "HTTP/1.") {
			return h, fmt.Errorf("%w: request line %q", errMalformed, start)
		}
		h.method = method
		h.path, _, _ = strings.Cut(target, "?")
		http10 = proto == "HTTP/1.0"
	} else {
		proto, rest, ok := strings.Cut(start, " ")
		code, _, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(code) != 3 || err != nil || status < 100 {
			return h, fmt.Errorf("%w: status line %q", errMalformed, start)
		}
		h.status = status
		http10 = proto == "HTTP/1.0"
	}
	keepAlive := false
	for {
		line, err = readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, err
		}
		if len(h.raw)+len(line) > maxHeadBytes {
			return h, fmt.Errorf("%w: header section over %d bytes", errMalformed, maxHeadBytes)
		}
		field := trimEOL(line)
		if len(field) == 0 {
			h.raw = append(h.raw, line...)
			break
		}
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return h, fmt.Errorf("%w: header line %q", errMalformed, field)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.contentLength >= 0 && n != h.contentLength) {
				return h, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
			h.contentLength = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			h.te = strings.TrimSpace(joinToken(h.te, string(value)))
			last := h.te[strings.LastIndexByte(h.te, ',')+1:]
			h.chunked = strings.EqualFold(strings.TrimSpace(last), "chunked")
			h.otherTE = !h.chunked
		case asciiEqualFold(name, "Connection"):
			for tok := range strings.SplitSeq(string(value), ",") {
				switch tok = strings.TrimSpace(tok); {
				case strings.EqualFold(tok, "close"):
					h.close = true
				case strings.EqualFold(tok, "keep-alive"):
					keepAlive = true
				}
			}
		case request && asciiEqualFold(name, "Expect") && strings.EqualFold(string(value), "100-continue"):
			h.expectContinue = true
			continue // answered here, not sent up
		case len(name) > len("Lambda-Runtime-") && asciiEqualFold(name[:len("Lambda-Runtime-")], "Lambda-Runtime-"):
			if h.lambda == nil {
				h.lambda = http.Header{}
			}
			h.lambda.Add(textproto.CanonicalMIMEHeaderKey(string(name)), string(value))
		}
		h.raw = append(h.raw, line...)
	}
	if h.chunked {
		h.contentLength = -1 // Transfer-Encoding wins over Content-Length
	}
	if http10 && !keepAlive {
		h.close = true
	}
	if request && h.contentLength < 0 && !h.chunked && !h.otherTE {
		h.contentLength = 0
	}
	return h, nil
}

func joinToken(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
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
			return nil, fmt.Errorf("%w: line over %d bytes", errMalformed, maxHeadBytes)
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

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
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

// copyN forwards n bytes from r to w, teeing them into c when it is set.
// A large body whose size was announced is read straight into the
// capture's buffer and written from there: bufio reads and writes a slice
// larger than its buffer directly, so the proxy copies nothing itself.
func copyN(w *bufio.Writer, r *bufio.Reader, n int64, c *capture) error {
	for n > 0 {
		if r.Buffered() == 0 && c != nil && n > bufSize {
			if room := c.spare(n); len(room) > bufSize {
				if err := w.Flush(); err != nil {
					return err
				}
				k, err := r.Read(room)
				c.commit(k)
				if k > 0 {
					if _, werr := w.Write(room[:k]); werr != nil {
						return werr
					}
					n -= int64(k)
				}
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return err
				}
				continue
			}
		}
		if err := wait(w, r); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		b, _ := r.Peek(int(min(int64(r.Buffered()), n)))
		if c != nil {
			_, _ = c.Write(b)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, _ = r.Discard(len(b))
		n -= int64(len(b))
	}
	return nil
}

// copyAll forwards what r has until it ends, teeing it into c when set.
func copyAll(w *bufio.Writer, r *bufio.Reader, c *capture) error {
	for {
		if err := wait(w, r); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		b, _ := r.Peek(r.Buffered())
		if c != nil {
			_, _ = c.Write(b)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, _ = r.Discard(len(b))
	}
}

// copyChunked forwards a chunked body as it is framed, chunk extensions
// and trailer section included, teeing the chunks' data into c when it is
// set, and returns the Lambda-Runtime-* trailer fields.
func copyChunked(w *bufio.Writer, r *bufio.Reader, c *capture) (http.Header, error) {
	line := func() ([]byte, error) {
		if err := wait(w, r); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		l, err := readLine(r)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return l, err
	}
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		size, err := parseChunkSize(trimEOL(l))
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(l); err != nil {
			return nil, err
		}
		if size == 0 {
			break
		}
		if c != nil {
			c.reserve(size)
		}
		if err := copyN(w, r, size, c); err != nil {
			return nil, err
		}
		if l, err = line(); err != nil {
			return nil, err
		}
		if len(trimEOL(l)) != 0 {
			return nil, fmt.Errorf("%w: chunk not followed by CRLF", errMalformed)
		}
		if _, err := w.Write(l); err != nil {
			return nil, err
		}
	}
	var trailer http.Header
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(l); err != nil {
			return nil, err
		}
		field := trimEOL(l)
		if len(field) == 0 {
			return trailer, nil
		}
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok {
			return nil, fmt.Errorf("%w: trailer line %q", errMalformed, field)
		}
		if len(name) > len("Lambda-Runtime-") && asciiEqualFold(name[:len("Lambda-Runtime-")], "Lambda-Runtime-") {
			if trailer == nil {
				trailer = http.Header{}
			}
			trailer.Add(textproto.CanonicalMIMEHeaderKey(string(name)), string(bytes.TrimSpace(value)))
		}
	}
}

// parseChunkSize parses a chunk-size line (hex digits, then optional
// extensions).
func parseChunkSize(line []byte) (int64, error) {
	hex, _, _ := bytes.Cut(line, []byte(";"))
	hex = bytes.TrimRight(hex, " \t")
	if len(hex) == 0 || len(hex) > 15 {
		return 0, fmt.Errorf("%w: chunk size %q", errMalformed, line)
	}
	n, err := strconv.ParseInt(string(hex), 16, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: chunk size %q", errMalformed, line)
	}
	return n, nil
}
