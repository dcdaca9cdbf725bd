// Package testenv holds what the tests of several packages share: where
// the module and the shared/ folder beside it are, and the rule that a
// test needing something absent skips loudly on a developer's machine and
// fails under CI=true.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, walking up from the
// package directory (the working directory of go test).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod found above the package directory")
		}
		dir = parent
	}
}

// CI reports whether the tests run under CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Require skips the test with msg, or fails it under CI=true, where
// nothing a test needs may be missing.
func Require(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatal(msg + "; CI=true requires it")
	}
	t.Skip("SKIP: " + msg)
}

// Shared returns a path inside the shared/ folder beside the repository
// (design notes, the reference bundle, the conformance corpus), which
// users' clones do not have: the test is skipped when it is absent, and
// fails under CI=true.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{ModuleRoot(t), "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Require(t, p+" not found (the shared/ folder beside the repository)")
	}
	return p
}

// Fixture returns the path of a bundle under fixtures/.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ModuleRoot(t), "fixtures", name)
	if _, err := os.Stat(filepath.Join(p, "bundle.json")); err != nil {
		t.Fatalf("fixture %s missing (run: go run ./fixtures/gen): %v", name, err)
	}
	return p
}
