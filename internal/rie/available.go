package rie

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The emulator loads extensions from the fixed path /opt/extensions, so each
// emulator runs in its own mount namespace with the layer bind-mounted on
// /opt, and in its own PID namespace so that killing it kills everything it
// started. --kill-child makes unshare take the namespace down when it dies.
var baseUnshareArgs = []string{"-m", "-p", "-f", "--kill-child=SIGKILL"}

var (
	availOnce  sync.Once
	availArgs  []string // unshare flags that worked here
	availError error
)

// Available reports whether emulators can be started here: nil when unshare
// can create mount and PID namespaces and bind-mount on /opt (as root, or
// through an unprivileged user namespace). The result is cached.
func Available() error {
	availOnce.Do(func() { availArgs, availError = probe() })
	return availError
}

func unshareArgs() ([]string, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	return availArgs, nil
}

func probe() ([]string, error) {
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil, fmt.Errorf("emulator harness needs unshare (util-linux): %w", err)
	}
	if fi, err := os.Stat("/opt"); err != nil || !fi.IsDir() {
		return nil, errors.New("emulator harness needs a directory /opt to bind-mount layers on: create it (mkdir /opt)")
	}
	dir, err := os.MkdirTemp("", "rie-probe-")
	if err != nil {
		return nil, fmt.Errorf("emulator harness probe: %w", err)
	}
	defer os.RemoveAll(dir)

	candidates := [][]string{
		baseUnshareArgs,
		// Unprivileged: map ourselves to root in a new user namespace.
		append([]string{"-U", "-r"}, baseUnshareArgs...),
	}
	var msgs []string
	for _, args := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		full := append(append([]string{}, args...), "sh", "-c", `mount --bind "$0" /opt && test -d /opt`, dir)
		out, err := exec.CommandContext(ctx, "unshare", full...).CombinedOutput()
		cancel()
		if err == nil {
			return args, nil
		}
		msgs = append(msgs, fmt.Sprintf("unshare %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out))))
	}
	return nil, fmt.Errorf("emulator harness cannot create private mount and PID namespaces here (run as root, or allow unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1): %s",
		strings.Join(msgs, "; "))
}
