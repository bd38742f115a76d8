// Package rie runs the AWS Lambda Runtime Interface Emulator (the program
// inside `sam local`'s containers) without Docker: each emulator gets its own
// mount namespace, with a layer bind-mounted on /opt, and its own PID
// namespace, so that stopping it stops the runtime and extensions too. It
// runs the classic emulator, one invocation at a time, or its Lambda Managed
// Instances mode, many at once (Options.MaxConcurrency).
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InvokePath is the emulator's invoke endpoint, the Lambda Invoke API path
// for a function named "function".
const InvokePath = "/2015-03-31/functions/function/invocations"

const (
	defaultTimeout      = 3 * time.Second
	defaultFunctionName = "function"
	defaultRegion       = "us-east-1"
	startupLimit        = 30 * time.Second
	stopLimit           = 10 * time.Second
)

// Options configure one emulator.
type Options struct {
	// LayerDir is bind-mounted at /opt. Empty: an empty directory is mounted,
	// so that /opt/extensions is absent.
	LayerDir string
	// TaskRoot is LAMBDA_TASK_ROOT and the runtime's working directory. In
	// LMI mode it is bind-mounted, read-only, at /var/task, which is then
	// LAMBDA_TASK_ROOT.
	TaskRoot string
	// Command is the runtime's command. With more than one argument the
	// classic emulator also passes the last one as _HANDLER. In LMI mode it
	// is optional: when set, it becomes /var/runtime/bootstrap, run through
	// AWS_LAMBDA_EXEC_WRAPPER when that is set, as in Lambda's managed-runtime
	// images; when empty, the function is an OS-only one and the emulator
	// runs /var/task/bootstrap, or else the layer's /opt/bootstrap.
	Command []string
	// Handler is _HANDLER, the function's Handler setting: for an OS-only
	// function behind the layer's /opt/bootstrap, the name of its
	// executable in TaskRoot; for Node.js, "index.handler".
	Handler string
	// MaxConcurrency, when above 0, runs the emulator's Lambda Managed
	// Instances mode (LMI) with that many runtime workers
	// (AWS_LAMBDA_MAX_CONCURRENCY): invocations run at once, an invocation
	// arriving while every worker is busy is refused with
	// Runtime.Unavailable (see InvokeRetry), and the function is initialised
	// at start rather than at the first invocation. The runtime and the
	// extensions then run as uid 993, gid 990: TaskRoot, LayerDir and the
	// files of Command must be readable by others.
	MaxConcurrency int
	// Env is extra environment for the emulator, passed through to the
	// runtime and the extensions. It overrides the harness's environment.
	Env map[string]string
	// Timeout is AWS_LAMBDA_FUNCTION_TIMEOUT, rounded up to whole seconds; default 3s.
	Timeout time.Duration
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME, default "function".
	FunctionName string
	// Output, if set, also receives the emulator's combined stdout and stderr
	// (its own logs and those of the runtime and extensions).
	Output io.Writer
	// KeepOutput bounds the output kept for Output and WaitOutput to about
	// its last KeepOutput bytes; 0 keeps all of it. A harness that keeps
	// hundreds of MiB of large log lines stalls on regrowing its buffer,
	// and the emulator's writers wait on the full pipe meanwhile.
	KeepOutput int
}

// Response is the emulator's answer to an invocation.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Latency time.Duration // from sending the request to the end of the body
	Retries int           // Runtime.Unavailable answers before this one (InvokeRetry)
}

// Emulator is one running emulator. Stop it when done.
type Emulator struct {
	cmd         *exec.Cmd
	out         *output
	invokeAddr  string
	runtimeAddr string
	tmp         []string // directories created by Start, removed by Stop
	client      *http.Client
	invoking    chan struct{} // classic mode, one slot: the emulator panics on concurrent invocations; nil in LMI mode

	done    chan struct{} // closed when the unshare process has been reaped
	waitErr error         // set before done is closed

	emulatorPID int      // the emulator's host PID (unshare's child)
	pidNS       string   // the emulator's PID namespace, to check that Stop emptied it
	pidNSFile   *os.File // held open so that pidNS's inode is not reused by another namespace

	stopOnce sync.Once
	stopErr  error
}

// Start runs an emulator and returns once it listens on its invoke and
// Runtime API ports. ctx bounds the start only; the emulator runs until Stop.
// The emulator initialises the function lazily, on the first invocation.
func Start(ctx context.Context, o Options) (*Emulator, error) {
	if len(o.Command) == 0 && o.MaxConcurrency <= 0 {
		return nil, errors.New("starting emulator: Options.Command is empty (the emulator would look for /var/task/bootstrap)")
	}
	if _, set := o.Env["AWS_LAMBDA_MAX_CONCURRENCY"]; set {
		return nil, errors.New("starting emulator: Options.Env sets AWS_LAMBDA_MAX_CONCURRENCY: set Options.MaxConcurrency instead, which also prepares /var for LMI mode")
	}
	uargs, err := unshareArgs()
	if err != nil {
		return nil, err
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	if o.LayerDir != "" {
		if _, set := o.Env["DESTINATIONS_PROXY_PORT"]; !set {
			// Emulators share the machine's network: two layers on the
			// default proxy port 9009 would collide.
			port, err := FreePort()
			if err != nil {
				return nil, err
			}
			o.Env = maps.Clone(o.Env)
			if o.Env == nil {
				o.Env = map[string]string{}
			}
			o.Env["DESTINATIONS_PROXY_PORT"] = strconv.Itoa(port)
		}
	}
	// Free ports are only free until someone binds them: another emulator
	// started at the same moment may win one. Ours then exits; try again.
	for attempt := 1; ; attempt++ {
		e, err := launch(ctx, o, uargs, bin)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return e, err
		}
	}
}

var errPortTaken = errors.New("emulator port taken by another process")

func launch(ctx context.Context, o Options, uargs []string, bin string) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		out:         newOutput(o.Output, o.KeepOutput),
		invokeAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		runtimeAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		done:        make(chan struct{}),
		// The harness talks to a local port: never through a proxy from the
		// environment. Concurrent callers in LMI mode keep their connections.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 1024}},
	}
	if o.MaxConcurrency <= 0 {
		e.invoking = make(chan struct{}, 1)
	}
	args, err := e.namespaceArgs(o, bin)
	if err != nil {
		e.cleanupTemp()
		return nil, fmt.Errorf("starting emulator: %w", err)
	}
	cmd := exec.Command("unshare", slices.Concat(uargs, args)...)
	cmd.Env = environ(os.Environ(), o)
	// With several arguments the emulator runs the runtime in its own working
	// directory; Lambda runs it in the task root.
	cmd.Dir = o.TaskRoot
	cmd.Stdout, cmd.Stderr = e.out, e.out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// Should the test binary die, unshare dies, and --kill-child takes
		// the emulator's PID namespace with it. (Pdeathsig follows the OS
		// thread that started unshare; Go keeps threads alive unless locked.)
		Pdeathsig: syscall.SIGKILL,
	}
	// Output pipe copying must not outlive Stop even if something kept it open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		e.cleanupTemp()
		return nil, fmt.Errorf("starting emulator %s: %w", bin, err)
	}
	e.cmd = cmd
	go func() {
		e.waitErr = cmd.Wait()
		close(e.done)
	}()

	if err := e.waitReady(ctx, ports); err != nil {
		_ = e.Stop()
		if strings.Contains(e.Output(), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("starting emulator: %w; output:\n%s", err, e.Output())
	}
	e.pidNSFile, e.pidNS = holdPIDNamespace(e.emulatorPID)
	return e, nil
}

// namespaceArgs returns the command that unshare runs in the emulator's
// namespaces: a script that lays out the mounts, then execs the emulator.
func (e *Emulator) namespaceArgs(o Options, bin string) ([]string, error) {
	layer := o.LayerDir
	if layer == "" {
		dir, err := e.tempDir("rie-empty-layer-")
		if err != nil {
			return nil, fmt.Errorf("empty layer directory: %w", err)
		}
		// Open to the unprivileged user of LMI mode, as a layer is.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("empty layer directory: %w", err)
		}
		layer = dir
	}
	layer, err := filepath.Abs(layer)
	if err != nil {
		return nil, fmt.Errorf("layer directory %s: %w", o.LayerDir, err)
	}
	emulator := []string{bin, "--runtime-interface-emulator-address", e.invokeAddr, "--runtime-api-address", e.runtimeAddr}
	if o.MaxConcurrency <= 0 {
		return slices.Concat([]string{"sh", "-c", classicScript, layer}, emulator, o.Command), nil
	}
	dir, err := e.tempDir("rie-lmi-")
	if err != nil {
		return nil, fmt.Errorf("LMI files: %w", err)
	}
	f, err := prepareLMI(o, dir)
	if err != nil {
		return nil, err
	}
	task, err := filepath.Abs(o.TaskRoot)
	if err != nil {
		return nil, fmt.Errorf("task root %s: %w", o.TaskRoot, err)
	}
	// The LMI emulator finds the runtime by itself: no command line.
	return slices.Concat([]string{"sh", "-c", lmiScript, layer, f.stage, task, f.bootstrap}, emulator), nil
}

// tempDir creates a directory that Stop removes.
func (e *Emulator) tempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	e.tmp = append(e.tmp, dir)
	return dir, nil
}

// waitReady waits until the emulator process itself listens on both ports:
// a successful dial alone could reach another process that took a port.
func (e *Emulator) waitReady(ctx context.Context, ports []int) error {
	ctx, cancel := context.WithTimeout(ctx, startupLimit)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		// unshare's child is sh until it execs the emulator, PID 1 of the
		// namespace; sh listens on nothing, so the check below tells them apart.
		if pid := childOf(e.cmd.Process.Pid); pid != 0 && listensOn(pid, ports...) {
			e.emulatorPID = pid
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("emulator exited before listening on %s and %s: %v", e.invokeAddr, e.runtimeAddr, e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("waiting for emulator to listen on %s and %s: %w", e.invokeAddr, e.runtimeAddr, ctx.Err())
		case <-tick.C:
		}
	}
}

// environ builds the emulator's environment from the harness's own.
func environ(base []string, o Options) []string {
	env := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// The test process may itself run under a Runtime API (or be configured
	// for one); none of that must reach the emulated function.
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "AWS_LAMBDA_FUNCTION_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_MAX_CONCURRENCY"} {
		delete(env, k)
	}
	env["AWS_REGION"] = defaultRegion
	env["AWS_LAMBDA_FUNCTION_NAME"] = defaultFunctionName
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = timeoutSeconds(defaultTimeout)
	for k, v := range o.Env {
		env[k] = v
	}
	switch {
	case o.MaxConcurrency > 0:
		env["AWS_LAMBDA_MAX_CONCURRENCY"] = strconv.Itoa(o.MaxConcurrency)
		// The LMI emulator sets it to /var/task for the runtime by itself.
		env["LAMBDA_TASK_ROOT"] = lmiTaskRoot
	case o.TaskRoot != "":
		env["LAMBDA_TASK_ROOT"] = o.TaskRoot
	}
	// Both emulators read the handler from here when the command line does not give it.
	if o.Handler != "" {
		env["_HANDLER"] = o.Handler
	}
	if o.Timeout > 0 {
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = timeoutSeconds(o.Timeout)
	}
	if o.FunctionName != "" {
		env["AWS_LAMBDA_FUNCTION_NAME"] = o.FunctionName
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func timeoutSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// FreePort returns a TCP port free on 127.0.0.1 right now. Emulators share
// the machine's network namespace, so anything listening inside one (such as
// an extension's proxy, DESTINATIONS_PROXY_PORT) needs its own port when
// emulators run in parallel.
func FreePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts reserves n distinct free ports on 127.0.0.1. They are released
// before returning, so another process could take one; in practice the
// kernel does not hand a just-released ephemeral port out again at once.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserving a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// InvokeURL is the emulator's base URL, e.g. http://127.0.0.1:PORT. It is also
// a Lambda Invoke API endpoint for a function named "function".
func (e *Emulator) InvokeURL() string { return "http://" + e.invokeAddr }

// Invoke posts body to the invoke endpoint and returns the emulator's answer.
// The classic emulator handles one invocation at a time and crashes (nil
// pointer in rapidcore) when a second one arrives meanwhile, so there calls
// are serialised; in LMI mode they run at once, and one that finds every
// worker busy is answered Runtime.Unavailable (InvokeRetry retries).
// Latency counts from the request being sent, not from waiting for a turn.
// Header X-Amzn-RequestId, if set, becomes the invocation's request id.
func (e *Emulator) Invoke(ctx context.Context, body []byte, header http.Header) (*Response, error) {
	if e.invoking != nil {
		select {
		case e.invoking <- struct{}{}:
			defer func() { <-e.invoking }()
		case <-ctx.Done():
			return nil, fmt.Errorf("invoking emulator at %s: waiting for the previous invocation: %w", e.invokeAddr, ctx.Err())
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.InvokeURL()+InvokePath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("invoking emulator at %s: %w", e.invokeAddr, err)
	}
	for k, vs := range header {
		req.Header[k] = slices.Clone(vs)
	}
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking emulator at %s: %w%s", e.invokeAddr, err, e.exitNote(ctx))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading emulator response from %s: %w", e.invokeAddr, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Latency: time.Since(start)}, nil
}

// exitNote says that the emulator has exited, for an invocation that
// failed because of it: an LMI emulator ends when the init fails or the
// runtime crashes. A refused connection can come just before the exit is
// seen, so it waits a little for it.
func (e *Emulator) exitNote(ctx context.Context) string {
	if ctx.Err() != nil {
		return ""
	}
	select {
	case <-e.done:
		return fmt.Sprintf(" (the emulator has exited: %v)", e.waitErr)
	case <-time.After(250 * time.Millisecond):
		return ""
	}
}

// Output returns everything the emulator, runtime and extensions printed so far.
func (e *Emulator) Output() string {
	s, _ := e.out.snapshot()
	return s
}

// WaitOutput waits until the output contains substr.
func (e *Emulator) WaitOutput(ctx context.Context, substr string) error {
	for {
		s, changed := e.out.snapshot()
		if strings.Contains(s, substr) {
			return nil
		}
		select {
		case <-changed:
		case <-e.done:
			// The last writes may have landed just before the exit.
			if s, _ := e.out.snapshot(); strings.Contains(s, substr) {
				return nil
			}
			return fmt.Errorf("waiting for %q in emulator output: emulator exited: %v", substr, e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q in emulator output: %w", substr, ctx.Err())
		}
	}
}

// Done is closed when the emulator has exited, whether through Stop or not.
func (e *Emulator) Done() <-chan struct{} { return e.done }

// Stop kills the emulator and every process it started, waits until they are
// gone and removes what Start created. It is idempotent.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() { e.stopErr = e.stop() })
	return e.stopErr
}

func (e *Emulator) stop() error {
	defer e.cleanupTemp()
	if e.pidNSFile != nil {
		defer e.pidNSFile.Close()
	}
	pid := e.cmd.Process.Pid
	timer := time.NewTimer(stopLimit)
	defer timer.Stop()

	// Kill the emulator, PID 1 of its namespace: the kernel then kills the
	// rest, and unshare reaps it and exits. Killing unshare first would leave
	// the emulator a zombie until the machine's init reaps it.
	if child := childOf(pid); child != 0 {
		_ = syscall.Kill(child, syscall.SIGKILL)
		select {
		case <-e.done:
		case <-time.After(time.Second):
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-e.done:
	case <-timer.C:
		return fmt.Errorf("stopping emulator (pid %d): still running after %s", pid, stopLimit)
	}
	if e.pidNSFile == nil {
		return nil
	}
	// Normally empty by now; anything left is killed and waited for.
	for {
		left := membersOf(e.pidNS)
		if len(left) == 0 {
			return nil
		}
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		select {
		case <-timer.C:
			return fmt.Errorf("stopping emulator (pid %d): processes %v of %s survive", pid, left, e.pidNS)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (e *Emulator) cleanupTemp() {
	for _, dir := range e.tmp {
		os.RemoveAll(dir)
	}
}
