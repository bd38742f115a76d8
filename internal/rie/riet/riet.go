// Package riet holds test conveniences around package rie.
package riet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// buildLimit bounds a cold build of the layer or a function.
const buildLimit = 5 * time.Minute

// StartT starts an emulator for the test and stops it in t.Cleanup, logging
// its output if the test failed. It skips the test when emulators cannot run
// on this machine (see rie.Available) and fails it when the start fails.
func StartT(t testing.TB, o rie.Options) *rie.Emulator {
	t.Helper()
	if err := rie.Available(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	e, err := rie.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", e.Output())
		}
	})
	return e
}

// FunctionT builds the Go function package pkg (e.g. "./sam/function") as
// the executable name in a temporary directory and returns its path; its
// directory is the task root.
func FunctionT(t testing.TB, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(t.Context(), buildLimit)
	defer cancel()
	if err := rie.BuildFunction(ctx, pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
}
