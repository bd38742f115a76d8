package lifecycle

import (
	"strings"
	"testing"
	"time"
)

func TestTimedOut(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name     string
		deadline time.Time
		timeout  time.Duration
		managed  bool
		message  string
	}{
		{"from the deadline", start.Add(3 * time.Second), 0, false, "RequestId: id-1 Error: Task timed out after 3.00 seconds"},
		{"event seen late", start.Add(2*time.Second + 990*time.Millisecond), 0, false, "RequestId: id-1 Error: Task timed out after 3.00 seconds"},
		{"the known timeout wins", start.Add(time.Second), 900 * time.Second, false, "RequestId: id-1 Error: Task timed out after 900.00 seconds"},
		{"managed instances say no request id", start.Add(3 * time.Second), 0, true, `"errorMessage":"Task timed out after 3.00 seconds"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := timedOut("id-1", start, tt.deadline, tt.timeout, tt.managed)
			body := string(f.body.Bytes)
			if f.state != TimedOut || f.errorType != "Sandbox.Timedout" || !strings.Contains(body, `"errorType":"Sandbox.Timedout"`) || !strings.Contains(body, tt.message) {
				t.Errorf("got %v %q %s", f.state, f.errorType, body)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		status    int
		answer    string
		ends      bool
		state     State
		errorType string
	}{
		{413, `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`, true, Refused, "Function.ResponseSizeTooLarge"},
		{410, `{"errorMessage":"Invoke timeout","errorType":"InvokeTimeout"}`, true, TimedOut, "Sandbox.Timedout"},
		{400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`, false, 0, ""},
		{403, `{"errorType":"InvalidStateTransition"}`, false, 0, ""},
		{500, `not json`, false, 0, ""},
	}
	for _, tt := range tests {
		f, ends := refused("id", tt.status, []byte(tt.answer), time.Unix(0, 0), time.Unix(3, 0), 0, true)
		if ends != tt.ends || (ends && (f.state != tt.state || f.errorType != tt.errorType)) {
			t.Errorf("%d: got %v %v %q", tt.status, ends, f.state, f.errorType)
		}
	}
}

func TestCrashed(t *testing.T) {
	for _, tt := range []struct{ errorType, wantType, message string }{
		{"", "Runtime.ExitError", "RequestId: r Error: Runtime exited without providing a reason"},
		{"Runtime.OutOfMemory", "Runtime.OutOfMemory", "RequestId: r Error: Runtime exited with error: signal: killed"},
	} {
		f := crashed("r", tt.errorType)
		if f.state != Crashed || f.errorType != tt.wantType || !strings.Contains(string(f.body.Bytes), tt.message) {
			t.Errorf("crashed(%q) = %v %q %s", tt.errorType, f.state, f.errorType, f.body.Bytes)
		}
	}
}

func TestInitFailed(t *testing.T) {
	posted := &initError{body: payload(`{"errorType":"Runtime.ImportModuleError","errorMessage":"no module"}`)}
	if f := initFailed("", posted); f.errorType != "Runtime.ImportModuleError" || string(f.body.Bytes) != string(posted.body.Bytes) {
		t.Errorf("posted error without a header type: %q %s", f.errorType, f.body.Bytes)
	}
	if f := initFailed("", &initError{errorType: "Runtime.Custom"}); f.errorType != "Runtime.Custom" || !strings.Contains(string(f.body.Bytes), "Error: Runtime failed its init") {
		t.Errorf("empty posted error: %q %s", f.errorType, f.body.Bytes)
	}
	if f := initFailed("", nil); f.errorType != "Runtime.ExitError" || strings.Contains(string(f.body.Bytes), "RequestId") {
		t.Errorf("exit: %q %s", f.errorType, f.body.Bytes)
	}
}
