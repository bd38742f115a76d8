// Package layer_test holds the layer's size budget: each zip `make layer`
// writes, with every destination the extension supports, stays under
// MaxZipBytes. Lambda unzips layers before the first invocation, and the
// extension's executable is read from disk at every cold start.
package layer_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// MaxZipBytes is the budget of each layer zip: 4 MiB.
const MaxZipBytes = 4 << 20

// TestLayerZipSize builds each layer zip as `make layer` does (the
// Makefile's own layer-dir recipe, then internal/mkzip) and checks its size.
func TestLayerZipSize(t *testing.T) {
	root, err := rie.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"x86_64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			tmp := t.TempDir()
			dir, zip := filepath.Join(tmp, "layer"), filepath.Join(tmp, "layer-"+arch+".zip")
			if err := layerDir(ctx, t, root, arch, dir); err != nil {
				t.Fatal(err)
			}
			run(ctx, t, root, nil, "go", "run", "./internal/mkzip", zip, dir)
			zi, err := os.Stat(zip)
			if err != nil {
				t.Fatal(err)
			}
			ext, err := os.Stat(filepath.Join(dir, "extensions", "destinations"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("layer-%s.zip: %d bytes (%.2f MiB, budget %.2f MiB); extensions/destinations: %d bytes",
				arch, zi.Size(), mib(zi.Size()), mib(MaxZipBytes), ext.Size())
			if zi.Size() > MaxZipBytes {
				t.Errorf("layer-%s.zip is %d bytes (%.2f MiB), over its budget of %d bytes (%.2f MiB): "+
					"see what the extension links with `go version -m` and `go tool nm -size -sort size`",
					arch, zi.Size(), mib(zi.Size()), MaxZipBytes, mib(MaxZipBytes))
			}
		})
	}
}

// layerDir fills dir as `make layer` does, through the Makefile's layer-dir
// recipe when make is here, else with the same go build flags.
func layerDir(ctx context.Context, t *testing.T, root, arch, dir string) error {
	if _, err := exec.LookPath("make"); err == nil {
		run(ctx, t, root, nil, "make", "--no-print-directory", "-s", "layer-dir", "ARCH="+arch, "DIR="+dir)
		return nil
	}
	t.Log("no make here: building with the Makefile's flags")
	goarch := map[string]string{"x86_64": "amd64", "arm64": "arm64"}[arch]
	run(ctx, t, root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch},
		"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(dir, "extensions", "destinations"), "./cmd/destinations")
	for _, name := range []string{"destinations-wrapper", "bootstrap"} {
		b, err := os.ReadFile(filepath.Join(root, "layer", name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// The test binary may run with the race detector (CGO_ENABLED=1); the
	// layer is built as it ships.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
