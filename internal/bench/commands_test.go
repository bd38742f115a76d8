package bench

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// TestReadmeCommands runs the performance commands the README shows, with
// small counts: make bench (with a baseline, so that -baseline runs too),
// make size and the in-process benchmarks.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs emulators")
	}
	if err := rie.Available(); err != nil {
		t.Skip(err)
	}
	root, err := rie.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("make", "--no-print-directory", "bench", "BENCHFLAGS=-n 5 -warmup 2 -cold 1 -growth 30 -large 2 -large-bytes 1048576 "+
		"-benchtime 1x -check=false -out= -baseline build/layer-x86_64")
	for _, want := range []string{"caller latency", "cold start", "extension memory", "sizes", "budgets"} {
		if !strings.Contains(out, want) {
			t.Errorf("make bench printed no %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+baseline\s+\d`).MatchString(out) {
		t.Errorf("make bench printed no row for the -baseline build:\n%s", out)
	}
	if out := run("make", "--no-print-directory", "size"); !strings.Contains(out, "PASS") {
		t.Errorf("make size:\n%s", out)
	}
	out = run("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-cpu", "1",
		"./agent/record", "./extension/proxy", "./agent/destination/...")
	if !strings.Contains(out, "BenchmarkBuildMarshal") || !strings.Contains(out, "BenchmarkProxyNext") {
		t.Errorf("the Go benchmarks did not run:\n%s", out)
	}
}
