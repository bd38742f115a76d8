package runtimeproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// runtime starts a process standing for the runtime and writes its PID
// where the wrapper would.
func runtime(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func exitedChan() (func(), chan struct{}) {
	ch := make(chan struct{}, 10)
	return func() { ch <- struct{}{} }, ch
}

func wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("not told: %s", what)
	}
}

func TestWatchTellsTheRuntimeExit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.pid")
	if err := os.WriteFile(path, []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exited, ch := exitedChan()
	w := New(path, exited, nil)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("an earlier environment's PID file is left")
	}
	w.Polled()
	if w.Watched() {
		t.Fatal("watching with no PID file")
	}
	cmd := runtime(t, path)
	w.Polled()
	if !w.Watched() {
		t.Fatal("not watching the runtime")
	}
	w.Polled() // cheap and harmless while watching
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	wait(t, ch, "the runtime's exit")
	if w.Watched() {
		t.Error("still watching an ended process")
	}
	w.Polled() // the same PID again is the ended process, not a new runtime
	if w.Watched() {
		t.Error("watching an ended process again")
	}
	runtime(t, path) // a new runtime after a restart
	w.Polled()
	if !w.Watched() {
		t.Error("the new runtime is not watched")
	}
}

func TestStartFindsARuntimeThatNeverPolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.pid")
	exited, ch := exitedChan()
	w := New(path, exited, nil)
	w.Start(time.Minute)
	cmd := runtime(t, path) // written after the extension started, as the wrapper does
	for end := time.Now().Add(10 * time.Second); !w.Watched() && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if !w.Watched() {
		t.Fatal("the PID file was not found")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	wait(t, ch, "the exit of a runtime that never polled")
}

func TestAliveFallback(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !alive(pid) {
		t.Error("a running process is not alive")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if alive(pid) {
		t.Error("an ended process is alive")
	}
}

func TestPIDFile(t *testing.T) {
	if got := PIDFile(9009); got != "/tmp/.destinations-runtime-9009.pid" {
		t.Errorf("PIDFile = %s: the wrapper writes /tmp/.destinations-runtime-$DESTINATIONS_PROXY_PORT.pid", got)
	}
	path := filepath.Join(t.TempDir(), "bad.pid")
	for _, bad := range []string{"", "x", "1", "-5"} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := readPID(path); err == nil {
			t.Errorf("readPID(%q) accepted", bad)
		}
	}
}

func TestARuntimeGoneBeforeItIsWatchedIsTold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.pid")
	exited, ch := exitedChan()
	w := New(path, exited, nil)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// The runtime wrote its PID and failed its init before the extension looked.
	if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Start(time.Minute)
	wait(t, ch, "the exit of a runtime that ended before it was watched")
}

func TestEndedAsOfNow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.pid")
	w := New(path, func() {}, nil)
	if w.Ended() {
		t.Error("ended with no runtime seen")
	}
	cmd := runtime(t, path)
	if w.Ended() {
		t.Error("ended while the runtime runs")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !w.Ended() {
		t.Error("not ended right after the runtime's exit")
	}
}
