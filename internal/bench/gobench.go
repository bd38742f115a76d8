package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// GoTarget is a set of Go benchmarks of one package.
type GoTarget struct {
	Package string // e.g. ./agent/record
	Pattern string // -bench regexp
}

// GoTargets are the in-process benchmarks `make bench` reports.
var GoTargets = []GoTarget{
	{"./agent/record", "BenchmarkBuildMarshal1KB"},
	{"./extension/proxy", "."},
	{"./agent/destination/stdout", "."},
	{"./agent/destination/webhook", "."},
	{"./agent/destination/awsdest", "BenchmarkBuild"},
}

// RunGoBench runs the targets' benchmarks on one core (-cpu 1) in the module
// at dir, each for benchtime, and parses the results. A package whose
// benchmarks fail is reported in the error; the others' results are kept.
func RunGoBench(ctx context.Context, dir, benchtime string, targets []GoTarget) ([]GoBench, error) {
	var out []GoBench
	var errs []error
	for _, t := range targets {
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", t.Pattern, "-benchmem",
			"-benchtime", benchtime, "-cpu", "1", "-count", "1", t.Package)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		out = append(out, ParseGoBench(stdout.String())...)
		if err != nil {
			msg := strings.TrimSpace(stderr.String() + "\n" + lastLines(stdout.String(), 5))
			errs = append(errs, fmt.Errorf("go test -bench %s %s: %w: %s", t.Pattern, t.Package, err, msg))
		}
	}
	return out, errors.Join(errs...)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
