package sam_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The layer's files as Lambda unpacks them under /opt (DESIGN.md section 3).
var layerFiles = []string{"bootstrap", "destinations-wrapper", "extensions/destinations"}

// tmpRoot holds the builds of this test binary; removed by TestMain.
var tmpRoot string

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "sam-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// makeEnv is the environment for make: without what a make running the
// tests would pass down, and without ARCH unless extra sets it.
func makeEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARCH", "ARTIFACTS_DIR", "VERSION", "BUILD":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runMake runs make in the repository root, as sam build does in its copy.
func runMake(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = ".."
	cmd.Env = makeEnv(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// builds caches `make build-<ID>` results by target and environment, so the
// tests of this binary build each thing once.
var builds struct {
	sync.Mutex
	m map[string]*build
}

type build struct {
	once sync.Once
	dir  string
	out  string
	err  error
}

// samBuild runs `make build-<id> ARTIFACTS_DIR=<dir>` (what sam build runs)
// once per id and environment, and returns the artifacts directory.
func samBuild(t *testing.T, id string, env ...string) string {
	t.Helper()
	key := id + " " + strings.Join(env, " ")
	builds.Lock()
	if builds.m == nil {
		builds.m = map[string]*build{}
	}
	b := builds.m[key]
	if b == nil {
		b = &build{}
		builds.m[key] = b
	}
	builds.Unlock()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp(tmpRoot, id+"-"); b.err != nil {
			return
		}
		b.out, b.err = runMake(t, env, "build-"+id, "ARTIFACTS_DIR="+b.dir)
	})
	if b.err != nil {
		t.Fatalf("make build-%s %v: %v\n%s", id, env, b.err, b.out)
	}
	return b.dir
}

// files lists the regular files under dir, relative, and fails on anything
// but regular files and directories.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file", rel)
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkExecutable wants a static Linux executable for machine.
func checkExecutable(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s: machine %v, want %v", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked; Lambda's OS-only runtimes need static executables", path)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("%s: mode %v, want executable by all", path, fi.Mode())
	}
}

func checkLayerDir(t *testing.T, dir string, machine elf.Machine) {
	t.Helper()
	if got := files(t, dir); !slices.Equal(got, layerFiles) {
		t.Fatalf("layer files = %v, want exactly %v", got, layerFiles)
	}
	checkExecutable(t, filepath.Join(dir, "extensions", "destinations"), machine)
	for _, script := range []string{"bootstrap", "destinations-wrapper"} {
		want, err := os.ReadFile(filepath.Join("..", "layer", script))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, script))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from layer/%s", script, script)
		}
		if fi, _ := os.Stat(filepath.Join(dir, script)); fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", script, fi.Mode().Perm())
		}
	}
}

func TestBuildDestinationsLayer(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		machine elf.Machine
	}{
		{name: "default x86_64", machine: elf.EM_X86_64},
		{name: "ARCH=arm64", env: []string{"ARCH=arm64"}, machine: elf.EM_AARCH64},
		{name: "ARCH=amd64", env: []string{"ARCH=amd64"}, machine: elf.EM_X86_64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkLayerDir(t, samBuild(t, "DestinationsLayer", tt.env...), tt.machine)
		})
	}
	t.Run("unknown ARCH", func(t *testing.T) {
		t.Parallel()
		out, err := runMake(t, []string{"ARCH=sparc"}, "build-DestinationsLayer", "ARTIFACTS_DIR="+t.TempDir())
		if err == nil || !strings.Contains(out, "ARCH=sparc: want x86_64 or arm64") {
			t.Errorf("err = %v, output %q; want a failure naming ARCH", err, out)
		}
	})
	t.Run("no ARTIFACTS_DIR", func(t *testing.T) {
		t.Parallel()
		out, err := runMake(t, nil, "build-DestinationsLayer")
		if err == nil || !strings.Contains(out, "ARTIFACTS_DIR is not set") {
			t.Errorf("err = %v, output %q; want a failure naming ARTIFACTS_DIR", err, out)
		}
	})
}

// TestBuildFunctions checks that each Go function's build holds one
// executable, named as the function's Handler.
func TestBuildFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range []string{"SampleFunction", "ConsumerFunction"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			handler, _ := tpl.prop(id, "Handler").(string)
			dir := samBuild(t, id)
			if got := files(t, dir); !slices.Equal(got, []string{handler}) {
				t.Fatalf("files = %v, want [%s] (the Handler)", got, handler)
			}
			checkExecutable(t, filepath.Join(dir, handler), elf.EM_X86_64)
		})
	}
}

// TestRelease runs `make layer` and `make release` into a private BUILD.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension for both architectures")
	}
	t.Parallel()
	dir := t.TempDir()
	zips := []string{"layer-x86_64.zip", "layer-arm64.zip"}

	if out, err := runMake(t, nil, "layer", "BUILD="+dir); err != nil {
		t.Fatalf("make layer: %v\n%s", err, out)
	}
	for _, z := range zips {
		checkZip(t, filepath.Join(dir, z))
	}

	const version = "v0.0.0-test.1"
	if out, err := runMake(t, nil, "release", "VERSION="+version, "BUILD="+dir); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	replayZips := []string{"destinations-replay-linux-x86_64.zip", "destinations-replay-linux-arm64.zip"}
	var want strings.Builder
	for _, z := range append(zips, replayZips...) {
		if slices.Contains(replayZips, z) {
			checkZipHolds(t, filepath.Join(dir, z), []string{"destinations-replay"})
		} else {
			checkZip(t, filepath.Join(dir, z))
		}
		b, err := os.ReadFile(filepath.Join(dir, z))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&want, "%s  %s\n", hex.EncodeToString(sum[:]), z)
	}
	if string(sums) != want.String() {
		t.Errorf("SHA256SUMS =\n%s\nwant\n%s", sums, want.String())
	}

	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		t.Skipf("cannot run the linux extension on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	out, err := exec.CommandContext(t.Context(), filepath.Join(dir, "layer-"+arch, "extensions", "destinations"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("destinations --version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "destinations "+version {
		t.Errorf("destinations --version = %q, want %q", got, "destinations "+version)
	}
	out, err = exec.CommandContext(t.Context(), filepath.Join(dir, "replay-"+arch, "destinations-replay"), "--version").CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "destinations-replay "+version {
		t.Errorf("destinations-replay --version = %q (%v), want %q", got, err, "destinations-replay "+version)
	}
}

// checkZip wants the layer's files in the zip, executable.
func checkZip(t *testing.T, path string) {
	t.Helper()
	checkZipHolds(t, path, layerFiles)
}

// checkZipHolds wants exactly these files in the zip, executable.
func checkZipHolds(t *testing.T, path string, files []string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var got []string
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		got = append(got, f.Name)
		if f.Mode().Perm()&0o111 != 0o111 {
			t.Errorf("%s: %s has mode %v, want executable", path, f.Name, f.Mode())
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, files) {
		t.Errorf("%s holds %v, want %v", path, got, files)
	}
}
