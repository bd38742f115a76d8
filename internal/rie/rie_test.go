package rie

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEnviron(t *testing.T) {
	base := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/root",
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
		"_HANDLER=outer",
		"AWS_REGION=eu-west-3",
		"WEIRD=a=b",
	}
	tests := []struct {
		name   string
		opts   Options
		want   map[string]string
		absent []string
	}{
		{
			name: "defaults",
			want: map[string]string{
				"PATH":                        "/usr/bin:/bin",
				"HOME":                        "/root",
				"WEIRD":                       "a=b",
				"AWS_REGION":                  "us-east-1",
				"AWS_LAMBDA_FUNCTION_NAME":    "function",
				"AWS_LAMBDA_FUNCTION_TIMEOUT": "3",
			},
			absent: []string{"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT"},
		},
		{
			name: "options",
			opts: Options{
				TaskRoot:     "/srv/task",
				Timeout:      1500 * time.Millisecond,
				FunctionName: "my-fn",
				Env:          map[string]string{"AWS_REGION": "eu-central-1", "DESTINATIONS_ON_SUCCESS": "stdout"},
			},
			want: map[string]string{
				"LAMBDA_TASK_ROOT":            "/srv/task",
				"AWS_LAMBDA_FUNCTION_TIMEOUT": "2",
				"AWS_LAMBDA_FUNCTION_NAME":    "my-fn",
				"AWS_REGION":                  "eu-central-1",
				"DESTINATIONS_ON_SUCCESS":     "stdout",
			},
			absent: []string{"AWS_LAMBDA_RUNTIME_API"},
		},
		{
			name: "env sets name and timeout when fields are empty",
			opts: Options{Env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "from-env", "AWS_LAMBDA_FUNCTION_TIMEOUT": "7"}},
			want: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "from-env", "AWS_LAMBDA_FUNCTION_TIMEOUT": "7"},
		},
		{
			name: "sub-second timeout rounds up to one second",
			opts: Options{Timeout: 10 * time.Millisecond},
			want: map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, kv := range environ(base, tt.opts) {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := got[k]; dup {
					t.Errorf("duplicate variable %s", k)
				}
				got[k] = v
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q leaked, want absent", k, v)
				}
			}
		})
	}
}

func TestListensOn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	free, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		ports []int
		want  bool
	}{
		{name: "own listener", pid: os.Getpid(), ports: []int{port}, want: true},
		{name: "one port not listened on", pid: os.Getpid(), ports: []int{port, free[0]}, want: false},
		{name: "other process", pid: os.Getppid(), ports: []int{port}, want: false},
		{name: "no such process", pid: 1 << 30, ports: []int{port}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := listensOn(tt.pid, tt.ports...); got != tt.want {
				t.Errorf("listensOn(%d, %v) = %v, want %v", tt.pid, tt.ports, got, tt.want)
			}
		})
	}
}

func TestOutputKeepsTheLatest(t *testing.T) {
	var all strings.Builder
	o := newOutput(nil, 100)
	for i := range 50 {
		line := fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", i))
		all.WriteString(line)
		if _, err := o.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		got, _ := o.snapshot()
		if !strings.HasSuffix(all.String(), got) || len(got) < min(100, all.Len()) || len(got) > 2*100+len(line) {
			t.Fatalf("after %d lines kept %d bytes %q; want the last 100 to 200 bytes", i+1, len(got), got)
		}
	}
	o = newOutput(nil, 0)
	_, _ = o.Write([]byte(all.String()))
	if got, _ := o.snapshot(); got != all.String() {
		t.Fatalf("keep 0 kept %d of %d bytes", len(got), all.Len())
	}
}

// Pids and CopyFile serve the tests of package rie_test (emulator_test.go).
var (
	Pids     = pids
	CopyFile = copyFile
)
