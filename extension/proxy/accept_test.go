package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	var b backoff
	start := time.Unix(100, 0)
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		if got := b.fail(start.Add(time.Duration(i) * time.Second)); got != w*time.Millisecond {
			t.Errorf("failure %d: wait %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if n, lasted := b.end(start.Add(12 * time.Second)); n != len(want) || lasted != 12*time.Second {
		t.Errorf("burst of %d over %v", n, lasted)
	}
	if n, _ := b.end(start); n != 0 {
		t.Errorf("a second end reports %d failures", n)
	}
	if got := b.fail(start); got != minBackoff {
		t.Errorf("a new burst starts at %v", got)
	}
}

// Serve returns nil after Shutdown, and the error when its listener is
// closed by someone else.
func TestServeEnds(t *testing.T) {
	p := New(Options{Upstream: "127.0.0.1:1"})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	ln.Close()
	if err := <-served; err == nil {
		t.Error("Serve returned nil after its listener was closed behind its back")
	}
	ln, err = p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { served <- p.Serve(ln) }()
	eventually(t, "Serve to listen", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.listeners) == 1
	})
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// The accept loop outlives a moment without file descriptors. The proxy
// runs in a child process (the test binary again), whose RLIMIT_NOFILE the
// child lowers until accepting fails, then restores; a runtime that
// connects anew for each call (Python's urllib) is then served, and the
// burst was logged once.
func TestAcceptSurvivesFDExhaustion(t *testing.T) {
	api := httptest.NewServer(&concurrentAPI{})
	t.Cleanup(api.Close)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFDExhaustionChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PROXY_FD_CHILD="+api.Listener.Addr().String())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr logs
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v\n%s", err, stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		t.Fatalf("child said no %q; stderr:\n%s", prefix, stderr.String())
		return ""
	}
	addr := expect("listening ")
	fmt.Fprintln(stdin, "lower")
	expect("lowered")
	// Connections the child cannot all accept.
	var held []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	eventually(t, "the child to fail to accept", func() bool { return strings.Contains(stderr.String(), "cannot accept connections") })
	fmt.Fprintln(stdin, "restore")
	expect("restored")
	for _, c := range held {
		c.Close()
	}
	if out, err := python(t, "--client", "urllib", "--address", addr, "--count", "5"); err != nil {
		t.Fatalf("a runtime that connects per call: %v\n%s\nchild:\n%s", err, out, stderr.String())
	}
	eventually(t, "the child to accept again", func() bool { return strings.Contains(stderr.String(), "accepts connections again") })
	if n := strings.Count(stderr.String(), "cannot accept connections"); n != 1 {
		t.Errorf("the burst was logged %d times:\n%s", n, stderr.String())
	}
}

// TestFDExhaustionChild is the child of TestAcceptSurvivesFDExhaustion: a
// proxy whose file descriptors it lowers and restores when told on stdin.
func TestFDExhaustionChild(t *testing.T) {
	upstream := os.Getenv("PROXY_FD_CHILD")
	if upstream == "" {
		t.Skip("run by TestAcceptSurvivesFDExhaustion")
	}
	p := New(Options{Upstream: upstream, MaxPayloadBytes: 1 << 10, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(t.Context())
	fmt.Printf("listening %s\n", ln.Addr())
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	commands := bufio.NewScanner(os.Stdin)
	for commands.Scan() {
		switch commands.Text() {
		case "lower":
			open, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				t.Fatal(err)
			}
			// Room for two accepts, no more.
			low := syscall.Rlimit{Cur: uint64(len(open)) + 2, Max: limit.Max}
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
				t.Fatal(err)
			}
			fmt.Println("lowered")
		case "restore":
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
				t.Fatal(err)
			}
			fmt.Println("restored")
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}
