// Package runtimeproc watches the runtime's process, so that the extension
// knows at once when the runtime has gone: Lambda then resets the
// environment, and an invocation that posted nothing was a crash or a
// timeout. Closed connections cannot tell it: runtimes such as a bash+curl
// loop or Python's urllib open a new connection for every call.
//
// The layer's wrapper execs the runtime, so the wrapper's PID is the
// runtime's; it writes it to a file named after the proxy's port before it
// does, and the extension watches that process.
package runtimeproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PIDFile is where the wrapper writes the runtime's PID, for a proxy on
// the given port: the runtime and the extensions share /tmp, and two
// proxies (of two emulators on one machine) never share a port.
func PIDFile(proxyPort int) string {
	return fmt.Sprintf("/tmp/.destinations-runtime-%d.pid", proxyPort)
}

// Watcher watches the runtime's process and tells when it ends.
type Watcher struct {
	path   string
	exited func()
	log    *slog.Logger

	mu      sync.Mutex
	pid     int  // the process watched, 0 while none is
	last    int  // the last process watched, which has ended
	stopped bool // Close was called
}

// New returns a watcher of the process whose PID the wrapper writes to
// path; exited is called when it ends. A PID file left by an earlier
// environment is removed: Lambda starts the runtime only after every
// extension has registered, so the wrapper writes the file after this.
func New(path string, exited func(), log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.Default()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Debug("cannot remove an old runtime PID file", "path", path, "error", err)
	}
	return &Watcher{path: path, exited: exited, log: log}
}

// Start looks for the runtime's PID file until it appears or limit
// passes, and watches the process it names: a runtime may fail its init,
// and exit, before it ever calls the Runtime API.
func (w *Watcher) Start(limit time.Duration) {
	go func() {
		wait := time.Millisecond
		end := time.Now().Add(limit)
		for time.Now().Before(end) {
			w.Polled()
			w.mu.Lock()
			found := w.pid != 0 || w.last != 0 || w.stopped
			w.mu.Unlock()
			if found {
				return
			}
			time.Sleep(wait)
			wait = min(2*wait, 50*time.Millisecond)
		}
	}()
}

// Polled looks for a new runtime process if none is watched. It is cheap
// when one is: the proxy calls it on every /next.
func (w *Watcher) Polled() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pid != 0 || w.stopped {
		return
	}
	pid, err := readPID(w.path)
	if err != nil || pid == w.last {
		return
	}
	done, err := waitExit(pid)
	switch {
	case errors.Is(err, os.ErrProcessDone):
		// Written after this extension started, so by this environment's
		// runtime, which has already ended: a failed init, say.
		w.last = pid
		w.log.Debug("the runtime process ended before it was watched", "pid", pid)
		go w.exited()
		return
	case err != nil:
		w.log.Debug("cannot watch the runtime process", "pid", pid, "error", err)
		return
	}
	w.pid = pid
	w.log.Debug("watching the runtime process", "pid", pid)
	go func() {
		<-done
		w.mu.Lock()
		w.last, w.pid = pid, 0
		stopped := w.stopped
		w.mu.Unlock()
		if !stopped {
			w.log.Debug("the runtime process ended", "pid", pid)
			w.exited()
		}
	}()
}

// Ended reports, as of now, whether a runtime process was seen and has
// ended: what SHUTDOWN needs to know when the runtime may have failed its
// init a moment before, faster than the watch could tell.
func (w *Watcher) Ended() bool {
	w.Polled()
	w.mu.Lock()
	pid, last := w.pid, w.last
	w.mu.Unlock()
	if pid != 0 {
		return !alive(pid)
	}
	return last != 0
}

// Watched reports whether a runtime process is watched.
func (w *Watcher) Watched() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pid != 0
}

// Close stops telling of exits.
func (w *Watcher) Close() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("runtime PID file %s: %q is not a process id", path, b)
	}
	return pid, nil
}
