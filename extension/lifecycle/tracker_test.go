package lifecycle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
)

func TestUnfinished(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name     string
		reason   string
		deadline time.Time
		timeout  time.Duration
		outcome  invocation.Outcome
		errType  string
		message  string
	}{
		{"lambda timeout", "timeout", start.Add(3 * time.Second), 0, invocation.Timeout, "Sandbox.Timedout", "Task timed out after 3.00 seconds"},
		{"emulator timeout", "Timeout", start.Add(3 * time.Second), 0, invocation.Timeout, "Sandbox.Timedout", "Task timed out after 3.00 seconds"},
		{"event seen late", "TIMEOUT", start.Add(2*time.Second + 990*time.Millisecond), 0, invocation.Timeout, "Sandbox.Timedout", "Task timed out after 3.00 seconds"},
		{"known timeout wins", "timeout", start.Add(time.Second), 900 * time.Second, invocation.Timeout, "Sandbox.Timedout", "Task timed out after 900.00 seconds"},
		{"lambda failure", "failure", start.Add(3 * time.Second), 0, invocation.Crash, "Runtime.ExitError", "Error: Runtime exited"},
		{"emulator crash", "ReleaseFail", start.Add(3 * time.Second), 0, invocation.Crash, "Runtime.ExitError", "Error: Runtime exited"},
		{"unknown reason during an invocation", "spindown", start.Add(3 * time.Second), 0, invocation.Crash, "Runtime.ExitError", "Error: Runtime exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, errType, p := Unfinished(tt.reason, "id-1", start, tt.deadline, tt.timeout)
			if outcome != tt.outcome || errType != tt.errType {
				t.Errorf("got %v %q, want %v %q", outcome, errType, tt.outcome, tt.errType)
			}
			body := string(p.Bytes)
			if !strings.Contains(body, `"errorType":"`+tt.errType+`"`) || !strings.Contains(body, "RequestId: id-1 ") || !strings.Contains(body, tt.message) {
				t.Errorf("payload %s", body)
			}
		})
	}
}

func TestTrackerJoinsEventAndResultInAnyOrder(t *testing.T) {
	tr := NewTracker()
	tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "b", Body: invocation.Payload{Bytes: []byte(`"B"`)}, At: time.Unix(20, 0)})
	tr.Event(proxy.Event{RequestID: "a", Body: invocation.Payload{Bytes: []byte(`{"a":1}`)}, At: time.Unix(9, 0)})
	tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "a", Failed: true, ErrorType: "E", At: time.Unix(10, 0)})
	tr.Event(proxy.Event{RequestID: "b", TraceID: "t"})
	tr.Event(proxy.Event{RequestID: "c"})

	got := tr.TakeCompleted(0)
	if len(got) != 2 || got[0].RequestID != "b" || got[1].RequestID != "a" {
		t.Fatalf("completed = %+v", got)
	}
	if got[0].TraceID != "t" || got[0].Outcome != invocation.Success || string(got[0].Response.Bytes) != `"B"` {
		t.Errorf("b = %+v", got[0])
	}
	if got[1].Outcome != invocation.Error || got[1].ErrorType != "E" || string(got[1].Request.Bytes) != `{"a":1}` {
		t.Errorf("a = %+v", got[1])
	}
	left := tr.TakeUnfinished("timeout", 3*time.Second)
	if len(left) != 1 || left[0].RequestID != "c" || left[0].Outcome != invocation.Timeout {
		t.Errorf("unfinished = %+v", left)
	}
	if again := tr.TakeCompleted(0); len(again) != 0 {
		t.Errorf("taken twice: %+v", again)
	}
}

func TestAwait(t *testing.T) {
	tests := []struct {
		name string
		act  func(tr *Tracker)
		want Wait
	}{
		{"result", func(tr *Tracker) { tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "x"}) }, Done},
		{"runtime gone", func(tr *Tracker) { tr.RuntimeGone() }, Gone},
		{"other result", func(tr *Tracker) { tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "y"}) }, Deadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker()
			go func() {
				time.Sleep(10 * time.Millisecond)
				tt.act(tr)
			}()
			if got := tr.Await(context.Background(), "x", time.Now().Add(300*time.Millisecond)); got != tt.want {
				t.Errorf("Await = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAttemptsCountRetriesOfARequest(t *testing.T) {
	tr := NewTracker()
	for i := 1; i <= 3; i++ {
		tr.Event(proxy.Event{RequestID: "r"})
		tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "r", Failed: true})
		got := tr.TakeCompleted(0)
		if len(got) != 1 || got[0].Attempt != i {
			t.Fatalf("attempt %d: %+v", i, got)
		}
	}
	var a attempts
	a.seen = map[string]int{}
	for i := range 1000 {
		a.count(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(a.seen) > len(a.ring) {
		t.Errorf("attempts remembers %d ids, bound is %d", len(a.seen), len(a.ring))
	}
}

func TestRuntimeDoneSettlesUnfinishedInvocations(t *testing.T) {
	tests := []struct {
		status, errorType string
		outcome           invocation.Outcome
		wantType          string
	}{
		{"timeout", "", invocation.Timeout, "Sandbox.Timedout"},
		{"failure", "Runtime.OutOfMemory", invocation.Crash, "Runtime.OutOfMemory"},
		{"failure", "Runtime.ExitError", invocation.Crash, "Runtime.ExitError"},
		{"error", "", invocation.Crash, "Runtime.ExitError"},
	}
	for _, tt := range tests {
		t.Run(tt.status+tt.errorType, func(t *testing.T) {
			tr := NewTracker()
			tr.Event(proxy.Event{RequestID: "r", At: time.Unix(0, 0), Deadline: time.Unix(3, 0)})
			go tr.RuntimeDone("r", tt.status, tt.errorType)
			if w := tr.Await(context.Background(), "r", time.Now().Add(5*time.Second)); w != Done {
				t.Fatalf("Await = %v", w)
			}
			got := tr.TakeCompleted(0)
			if len(got) != 1 || got[0].Outcome != tt.outcome || got[0].ErrorType != tt.wantType ||
				!strings.Contains(string(got[0].Response.Bytes), `"errorType":"`+tt.wantType+`"`) {
				t.Errorf("got %+v", got)
			}
		})
	}
	t.Run("success is left to the proxy", func(t *testing.T) {
		tr := NewTracker()
		tr.Event(proxy.Event{RequestID: "r"})
		tr.RuntimeDone("r", "success", "")
		if got := tr.TakeCompleted(0); len(got) != 0 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("a result wins over the platform", func(t *testing.T) {
		tr := NewTracker()
		tr.Event(proxy.Event{RequestID: "r"})
		tr.Result(proxy.Result{Call: proxy.CallResponse, Status: 202, RequestID: "r", Failed: true, ErrorType: "E"})
		tr.RuntimeDone("r", "error", "E")
		got := tr.TakeCompleted(0)
		if len(got) != 1 || got[0].Outcome != invocation.Error || got[0].ErrorType != "E" {
			t.Errorf("got %+v", got)
		}
	})
}
