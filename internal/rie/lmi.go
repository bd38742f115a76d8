package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lambda Managed Instances (LMI) under the emulator. Setting
// AWS_LAMBDA_MAX_CONCURRENCY in its environment runs the emulator's LMI
// implementation, which ignores the command line for zip functions: it runs
// the first of /var/runtime/bootstrap, /var/task/bootstrap and /opt/bootstrap
// that exists, in /var/task, with LAMBDA_TASK_ROOT=/var/task. So in LMI mode
// the emulator's mount namespace gets a private /var: a tmpfs holding the
// task root at /var/task and, for a managed runtime, the bootstrap that
// Lambda's images have at /var/runtime/bootstrap.

// lmiTaskRoot is where the LMI emulator runs the function.
const lmiTaskRoot = "/var/task"

// The LMI emulator runs the runtime and the extensions as this user and
// group, as Lambda runs them unprivileged: what they read must be open to
// others.
const (
	lmiUID = 993
	lmiGID = 990
)

// classicScript prepares the classic emulator's mount namespace. Its
// arguments: the layer, then the emulator's command line.
const classicScript = `mount --bind "$0" /opt && exec "$@"`

// lmiScript prepares the LMI emulator's mount namespace. Its arguments: the
// layer, an empty staging directory, the task root, the runtime bootstrap to
// install or "", then the emulator's command line. /var is assembled on the
// staging directory and moved into place last, so that a task root lying
// under /var itself is still reachable when it is bind-mounted.
const lmiScript = `set -e
mount --bind "$0" /opt
stage=$1 task=$2 boot=$3
shift 3
mount -t tmpfs -o mode=755 lmi-var "$stage"
mkdir "$stage/task"
mount --bind "$task" "$stage/task"
mount -o remount,bind,ro "$stage/task"
if [ -n "$boot" ]; then
	mkdir "$stage/runtime"
	cp "$boot" "$stage/runtime/bootstrap"
fi
mount --move "$stage" /var
exec "$@"`

// lmiFiles are what Start creates on the host for an LMI emulator.
type lmiFiles struct {
	stage     string // empty directory on which /var is assembled
	bootstrap string // the runtime bootstrap to install, or ""
}

// prepareLMI checks o for LMI mode and writes the files the namespace
// script needs into dir.
func prepareLMI(o Options, dir string) (lmiFiles, error) {
	if o.TaskRoot == "" {
		return lmiFiles{}, errors.New("Options.TaskRoot is empty: LMI mode bind-mounts it at /var/task")
	}
	if fi, err := os.Stat(o.TaskRoot); err != nil {
		return lmiFiles{}, fmt.Errorf("Options.TaskRoot: %w", err)
	} else if !fi.IsDir() {
		return lmiFiles{}, fmt.Errorf("Options.TaskRoot %s is not a directory", o.TaskRoot)
	}
	// Mounted, so only the directories themselves need to be open.
	for _, d := range []struct{ what, path string }{{"Options.TaskRoot", o.TaskRoot}, {"Options.LayerDir", o.LayerDir}} {
		if d.path == "" {
			continue
		}
		if fi, err := os.Stat(d.path); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
			return lmiFiles{}, fmt.Errorf("%s %s has mode %s: the LMI runtime and extensions run as uid %d gid %d, which cannot read it (chmod o+rx)",
				d.what, d.path, fi.Mode().Perm(), lmiUID, lmiGID)
		}
	}
	for _, arg := range o.Command {
		if err := othersCanRead(arg); err != nil {
			return lmiFiles{}, fmt.Errorf("Options.Command: %w: the LMI runtime runs as uid %d gid %d", err, lmiUID, lmiGID)
		}
	}
	f := lmiFiles{stage: filepath.Join(dir, "var")}
	if err := os.Mkdir(f.stage, 0o755); err != nil {
		return lmiFiles{}, fmt.Errorf("staging directory for /var: %w", err)
	}
	if len(o.Command) > 0 {
		f.bootstrap = filepath.Join(dir, "bootstrap")
		if err := os.WriteFile(f.bootstrap, runtimeBootstrap(o.Command), 0o755); err != nil {
			return lmiFiles{}, fmt.Errorf("runtime bootstrap: %w", err)
		}
	}
	return f, nil
}

// othersCanRead returns an error when path is an absolute path to an
// existing file that users other than its owner cannot read, for want of
// read permission on it or search permission on a directory above it.
// Other arguments (flags, handler names) pass.
func othersCanRead(path string) error {
	if !filepath.IsAbs(path) {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if fi.Mode().Perm()&0o004 == 0 {
		return fmt.Errorf("%s has mode %s, not readable by others", path, fi.Mode().Perm())
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s lies in %s, of mode %s, which others cannot enter", path, dir, di.Mode().Perm())
		}
		if dir == "/" {
			return nil
		}
	}
}

// runtimeBootstrap is a /var/runtime/bootstrap that starts command as
// Lambda's managed-runtime images start their runtime interface client:
// through AWS_LAMBDA_EXEC_WRAPPER when it is set.
func runtimeBootstrap(command []string) []byte {
	quoted := make([]string, len(command))
	for i, arg := range command {
		quoted[i] = shellQuote(arg)
	}
	cmd := strings.Join(quoted, " ")
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# The runtime of a managed-runtime image, written by the emulator harness.\n")
	b.WriteString("if [ -n \"$AWS_LAMBDA_EXEC_WRAPPER\" ]; then\n")
	b.WriteString("\texec \"$AWS_LAMBDA_EXEC_WRAPPER\" " + cmd + "\n")
	b.WriteString("fi\n")
	b.WriteString("exec " + cmd + "\n")
	return b.Bytes()
}

// shellQuote quotes s for sh: inside single quotes only the quote itself
// needs care.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errorBody is the body of the emulator's own error answers.
type errorBody struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// Unavailable reports whether r is the LMI emulator turning an invocation
// away because every worker of the runtime is busy:
// 400 {"errorType":"Runtime.Unavailable"}. Callers retry.
func (r *Response) Unavailable() bool {
	if r.Status != http.StatusBadRequest || !bytes.Contains(r.Body, []byte("Runtime.Unavailable")) {
		return false
	}
	var b errorBody
	return json.Unmarshal(r.Body, &b) == nil && b.ErrorType == "Runtime.Unavailable"
}

const (
	retryFirst = time.Millisecond
	retryMax   = 32 * time.Millisecond
)

// retryWait is how long to wait before retry n (0, 1, …): growing to
// retryMax, with jitter so that callers turned away together do not all
// come back together.
func retryWait(n int) time.Duration {
	d := retryFirst << min(n, 10)
	d = min(d, retryMax)
	return d/2 + rand.N(d/2+1)
}

// InvokeRetry is Invoke, repeated while the emulator answers
// Runtime.Unavailable (LMI mode, every worker busy), as a caller of Lambda
// Managed Instances retries. The Response counts the refusals in Retries;
// its Latency is that of the accepted attempt.
func (e *Emulator) InvokeRetry(ctx context.Context, body []byte, header http.Header) (*Response, error) {
	for n := 0; ; n++ {
		resp, err := e.Invoke(ctx, body, header)
		if err != nil || !resp.Unavailable() {
			if resp != nil {
				resp.Retries = n
			}
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("invoking emulator at %s: still Runtime.Unavailable after %d attempts: %w", e.invokeAddr, n+1, ctx.Err())
		case <-time.After(retryWait(n)):
		}
	}
}

// Shutdown ends the emulator as Lambda ends an execution environment, with
// SIGTERM, and waits until it has exited or ctx is done. In LMI mode the
// emulator then stops the runtime, sends SHUTDOWN to the extensions, which
// have 2 s to finish, and exits; the classic emulator exits at once and no
// SHUTDOWN reaches extensions. Call Stop afterwards all the same: it
// removes what Start created.
func (e *Emulator) Shutdown(ctx context.Context) error {
	select {
	case <-e.done:
		return nil // its PID may belong to another process by now
	default:
	}
	if err := syscall.Kill(e.emulatorPID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("shutting down emulator (pid %d): %w", e.emulatorPID, err)
	}
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutting down emulator (pid %d): %w", e.emulatorPID, ctx.Err())
	}
}
