package proxy

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		method, target string
		call           Call
		id             string
	}{
		{"GET", "/2018-06-01/runtime/invocation/next", CallNext, ""},
		{"GET", "/2018-06-01/runtime/invocation/next?x=1", CallNext, ""},
		{"POST", "/2018-06-01/runtime/invocation/next", CallOther, ""},
		{"HEAD", "/2018-06-01/runtime/invocation/next", CallOther, ""},
		{"get", "/2018-06-01/runtime/invocation/next", CallOther, ""},
		{"GET", "/2018-06-01/runtime/invocation/next/", CallOther, ""},
		{"GET", "//2018-06-01/runtime/invocation/next", CallOther, ""},
		{"GET", "/2018-06-01/runtime/invocation/%6Eext", CallOther, ""},
		{"POST", "/2018-06-01/runtime/invocation/8f5c1a52-7e1d/response", CallResponse, "8f5c1a52-7e1d"},
		{"POST", "/2018-06-01/runtime/invocation/abc/error", CallError, "abc"},
		{"POST", "/2018-06-01/runtime/invocation/abc/response?trace=1", CallResponse, "abc"},
		{"POST", "/2018-06-01/runtime/invocation/a%2Fb/response", CallResponse, "a/b"},
		{"POST", "/2018-06-01/runtime/invocation/a%20b/response", CallResponse, "a b"},
		{"POST", "/2018-06-01/runtime/invocation/%zz/response", CallOther, ""},
		{"POST", "/2018-06-01/runtime/invocation/a%/response", CallOther, ""},
		{"POST", "/2018-06-01/runtime/invocation/next/response", CallResponse, "next"},
		{"POST", "/2018-06-01/runtime/invocation//response", CallResponse, ""},
		{"POST", "/2018-06-01/runtime/invocation/a/b/response", CallOther, ""},
		{"POST", "/2018-06-01/runtime/invocation/abc/response/", CallOther, ""},
		{"GET", "/2018-06-01/runtime/invocation/abc/response", CallOther, ""},
		{"POST", "/2018-06-01/runtime/init/error", CallInitError, ""},
		{"GET", "/2018-06-01/runtime/restore/next", CallRestoreNext, ""},
		{"POST", "/2018-06-01/runtime/restore/error", CallRestoreError, ""},
		{"POST", "/2018-06-01/runtime/restore/next", CallOther, ""},
		{"POST", "/2018-06-01/runtime/invocation/abc/response\x7f", CallOther, ""},
		{"POST", "http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/response", CallResponse, "abc"},
		{"POST", "HTTP://[::1]:9001/2018-06-01/runtime/invocation/abc/error?x", CallError, "abc"},
		{"GET", "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", CallNext, ""},
		{"GET", "http:/2018-06-01/runtime/invocation/next", CallNext, ""},
		{"GET", "http://127.0.0.1:9001", CallOther, ""},
		{"GET", "http://127.0.0.1:9001?/2018-06-01/runtime/invocation/next", CallOther, ""},
		{"GET", "http://host:port/2018-06-01/runtime/invocation/next", CallOther, ""}, // net/http refuses the port
		{"GET", "http:2018-06-01/runtime/invocation/next", CallOther, ""},
		{"GET", "*", CallOther, ""},
		{"GET", "", CallOther, ""},
	}
	router := runtimeAPIRouter()
	for _, tt := range tests {
		call, id := classify(tt.method, tt.target)
		if call != tt.call || id != tt.id {
			t.Errorf("%s %q: %v %q, want %v %q", tt.method, tt.target, call, id, tt.call, tt.id)
		}
		if call, id := routed(router, tt.method, tt.target); call != tt.call || id != tt.id {
			t.Errorf("%s %q: the Runtime API routes it %v %q, want %v %q", tt.method, tt.target, call, id, tt.call, tt.id)
		}
	}
}

// runtimeAPIRouter routes as the emulator's Runtime API does
// (internal/lambda/rapi/router.go): chi, mounted at /2018-06-01, the
// restore routes included as in init caching mode. Each handler says
// which call it serves and for which id.
func runtimeAPIRouter() http.Handler {
	api := chi.NewRouter()
	route := func(c Call) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Call", c.String())
			w.Header().Set("Id", chi.URLParam(r, "awsrequestid"))
		}
	}
	api.Get("/runtime/invocation/next", route(CallNext))
	api.Post("/runtime/invocation/{awsrequestid}/response", route(CallResponse))
	api.Post("/runtime/invocation/{awsrequestid}/error", route(CallError))
	api.Post("/runtime/init/error", route(CallInitError))
	api.Get("/runtime/restore/next", route(CallRestoreNext))
	api.Post("/runtime/restore/error", route(CallRestoreError))
	root := chi.NewRouter()
	root.Mount("/2018-06-01", api)
	return root
}

// routed is the call the Runtime API serves a request line as, and the id,
// percent-decoded; CallOther when net/http refuses it or no route matches.
func routed(router http.Handler, method, target string) (Call, string) {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
	if err != nil {
		return CallOther, ""
	}
	w := httptest.NewRecorder()
	router.ServeHTTP(w, req)
	call := CallOther
	for c := range numCalls {
		if w.Header().Get("Call") == c.String() && w.Code == http.StatusOK {
			call = c
		}
	}
	id := w.Header().Get("Id")
	if req.URL.RawPath != "" { // chi matched the escaped path: its id is escaped
		id, _ = url.PathUnescape(id)
	}
	return call, id
}

// FuzzClassify holds the request-target parser against net/http and chi
// on the same request line: same call, same id.
func FuzzClassify(f *testing.F) {
	router := runtimeAPIRouter()
	for _, target := range []string{
		"/2018-06-01/runtime/invocation/next",
		"/2018-06-01/runtime/invocation/abc/response?x=1",
		"/2018-06-01/runtime/invocation/a%2Fb/error",
		"/2018-06-01/runtime/invocation/%61bc/response",
		"/2018-06-01/runtime/invocation/a%20b/response",
		"/2018-06-01/runtime/invoc%61tion/abc/response",
		"/2018-06-01/runtime/invocation/\xc3\xa9/response",
		"/2018-06-01/runtime/invocation/a#b/response",
		"/2018-06-01/runtime/init/error",
		"/2018-06-01/runtime/restore/next",
		"http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/response",
		"http://u@h/2018-06-01/runtime/restore/error",
		"x:/2018-06-01/runtime/invocation/next",
		"*",
	} {
		f.Add("GET", target)
		f.Add("POST", target)
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		if strings.ContainsAny(method+target, " \r\n") || method == "" {
			return // not one request line
		}
		call, id := classify(method, target)
		wantCall, wantID := routed(router, method, target)
		if call != wantCall || call != CallOther && id != wantID {
			t.Fatalf("%s %q: classified %v %q, the Runtime API routes it %v %q", method, target, call, id, wantCall, wantID)
		}
	})
}
