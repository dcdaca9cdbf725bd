package flowlog_test

// Test helpers shared by this package's tests. They are exported so that they
// can move to a shared test-support package when other packages need them.

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

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

// ConformanceDir returns the shared conformance corpus, ../shared/conformance
// beside the module root. If it is missing the test is skipped, unless the
// environment has CI=true: then a missing corpus fails the test, so CI cannot
// pass without running the conformance tests.
func ConformanceDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "..", "shared", "conformance")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		msg := "conformance corpus not found at " + dir + " (the shared/ folder beside the repository)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true requires it")
		}
		t.Skip(msg + "; skipping")
	}
	return dir
}
