package rie

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `'plain'`},
		{"", `''`},
		{"a b", `'a b'`},
		{"it's", `'it'\''s'`},
		{`$HOME "x"`, `'$HOME "x"'`},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// The runtime bootstrap runs its command, through the exec wrapper when
// AWS_LAMBDA_EXEC_WRAPPER is set, with every argument intact.
func TestRuntimeBootstrap(t *testing.T) {
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap")
	command := []string{"/bin/echo", "it's", "a  b", "$HOME", "index.handler"}
	if err := os.WriteFile(boot, runtimeBootstrap(command), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "wrapper")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho wrapped $#\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, wrapper, want string
	}{
		{"no wrapper", "", "it's a  b $HOME index.handler\n"},
		{"exec wrapper", wrapper, "wrapped 5\nit's a  b $HOME index.handler\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(boot)
			cmd.Env = append(os.Environ(), "AWS_LAMBDA_EXEC_WRAPPER="+tt.wrapper)
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != tt.want {
				t.Errorf("bootstrap printed %q (%v), want %q", out, err, tt.want)
			}
		})
	}
}

func TestOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	// t.TempDir is a folder in a folder of the test's own, made 0700.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shut := filepath.Join(dir, "shut")
	if err := os.Mkdir(shut, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]os.FileMode{
		filepath.Join(dir, "open"):    0o755,
		filepath.Join(dir, "private"): 0o700,
		filepath.Join(shut, "open"):   0o755,
	}
	for f, mode := range files {
		if err := os.WriteFile(f, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path string
		want string // in the error; "" for none
	}{
		{filepath.Join(dir, "open"), ""},
		{filepath.Join(dir, "private"), "not readable by others"},
		{filepath.Join(shut, "open"), "which others cannot enter"},
		{filepath.Join(dir, "absent"), ""},
		{"index.handler", ""},
		{"--flag", ""},
	}
	for _, tt := range tests {
		err := othersCanRead(tt.path)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("othersCanRead(%s) = %v, want an error saying %q", tt.path, err, tt.want)
		}
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"refused", 400, `{"errorType":"Runtime.Unavailable","errorMessage":"no idle runtimes"}`, true},
		{"other client error", 400, `{"errorType":"Runtime.DuplicatedInvokeId","errorMessage":""}`, false},
		{"function's own body", 200, `{"errorType":"Runtime.Unavailable"}`, false},
		{"not JSON", 400, `Runtime.Unavailable`, false},
		{"success", 200, `{"ok":true}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Response{Status: tt.status, Body: []byte(tt.body)}
			if got := r.Unavailable(); got != tt.want {
				t.Errorf("Unavailable() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{0, retryFirst / 2, retryFirst},
		{1, retryFirst, 2 * retryFirst},
		{3, 4 * retryFirst, 8 * retryFirst},
		{10, retryMax / 2, retryMax},
		{1000, retryMax / 2, retryMax},
	}
	for _, tt := range tests {
		for range 100 {
			if d := retryWait(tt.n); d < tt.min || d > tt.max {
				t.Fatalf("retryWait(%d) = %s, want within [%s, %s]", tt.n, d, tt.min, tt.max)
			}
		}
	}
}

func TestEnvironLMI(t *testing.T) {
	base := []string{"PATH=/bin", "AWS_LAMBDA_MAX_CONCURRENCY=99", "AWS_LAMBDA_FUNCTION_HANDLER=outer", "_HANDLER=outer"}
	const absent = "(absent)"
	tests := []struct {
		name string
		opts Options
		want map[string]string
	}{
		{"classic", Options{TaskRoot: "/srv/task"}, map[string]string{
			"LAMBDA_TASK_ROOT": "/srv/task", "AWS_LAMBDA_MAX_CONCURRENCY": absent, "AWS_LAMBDA_FUNCTION_HANDLER": absent, "_HANDLER": absent,
		}},
		{"LMI with a handler", Options{TaskRoot: "/srv/task", MaxConcurrency: 8, Handler: "function"}, map[string]string{
			"AWS_LAMBDA_MAX_CONCURRENCY": "8", "LAMBDA_TASK_ROOT": "/var/task", "_HANDLER": "function", "AWS_LAMBDA_FUNCTION_HANDLER": absent,
		}},
	}
	for _, tt := range tests {
		env := environ(base, tt.opts)
		for k, want := range tt.want {
			got := absent
			if i := slices.IndexFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") }); i >= 0 {
				got = strings.TrimPrefix(env[i], k+"=")
			}
			if got != want {
				t.Errorf("%s: %s = %s, want %s", tt.name, k, got, want)
			}
		}
	}
}

func TestStartRejectsBadLMIOptions(t *testing.T) {
	open, closed := t.TempDir(), t.TempDir()
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(open, "runtime")
	if err := os.WriteFile(secret, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"concurrency in Env", Options{Command: []string{"/bin/true"}, Env: map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4"}}, "set Options.MaxConcurrency"},
		{"no task root", Options{MaxConcurrency: 2}, "Options.TaskRoot is empty"},
		{"task root missing", Options{MaxConcurrency: 2, TaskRoot: filepath.Join(open, "none")}, "no such file or directory"},
		{"task root a file", Options{MaxConcurrency: 2, TaskRoot: secret}, "is not a directory"},
		{"task root closed to others", Options{MaxConcurrency: 2, TaskRoot: closed}, "cannot read it (chmod o+rx)"},
		{"runtime closed to others", Options{MaxConcurrency: 2, TaskRoot: open, Command: []string{secret}}, "not readable by others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.TaskRoot != "" || tt.opts.MaxConcurrency > 0 {
				if err := Available(); err != nil {
					t.Skip(err) // these errors come after the namespace probe
				}
			}
			e, err := Start(t.Context(), tt.opts)
			if err == nil {
				e.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
