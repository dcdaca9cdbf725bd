package flowlog_test

// Test helpers shared by this package's tests. They are exported so that they
// can move to a shared test-support package when other packages need them.

import (
	"flag"
	"testing"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string { return testenv.ModuleRoot(t) }

// ConformanceDir returns the shared conformance corpus, ../shared/conformance
// beside the module root: skipped when missing, failed under CI=true.
func ConformanceDir(t testing.TB) string { return testenv.Shared(t, "conformance") }
