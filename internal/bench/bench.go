// Package bench measures what the layer costs a function, side by side with
// the same function without the layer and with a do-nothing extension
// (./noopext), under the Lambda Runtime Interface Emulator: caller latency,
// cold start, the extension's memory, the time spent after the response, and
// the layer's size. Every comparison is made in the same run, with the
// setups alternating, so that a noisy machine slows them all alike.
// `make bench` runs it through cmd/bench.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// Options configure a run. Zero counts take the defaults of Defaults.
type Options struct {
	LayerDir string // the layer as Lambda unpacks it under /opt (rie.BuildLayer)
	NoopDir  string // a layer holding only extensions/noop (BuildNoopLayer)
	RelayDir string // a layer holding extensions/relay and the wrapper (BuildRelayLayer); empty: no Relay setup
	// BaselineDir, if set, is another build of the layer to compare with
	// in the same run (setup Baseline).
	BaselineDir string
	Function    string // the sample function's executable (./sam/function)
	Zips        []string

	Invocations int // sequential 1 KB invocations per setup
	Warmup      int // invocations per setup before measuring
	ColdStarts  int // fresh emulators per setup
	Growth      int // invocations of the layer before the memory growth check
	Large       int // invocations with a large response per setup
	EventBytes  int // size of the event and of the response
	LargeBytes  int // size of the large response
	// Backlog is the invocations of the backlog setup, with responses of
	// BacklogBytes and a webhook taking BacklogDelay a record.
	Backlog      int
	BacklogBytes int
	BacklogDelay time.Duration
	// Under Managed Instances: for each of ManagedWorkers workers,
	// ManagedRounds rounds of ManagedCalls calls per setup, from as many
	// callers as workers. No workers: no such part.
	ManagedWorkers []int
	ManagedCalls   int
	ManagedRounds  int

	Budgets  Budgets
	Progress io.Writer // progress lines; nil: none
}

// Defaults are the counts `make bench` uses.
var Defaults = Options{
	Invocations: 500,
	Warmup:      50,
	ColdStarts:  20,
	Growth:      10000,
	Large:       30,
	EventBytes:  1 << 10,
	LargeBytes:  5 << 20,

	Backlog:      2000,
	BacklogBytes: 200 << 10,
	BacklogDelay: 100 * time.Millisecond,

	ManagedWorkers: []int{8, 32},
	ManagedCalls:   2000,
	ManagedRounds:  5,

	Budgets: DefaultBudgets,
}

func (o *Options) defaults() {
	d := Defaults
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&o.Invocations, d.Invocations)
	set(&o.Warmup, d.Warmup)
	set(&o.ColdStarts, d.ColdStarts)
	set(&o.Growth, d.Growth)
	set(&o.Large, d.Large)
	set(&o.EventBytes, d.EventBytes)
	set(&o.LargeBytes, d.LargeBytes)
	set(&o.Backlog, d.Backlog)
	set(&o.BacklogBytes, d.BacklogBytes)
	set(&o.ManagedCalls, d.ManagedCalls)
	set(&o.ManagedRounds, d.ManagedRounds)
	if o.BacklogDelay <= 0 {
		o.BacklogDelay = d.BacklogDelay
	}
	if o.Budgets == (Budgets{}) {
		o.Budgets = DefaultBudgets
	}
}

// BuildNoopLayer builds the do-nothing extension into dir/extensions/noop.
func BuildNoopLayer(ctx context.Context, dir string) error {
	return rie.BuildFunction(ctx, "./internal/bench/noopext", filepath.Join(dir, "extensions", "noop"))
}

// BuildRelayLayer builds the relay extension into dir/extensions/relay,
// beside copies of the layer's destinations-wrapper and bootstrap.
func BuildRelayLayer(ctx context.Context, dir string) error {
	if err := rie.BuildFunction(ctx, "./internal/bench/relayext", filepath.Join(dir, "extensions", "relay")); err != nil {
		return err
	}
	root, err := rie.ModuleRoot()
	if err != nil {
		return err
	}
	for _, name := range []string{"destinations-wrapper", "bootstrap"} {
		b, err := os.ReadFile(filepath.Join(root, "layer", name))
		if err != nil {
			return fmt.Errorf("relay layer: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			return fmt.Errorf("relay layer: %w", err)
		}
	}
	return nil
}

// runner holds what a run shares.
type runner struct {
	o        Options
	event    []byte
	large    []byte
	hook     *receiver.Receiver
	emus     map[string]*emulator
	progress io.Writer
}

// emulator is one running setup.
type emulator struct {
	name  string
	e     *rie.Emulator
	ext   string // the extension's executable, "" for none
	pid   int    // the extension's process, once found
	calls int
}

// Run measures every setup and returns the report; ctx bounds the run.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if err := rie.Available(); err != nil {
		return nil, err
	}
	r := &runner{o: o, event: EchoEvent(o.EventBytes), large: LargeResponseEvent(o.LargeBytes),
		emus: map[string]*emulator{}, progress: o.Progress}
	if r.progress == nil {
		r.progress = io.Discard
	}
	rep := newReport(o)
	var err error
	rep.Sizes, err = sizes(o)
	if err != nil {
		return nil, err
	}
	rep.Init = map[string]InitTrace{
		Layer: initTrace(ctx, filepath.Join(o.LayerDir, "extensions", "destinations"), "-version"),
		Noop:  initTrace(ctx, filepath.Join(o.NoopDir, "extensions", "noop")),
	}

	if err := r.coldStarts(ctx, rep); err != nil {
		return nil, err
	}
	if r.hook, err = receiver.New(receiver.Options{}); err != nil {
		return nil, err
	}
	defer r.hook.Close()
	defer r.stopAll()
	if err := r.warm(ctx, rep); err != nil {
		return nil, err
	}
	if err := r.growth(ctx, rep); err != nil {
		return nil, err
	}
	if err := r.largeResponses(ctx, rep); err != nil {
		return nil, err
	}
	r.stopAll() // the backlog has the machine to itself
	if err := r.backlog(ctx, rep); err != nil {
		return nil, err
	}
	if err := r.managed(ctx, rep); err != nil {
		return nil, err
	}
	rep.Evaluate()
	return rep, nil
}

// start starts a setup's emulator; hook is where its webhook records go.
func (r *runner) start(ctx context.Context, s setup, hook string) (*emulator, error) {
	return r.launch(ctx, s, r.options(s, hook))
}

// launch starts a setup's emulator with the options o.
func (r *runner) launch(ctx context.Context, s setup, o rie.Options) (*emulator, error) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	e, err := rie.Start(sctx, o)
	if err != nil {
		return nil, fmt.Errorf("setup %s: %w", s.name, err)
	}
	return &emulator{name: s.name, e: e, ext: s.ext}, nil
}

func (r *runner) stopAll() {
	for name, em := range r.emus {
		_ = em.e.Stop()
		delete(r.emus, name)
	}
}

// invoke makes one invocation and checks the answer is the function's own.
func (r *runner) invoke(ctx context.Context, em *emulator, event []byte, wantLen int) (time.Duration, error) {
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	em.calls++
	resp, err := em.e.Invoke(ictx, event, http.Header{"X-Amzn-Requestid": {fmt.Sprintf("bench-%s-%d", em.name, em.calls)}})
	if err != nil {
		return 0, fmt.Errorf("setup %s: invocation %d: %w\nemulator output (end):\n%s", em.name, em.calls, err, tail(em.e.Output(), 3000))
	}
	if resp.Status != http.StatusOK || len(resp.Body) != wantLen {
		return 0, fmt.Errorf("setup %s: invocation %d answered %d with %d bytes (want 200 with %d): %.300s\nemulator output (end):\n%s",
			em.name, em.calls, resp.Status, len(resp.Body), wantLen, resp.Body, tail(em.e.Output(), 3000))
	}
	if wantLen == len(event) && !bytes.Equal(resp.Body, event) {
		return 0, fmt.Errorf("setup %s: invocation %d: the response is not the function's", em.name, em.calls)
	}
	return resp.Latency, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// memory reads the memory of the setup's extension.
func (r *runner) memory(em *emulator) (Memory, error) {
	if em.ext == "" {
		return Memory{}, errors.New("no extension")
	}
	if em.pid == 0 {
		pid, err := em.e.Process(em.ext)
		if err != nil {
			return Memory{}, fmt.Errorf("setup %s: %w", em.name, err)
		}
		em.pid = pid
	}
	m, err := ReadMemory(em.pid)
	if err != nil {
		return m, fmt.Errorf("setup %s: %w", em.name, err)
	}
	return m, nil
}

// rotate returns the setups starting at i modulo their count: each setup
// takes each position in turn.
func rotate[T any](ss []T, i int) []T {
	i %= len(ss)
	return append(append([]T{}, ss[i:]...), ss[:i]...)
}

// sizes reports the zips' and the extensions' sizes.
func sizes(o Options) ([]Size, error) {
	var out []Size
	for _, z := range o.Zips {
		fi, err := os.Stat(z)
		if err != nil {
			return nil, fmt.Errorf("layer zip: %w", err)
		}
		out = append(out, Size{Name: filepath.Base(z), Bytes: fi.Size(), Zip: true})
	}
	for _, f := range []string{filepath.Join(o.LayerDir, "extensions", "destinations"), filepath.Join(o.NoopDir, "extensions", "noop")} {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("extension executable: %w", err)
		}
		out = append(out, Size{Name: "extensions/" + filepath.Base(f), Bytes: fi.Size()})
	}
	return out, nil
}

// initTrace runs the executable with GODEBUG=inittrace=1 a few times and
// keeps the quickest run: package initialisation happens before main, so
// the arguments only need to make it exit.
func initTrace(ctx context.Context, exe string, args ...string) InitTrace {
	var best InitTrace
	for i := range 7 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cmd := exec.CommandContext(cctx, exe, args...)
		cmd.Env = []string{"GODEBUG=inittrace=1", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"}
		out, _ := cmd.CombinedOutput() // the exit status does not matter
		cancel()
		t := ParseInitTrace(string(out), 8)
		if i == 0 || t.ClockMs < best.ClockMs {
			best = t
		}
	}
	return best
}
