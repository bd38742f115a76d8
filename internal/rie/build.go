package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Per-process caches: `go env` and `go tool -n` cost a second or more each,
// and every test in a package asks for the same answers.
var (
	cacheMu    sync.Mutex
	moduleRoot string
	binaryPath string
)

// ModuleRoot returns the directory holding go.mod of the module the current
// directory belongs to, as reported by `go env GOMOD`.
func ModuleRoot() (string, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if moduleRoot != "" {
		return moduleRoot, nil
	}
	out, err := goCmd(context.Background(), "", nil, "env", "GOMOD")
	if err != nil {
		return "", fmt.Errorf("finding module root: %w", err)
	}
	gomod := strings.TrimSpace(out)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("finding module root: not inside a Go module (go env GOMOD is empty)")
	}
	moduleRoot = filepath.Dir(gomod)
	return moduleRoot, nil
}

// Binary returns the path of the emulator binary, building it if needed with
// `go tool -n aws-lambda-rie` (the version pinned by the tool line in go.mod).
func Binary(ctx context.Context) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if binaryPath != "" {
		return binaryPath, nil
	}
	out, err := goCmd(ctx, root, nil, "tool", "-n", "aws-lambda-rie")
	if err != nil {
		return "", fmt.Errorf("locating emulator binary aws-lambda-rie: %w", err)
	}
	p := strings.TrimSpace(out)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("locating emulator binary aws-lambda-rie: %w", err)
	}
	binaryPath = p
	return binaryPath, nil
}

// BuildLayer builds the layer's contents into dir, laid out as Lambda unzips
// a layer under /opt: extensions/destinations, destinations-wrapper and bootstrap.
func BuildLayer(ctx context.Context, dir string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	ext := filepath.Join(dir, "extensions", "destinations")
	if err := build(ctx, root, "./cmd/destinations", ext); err != nil {
		return fmt.Errorf("building layer in %s: %w", dir, err)
	}
	for _, name := range []string{"destinations-wrapper", "bootstrap"} {
		if err := copyFile(filepath.Join(root, "layer", name), filepath.Join(dir, name), 0o755); err != nil {
			return fmt.Errorf("building layer in %s: %w", dir, err)
		}
	}
	return nil
}

// BuildFunction builds the Go function package pkg (relative to the module
// root, e.g. "./sam/function") into the executable out.
func BuildFunction(ctx context.Context, pkg, out string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if err := build(ctx, root, pkg, out); err != nil {
		return fmt.Errorf("building function %s: %w", pkg, err)
	}
	return nil
}

func build(ctx context.Context, root, pkg, out string) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("output path %s: %w", out, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("output directory for %s: %w", out, err)
	}
	// Static like the real layer: Lambda's OS-only runtimes have no matching libc.
	_, err = goCmd(ctx, root, []string{"CGO_ENABLED=0"},
		"build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	return err
}

// goCmd runs the go command and returns its stdout; stderr goes into the error.
func goCmd(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	// OpenFile's mode is filtered by umask and ignored for existing files.
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}
