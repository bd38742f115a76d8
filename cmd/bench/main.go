// Command bench measures what the layer costs a function under the Lambda
// Runtime Interface Emulator, beside the same function alone and with a
// do-nothing extension, prints the tables and the budgets, and writes the
// same as JSON (build/bench.json) for comparison between commits.
// `make bench` runs it after `make layer`; it exits with status 1 when a
// budget is not kept.
//
//	go run ./cmd/bench [-n 500] [-cold 10] [-growth 10000] [-large 20] [-backlog 2000] [-out build/bench.json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/bench"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

func main() {
	d := bench.Defaults
	o := bench.Options{}
	flag.IntVar(&o.Invocations, "n", d.Invocations, "sequential 1 KB invocations per setup")
	flag.IntVar(&o.Warmup, "warmup", d.Warmup, "invocations per setup before measuring")
	flag.IntVar(&o.ColdStarts, "cold", d.ColdStarts, "cold starts per setup")
	flag.IntVar(&o.Growth, "growth", d.Growth, "invocations of the layer before the memory growth check")
	flag.IntVar(&o.Large, "large", d.Large, "invocations with a large response per setup")
	flag.IntVar(&o.LargeBytes, "large-bytes", d.LargeBytes, "size of the large response")
	flag.IntVar(&o.Backlog, "backlog", d.Backlog, "invocations of the backlog setup, faster than its webhook")
	flag.IntVar(&o.BacklogBytes, "backlog-bytes", d.BacklogBytes, "size of the responses of the backlog setup")
	flag.DurationVar(&o.BacklogDelay, "backlog-delay", d.BacklogDelay, "the backlog webhook's time per record")
	flag.IntVar(&o.ManagedCalls, "managed-calls", d.ManagedCalls, "calls per round and setup under Lambda Managed Instances")
	flag.IntVar(&o.ManagedRounds, "managed-rounds", d.ManagedRounds, "rounds per setup under Lambda Managed Instances")
	managedWorkers := flag.String("managed-workers", joinInts(d.ManagedWorkers), "comma-separated numbers of workers under Lambda Managed Instances; empty: skip that part")
	flag.StringVar(&o.BaselineDir, "baseline", "", "another build of the layer (a directory as make layer writes, e.g. from another commit) measured beside it")
	layer := flag.String("layer", "", "layer directory to measure (default: build/layer-ARCH for this machine, built by make layer, else built now)")
	zips := flag.String("zips", "build/layer-x86_64.zip,build/layer-arm64.zip", "comma-separated layer zips whose sizes are checked")
	out := flag.String("out", "build/bench.json", "JSON report (the previous one is compared with first); empty: none")
	benchtime := flag.String("benchtime", "300ms", "-benchtime of the Go benchmarks; empty: skip them")
	check := flag.Bool("check", true, "exit with status 1 when a budget is not kept")
	flag.Parse()
	o.Progress = os.Stderr
	var err error
	if o.ManagedWorkers, err = parseInts(*managedWorkers); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -managed-workers:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, *layer, *zips, *benchtime)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *out != "" {
		if prev, err := load(*out); err == nil {
			_ = rep.WriteComparison(os.Stdout, prev)
		}
		if err := save(*out, rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Println("\nwritten to", *out)
	}
	if failed := rep.Failed(); *check && len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d budget(s) not kept\n", len(failed))
		os.Exit(1)
	}
}

func run(ctx context.Context, o bench.Options, layer, zips, benchtime string) (*bench.Report, error) {
	root, err := rie.ModuleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if layer == "" {
		layer = filepath.Join(root, "build", "layer-"+map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH])
		if _, err := os.Stat(filepath.Join(layer, "extensions", "destinations")); err != nil {
			fmt.Fprintln(os.Stderr, "no layer in", layer, "(run make layer): building one")
			layer = filepath.Join(tmp, "layer")
			if err := rie.BuildLayer(bctx, layer); err != nil {
				return nil, err
			}
		}
	}
	o.LayerDir = layer
	o.NoopDir = filepath.Join(tmp, "noop")
	o.Function = filepath.Join(tmp, "task", "function")
	if err := bench.BuildNoopLayer(bctx, o.NoopDir); err != nil {
		return nil, err
	}
	o.RelayDir = filepath.Join(tmp, "relay")
	if err := bench.BuildRelayLayer(bctx, o.RelayDir); err != nil {
		return nil, err
	}
	if err := rie.BuildFunction(bctx, "./sam/function", o.Function); err != nil {
		return nil, err
	}
	for _, z := range strings.Split(zips, ",") {
		if z = strings.TrimSpace(z); z != "" {
			if !filepath.IsAbs(z) {
				z = filepath.Join(root, z)
			}
			o.Zips = append(o.Zips, z)
		}
	}

	rep, err := bench.Run(ctx, o)
	if err != nil {
		return nil, err
	}
	rep.Commit = commit(root)
	if benchtime != "" {
		fmt.Fprintln(os.Stderr, "Go benchmarks")
		rep.Go, err = bench.RunGoBench(ctx, root, benchtime, bench.GoTargets)
		if err != nil {
			rep.GoError = err.Error()
		}
		rep.Evaluate()
	}
	return rep, nil
}

func commit(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func load(path string) (*bench.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r bench.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

func save(path string, r *bench.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return errors.Join(fmt.Errorf("writing %s", path), err)
	}
	return nil
}

// parseInts reads a comma-separated list of whole numbers above 0.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a number of workers", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
