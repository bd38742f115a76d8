package runtimeproc

import (
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// waitExit returns a channel closed when process pid ends. It waits on a
// pidfd (Linux 5.3 and later: the process need not be a child of this
// one); where that is missing it checks the process every few milliseconds.
func waitExit(pid int) (<-chan struct{}, error) {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		go func() {
			defer close(done)
			defer unix.Close(fd)
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
					return
				}
			}
		}()
		return done, nil
	}
	if errors.Is(err, unix.ESRCH) {
		return nil, os.ErrProcessDone
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
		return nil, err
	}
	if !alive(pid) {
		return nil, os.ErrProcessDone
	}
	go func() {
		defer close(done)
		for alive(pid) {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return done, nil
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which ends with the last ')'.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}
