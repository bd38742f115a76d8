package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// framed is one message as a reader of HTTP/1.x frames it.
type framed struct {
	method, target string // requests
	status         int    // answers
	body           string
	close          bool // the connection ends after it
	end            int  // where it ends in the input
}

// maxMessages bounds the messages read from one input.
const maxMessages = 8

// relayRequests frames data as the relay's request side does.
func relayRequests(data []byte) ([]framed, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReaderSize(src, bufSize)
	w := bufio.NewWriter(io.Discard)
	var msgs []framed
	afterPost := false
	for len(msgs) < maxMessages {
		h, err := readRequest(br, nil, afterPost)
		if err != nil {
			return msgs, err
		}
		var body keepAll
		if _, err := copyBody(w, br, h.requestFraming(), &body); err != nil {
			return msgs, err
		}
		msgs = append(msgs, framed{method: h.method, target: h.target, body: body.String(), close: h.close, end: offset(data, src, br)})
		if h.close {
			break
		}
		afterPost = h.method == http.MethodPost
	}
	return msgs, nil
}

// netHTTPRequests frames data as net/http's server does: ReadRequest, and
// the stray CR or LF bytes it skips after a POST.
func netHTTPRequests(data []byte) ([]framed, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReaderSize(src, len(data)+16) // no buffer limit on trailers
	var msgs []framed
	afterPost := false
	for len(msgs) < maxMessages {
		if afterPost { // as net/http's conn.readRequest
			peek, _ := br.Peek(4)
			_, _ = br.Discard(len(peek) - len(bytes.TrimLeft(peek, "\r\n")))
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return msgs, err
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, framed{method: req.Method, target: req.RequestURI, body: string(body), close: req.Close, end: offset(data, src, br)})
		if req.Close {
			break
		}
		afterPost = req.Method == http.MethodPost
	}
	return msgs, nil
}

// relayAnswers frames data as the relay's answer side does, as answers to
// requests of the given method.
func relayAnswers(data []byte, method string) ([]framed, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReaderSize(src, bufSize)
	w := bufio.NewWriter(io.Discard)
	var msgs []framed
	for len(msgs) < maxMessages {
		h, err := readAnswer(br, nil)
		if err != nil {
			return msgs, err
		}
		f := h.answerFraming(method)
		var body keepAll
		if _, err := copyBody(w, br, f, &body); err != nil {
			return msgs, err
		}
		closes := h.close || f.kind == untilClose
		msgs = append(msgs, framed{status: h.status, body: body.String(), close: closes, end: offset(data, src, br)})
		if closes {
			break
		}
	}
	return msgs, nil
}

// netHTTPAnswers frames data as net/http's client does.
func netHTTPAnswers(data []byte, method string) ([]framed, error) {
	src := bytes.NewReader(data)
	br := bufio.NewReaderSize(src, len(data)+16)
	var msgs []framed
	for len(msgs) < maxMessages {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return msgs, err
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, framed{status: resp.StatusCode, body: string(body), close: resp.Close, end: offset(data, src, br)})
		if resp.Close {
			break
		}
	}
	return msgs, nil
}

// offset is how much of data a reader over src has consumed.
func offset(data []byte, src *bytes.Reader, br *bufio.Reader) int {
	return len(data) - src.Len() - br.Buffered()
}

// keepAll is a sink that keeps everything, without direct reads.
type keepAll struct{ bytes.Buffer }

func (*keepAll) room(int64) []byte { return nil }
func (*keepAll) commit(int)        {}
func (*keepAll) expect(int64)      {}

// agree checks that the relay frames every message net/http accepts as
// net/http does. Where net/http stops, the relay may go on: the Runtime
// API answers such a message 400 and closes the connection.
func agree(t *testing.T, data []byte, want []framed, werr error, got []framed, gerr error) {
	t.Helper()
	for i, w := range want {
		if i >= len(got) {
			t.Fatalf("%q: message %d: net/http reads %+v, the relay fails: %v", data, i, w, gerr)
		}
		if got[i] != w {
			t.Fatalf("%q: message %d:\nrelay    %+v\nnet/http %+v", data, i, got[i], w)
		}
	}
	if werr == nil && len(got) > len(want) {
		t.Fatalf("%q: the relay reads %d messages, net/http %d", data, len(got), len(want))
	}
}

var requestSeeds = []string{
	"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\nPOST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
	"POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n5;ext=1\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n\r\n",
	"POST /2018-06-01/runtime/invocation/id/error HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n{}\n",
	"POST http://127.0.0.1:9001/2018-06-01/runtime/invocation/id/response?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1",
	"POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nab\r\n\r\nGET /y HTTP/1.1\r\nHost: y\r\n\r\n",
	"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\naGET / HTTP/1.0\r\n\r\n",
	"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 01\r\n\r\na",
	"POST /x HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
	"POST /x HTTP/1.1\r\nContent-Length:\r\n 2\r\n\r\nab",
	"POST /x HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n \r\n\r\n1\r\na\r\n0\r\n\r\n",
	"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000003\r\nabc\r\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 ;x\r\nabc\r\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
	"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\n  2\r\n\r\n",
	"GET /x HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
	"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n",
	"GET /x HTTP/1.1\r\nConnection: close\u0085\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
	"GET /x HTTP/0.9\r\n\r\n",
	"GET /x HTTP/2.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET /x HTTP/1.1\r\n Folded: first\r\n\r\n",
	"GET /x HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
	"\r\nGET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
}

// FuzzRequestFraming feeds the same bytes to the relay's request framing
// and to net/http's ReadRequest: on every message net/http accepts, both
// agree on its method, target, body, whether the connection ends after it,
// and where it ends.
func FuzzRequestFraming(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := netHTTPRequests(data)
		got, gerr := relayRequests(data)
		agree(t, data, want, werr, got, gerr)
	})
}

// FuzzAnswerFraming does the same for answers, against ReadResponse.
func FuzzAnswerFraming(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil close",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 000 Zero\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 +99\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1  200\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, isHead bool) {
		method := http.MethodGet
		if isHead {
			method = http.MethodHead
		}
		want, werr := netHTTPAnswers(data, method)
		got, gerr := relayAnswers(data, method)
		agree(t, data, want, werr, got, gerr)
	})
}

// The relay refuses, with net/http's server's status, what it cannot frame.
func TestRequestRefused(t *testing.T) {
	tests := []struct {
		request string
		status  int
	}{
		{"NONSENSE\r\n\r\n", http.StatusBadRequest},
		{"GET / HTTP/x\r\n\r\n", http.StatusBadRequest},
		{"GET / HTTP/1.1\r\n Host: x\r\n\r\n", http.StatusBadRequest},
		{"GET / HTTP/1.1\r\nNo colon\r\n\r\n", http.StatusBadRequest},
		{"GET / HTTP/1.1\r\n: empty name\r\n\r\n", http.StatusBadRequest},
		{"GET / HTTP/1.1\r\nBad\x01Name: x\r\n\r\n", http.StatusBadRequest},
		{"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n", http.StatusBadRequest},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", http.StatusBadRequest},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", http.StatusBadRequest},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", http.StatusNotImplemented},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusNotImplemented},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("x", maxHeadBytes) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.request), func(t *testing.T) {
			_, err := readRequest(bufio.NewReader(strings.NewReader(tt.request)), nil, false)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := rejectStatus(err); got != tt.status {
				t.Errorf("status %d, want %d (%v)", got, tt.status, err)
			}
		})
	}
}

// What the relay reads of a head: the connection, the length, the fields
// it needs, the Expect it answers itself.
func TestReadRequest(t *testing.T) {
	tests := []struct {
		name, request string
		want          head
		raw           string
	}{
		{"keep-alive", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
			head{method: "GET", target: "/a", major: 1, minor: 1, length: -1}, ""},
		{"HTTP/1.0 closes", "GET /a HTTP/1.0\r\n\r\n",
			head{method: "GET", target: "/a", major: 1, minor: 0, length: -1, close: true}, ""},
		{"Connection tokens", "GET /a HTTP/1.1\r\nConnection: upgrade, CLOSE\r\n\r\n",
			head{method: "GET", target: "/a", major: 1, minor: 1, length: -1, close: true}, ""},
		{"length", "POST /a HTTP/1.1\r\ncontent-length:  12 \r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 1, length: 12}, ""},
		{"chunked", "POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length: 3\r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 1, length: 3, chunked: true}, ""},
		{"expect", "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 1, length: 1, expectContinue: true},
			"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"},
		{"expect, folded", "POST /a HTTP/1.1\r\nExpect: 100-continue\r\n \r\nX: y\r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 1, length: -1}, ""},
		{"expect on HTTP/1.0 is the Runtime API's", "POST /a HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 0, length: -1, close: true}, ""},
		{"lambda fields", "POST /a HTTP/1.1\r\nlambda-runtime-function-error-type: E\r\n\r\n",
			head{method: "POST", target: "/a", major: 1, minor: 1, length: -1, lambda: http.Header{"Lambda-Runtime-Function-Error-Type": {"E"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := readRequest(bufio.NewReader(strings.NewReader(tt.request)), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			raw := tt.raw
			if raw == "" {
				raw = tt.request
			}
			if string(h.raw) != raw {
				t.Errorf("raw %q, want %q", h.raw, raw)
			}
			h.raw = nil
			if fmt.Sprint(h) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", h, tt.want)
			}
		})
	}
}

// A body's framing ends where net/http says, and its data is teed.
func TestCopyBody(t *testing.T) {
	tests := []struct {
		name, answer, method string
		body                 string
		trailer              http.Header
		err                  error
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT", "GET", "abc", nil, nil},
		{"chunked, trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n1\r\nc\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\nOther: o\r\n\r\nNEXT", "GET", "abc",
			http.Header{"Lambda-Runtime-Function-Error-Type": {"E"}}, nil},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nNEXT", "HEAD", "", nil, nil},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\nNEXT", "GET", "", nil, nil},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nabc", "GET", "abc", nil, nil},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "GET", "abc", nil, io.ErrUnexpectedEOF},
		{"bad chunk end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", "GET", "a", nil, errMalformed},
		{"too much overhead", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1;"+strings.Repeat("e", 100)+"\r\nx\r\n", 200), "GET", "", nil, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.answer))
			h, err := readAnswer(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			var kept keepAll
			trailer, err := copyBody(w, br, h.answerFraming(tt.method), &kept)
			_ = w.Flush()
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if kept.String() != tt.body || fmt.Sprint(trailer) != fmt.Sprint(tt.trailer) {
				t.Errorf("kept %q trailer %v, want %q %v", kept.String(), trailer, tt.body, tt.trailer)
			}
			rest, _ := io.ReadAll(br)
			if string(h.raw)+out.String()+string(rest) != tt.answer || len(rest) > 0 && string(rest) != "NEXT" {
				t.Errorf("forwarded %q, left %q", out.String(), rest)
			}
		})
	}
}
