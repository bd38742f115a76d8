package proxy

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// curl is the HTTP client of the AWS tutorial's bash runtime. It asks for
// 100 Continue before a large body, and can send an absolute-form target.
func TestCurlClient(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	u, srv := newFakeAPI(t, []byte(`{"n":1}`))
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 4<<20)
	base := "http://" + addr + "/2018-06-01/runtime/invocation/"
	curl := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), "curl", append([]string{"-sS", "--noproxy", "*"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := curl("-D", "-", base+"next"); !strings.Contains(out, "Lambda-Runtime-Aws-Request-Id: req-1\r\n") || !strings.HasSuffix(out, `{"n":1}`) {
		t.Errorf("next: %q", out)
	}

	big := filepath.Join(t.TempDir(), "big.json")
	body := append(append([]byte(`"`), bytes.Repeat([]byte("b"), 2<<20)...), '"')
	if err := os.WriteFile(big, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := curl("-w", "%{http_code}", "-o", "/dev/null", "-H", "Expect: 100-continue", "--data-binary", "@"+big, base+"req-1/response"); out != "202" {
		t.Errorf("a large response: status %s", out)
	}
	absolute := base + "req-2/error"
	if out := curl("-w", "%{http_code}", "-o", "/dev/null", "-X", "POST", "--request-target", absolute, "-H", "Lambda-Runtime-Function-Error-Type: E",
		"--data-binary", `{"errorType":"E"}`, "http://"+addr+"/"); out != "202" {
		t.Errorf("an absolute-form error: status %s", out)
	}

	u.mu.Lock()
	got := u.bodies["/2018-06-01/runtime/invocation/req-1/response"]
	expect := u.headers["/2018-06-01/runtime/invocation/req-1/response"].Get("Expect")
	u.mu.Unlock()
	if !bytes.Equal(got, body) || expect != "" {
		t.Errorf("the Runtime API got %d bytes of %d, Expect %q (the proxy answers it)", len(got), len(body), expect)
	}
	_, results := rec.wait(t, 1, 2)
	for _, r := range results {
		switch r.RequestID {
		case "req-1":
			if !bytes.Equal(r.Body.Join(), body) || r.Status != http.StatusAccepted {
				t.Errorf("response: %d, kept %d bytes", r.Status, r.Body.Len())
			}
		case "req-2":
			if r.Call != CallError || !r.Failed || r.ErrorType != "E" {
				t.Errorf("error: %+v", r)
			}
		default:
			t.Errorf("result %+v", r)
		}
	}
}

// What a result says of the invocation, from its call, its streaming mode
// and its trailers, on classic Lambda and on Managed Instances.
func TestOutcome(t *testing.T) {
	errBody := base64.StdEncoding.EncodeToString([]byte(`{"errorType":"Oops"}`))
	streaming := http.Header{HeaderResponseMode: {"streaming"}}
	failedTrailer := http.Header{TrailerErrorType: {"Oops"}, TrailerErrorBody: {errBody}}
	posted := invocation.Payload{Bytes: []byte("partial"), Size: 7}
	tests := []struct {
		name             string
		call             Call
		request, trailer http.Header
		managed          bool
		failed           bool
		errorType, body  string
	}{
		{"error", CallError, http.Header{HeaderErrorType: {"E"}}, nil, false, true, "E", "partial"},
		{"init error", CallInitError, http.Header{HeaderErrorType: {"Init"}}, nil, false, true, "Init", "partial"},
		{"response", CallResponse, nil, nil, false, false, "", "partial"},
		{"streamed, failed", CallResponse, streaming, failedTrailer, false, true, "Oops", `{"errorType":"Oops"}`},
		{"streamed, failed, no body", CallResponse, streaming, http.Header{TrailerErrorType: {"Oops"}}, false, true, "Oops", "partial"},
		{"buffered, trailers ignored", CallResponse, nil, failedTrailer, false, false, "", "partial"},
		{"buffered, managed instances", CallResponse, nil, failedTrailer, true, true, "Oops", `{"errorType":"Oops"}`},
		{"buffered, managed instances, no body", CallResponse, nil, http.Header{TrailerErrorType: {"Oops"}}, true, true, "Oops", ""},
		{"streaming mode is exact", CallResponse, http.Header{HeaderResponseMode: {"Streaming"}}, failedTrailer, false, false, "", "partial"},
	}
	for _, tt := range tests {
		r := Result{Call: tt.call, Body: posted}
		outcome(&r, tt.request, tt.trailer, tt.managed)
		if r.Failed != tt.failed || r.ErrorType != tt.errorType || string(r.Body.Join()) != tt.body {
			t.Errorf("%s: failed %v %q body %q, want %v %q %q", tt.name, r.Failed, r.ErrorType, r.Body.Join(), tt.failed, tt.errorType, tt.body)
		}
	}
}
