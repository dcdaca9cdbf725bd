package live_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/report"
)

// Pushed down to Logs Insights against moto: StartQuery passes the
// read-only check and reaches the endpoint, GetQueryResults is polled until
// the query completes, both are recorded, and the replay of the recording
// reaches the same report. moto's Logs Insights ignores parse, filter and
// stats, so what the rows say is not checked here; the collector's tests
// check that on a fake that runs the generated queries.
func TestInsightsRecordReplayAgainstMoto(t *testing.T) {
	s := mototest.Start(t)
	s.Env(t)
	ctx := context.Background()
	sc := mototest.Seed(ctx, t, s)
	cfg, err := live.LoadConfig(ctx, live.Options{Region: s.Region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "incident")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := collect.Options{Alarm: mototest.AlarmName, Now: sc.Now, PushDown: collect.PushDownAlways}
	ev, err := collect.Collect(ctx, live.Clients(cfg, live.Options{Recorder: rec}), o)
	if err != nil {
		t.Fatalf("Collect against moto: %v\nmoto_server's output:\n%s", err, s.Output())
	}
	if err := rec.Close(sc.Region, ev.Account, sc.Now); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, c := range ev.Calls {
		calls[c.Service+":"+c.Operation] = c.Count
	}
	if calls["logs:StartQuery"] == 0 || calls["logs:GetQueryResults"] < calls["logs:StartQuery"] || calls["logs:FilterLogEvents"] != 0 {
		t.Errorf("logs calls %v: want StartQuery, each query polled, no FilterLogEvents", calls)
	}
	for _, c := range ev.Coverage {
		if c.Source == "flow-logs" {
			t.Logf("flow-logs coverage against moto: %s: %s", c.Status, c.Detail)
		}
		if c.Source == "flow-logs" && !strings.Contains(c.Detail, "aggregated by Logs Insights") {
			t.Errorf("flow-logs coverage %+v does not say it was pushed down", c)
		}
	}

	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, op := range []string{"logs/StartQuery", "logs/GetQueryResults"} {
		if !slices.Contains(b.Operations(), op) {
			t.Errorf("the bundle has no %s: %v", op, b.Operations())
		}
	}
	if len(b.Unknown) != 0 {
		t.Errorf("files the reader does not know: %v", b.Unknown)
	}
	o.Now = b.Manifest.RecordedAt
	replayed, err := collect.Collect(ctx, collect.BundleClients(b), o)
	if err != nil {
		t.Fatalf("Collect from the bundle: %v", err)
	}
	if diff := cmp.Diff(report.ToJSON(correlate.Correlate(ev)), report.ToJSON(correlate.Correlate(replayed))); diff != "" {
		t.Errorf("report of the replay differs from the live run's (-live +replay):\n%s", diff)
	}
}
