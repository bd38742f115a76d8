package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The command's code stays out of the layer: the extension links awsdest,
// but none of the calls added for replaying, and nothing of the replay
// package or of the progress bar.
func TestLayerLeavesReplayOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "destinations")
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", bin, "../destinations")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, goBin, "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	const awsdest = "agent/destination/awsdest."
	forbidden := []string{
		awsdest + "OpenQueue", awsdest + "(*Queue)", awsdest + "OpenBucket", awsdest + "(*Bucket)",
		awsdest + "NewInvoker", awsdest + "(*Invoker)", awsdest + "Denied", awsdest + "Retryable",
		"lambda-destinations/replay.", "schollz/progressbar", "golang.org/x/term",
	}
	linked := 0
	for _, sym := range strings.Split(string(out), "\n") {
		if strings.Contains(sym, awsdest) {
			linked++
		}
		for _, f := range forbidden {
			if strings.Contains(sym, f) {
				t.Errorf("the extension links %s", strings.TrimSpace(sym))
			}
		}
	}
	if linked == 0 {
		t.Fatal("no awsdest symbol in the extension: the check looks for the wrong names")
	}
}
