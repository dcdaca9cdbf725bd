// Package fixturetest builds results from the bundles under fixtures/ the
// way the CLI does (open, collect, correlate), for the tests of several
// packages.
package fixturetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// Evidence collects the evidence for alarm from the bundle in dir.
func Evidence(t testing.TB, dir, alarm string) *audit.Evidence {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatalf("%v (go run ./fixtures/gen regenerates the fixtures)", err)
	}
	t.Cleanup(func() { b.Close() })
	ev, err := collect.Collect(context.Background(),
		collect.BundleClients(b),
		collect.Options{Alarm: alarm, Now: b.Manifest.RecordedAt, Region: b.Manifest.Region, Account: b.Manifest.AccountId})
	if err != nil {
		t.Fatalf("collect %s from %s: %v", alarm, filepath.Base(dir), err)
	}
	return ev
}

// Result correlates the evidence of a bundle under fixtures/.
func Result(t testing.TB, fixture, alarm string) *correlate.Result {
	t.Helper()
	return correlate.Correlate(Evidence(t, testenv.Fixture(t, fixture), alarm))
}
