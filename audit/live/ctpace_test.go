package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/ctemu"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// busyTrail copies the lab-console-stop fixture into a new bundle and adds
// writes mutating events and reads read-only ones, spread over the
// investigation's window: a busy account's CloudTrail.
func busyTrail(t testing.TB, writes, reads int) string {
	t.Helper()
	src := testenv.Fixture(t, "lab-console-stop")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	span := 140 * time.Minute
	type event struct {
		EventId, EventName, ReadOnly, EventTime, EventSource, Username, CloudTrailEvent string
		Resources                                                                       []map[string]string
	}
	var events []event
	for i := 0; i < writes+reads; i++ {
		name, ro, src := "PutParameter", "false", "ssm.amazonaws.com"
		if i >= writes {
			name, ro, src = "DescribeInstances", "true", "ec2.amazonaws.com"
		}
		at := start.Add(span * time.Duration(i) / time.Duration(writes+reads))
		id := fmt.Sprintf("busy-%06d", i)
		raw, _ := json.Marshal(map[string]any{"eventVersion": "1.08", "eventTime": at.Format(time.RFC3339), "eventSource": src, "eventName": name,
			"awsRegion": "eu-central-1", "eventID": id, "readOnly": ro == "true", "eventType": "AwsApiCall", "managementEvent": true,
			"userIdentity":      map[string]string{"type": "AssumedRole", "arn": "arn:aws:sts::444455556666:assumed-role/ci/deploy"},
			"requestParameters": map[string]string{"name": fmt.Sprintf("/app/param-%d", i)}})
		events = append(events, event{EventId: id, EventName: name, ReadOnly: ro, EventTime: at.Format(time.RFC3339), EventSource: src,
			Username: "deploy", CloudTrailEvent: string(raw), Resources: []map[string]string{}})
	}
	raw, _ := json.Marshal(map[string]any{"Output": map[string]any{"Events": events}})
	if err := os.WriteFile(filepath.Join(dst, "cloudtrail", "LookupEvents-busy.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// minPages is the fewest LookupEvents pages the collector's lookup
// (ReadOnly=false over the window) can take: its events in pages of 50.
func minPages(t testing.TB, b *bundle.Bundle, w audit.Window) (events, pages int) {
	t.Helper()
	p := cloudtrail.NewLookupEventsPaginator(b.CloudTrail(), &cloudtrail.LookupEventsInput{StartTime: aws.Time(w.Start), EndTime: aws.Time(w.End),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")}}})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		events += len(out.Events)
	}
	return events, max(1, (events+ctemu.MaxPageSize-1)/ctemu.MaxPageSize)
}

// sequence orders calls across the emulator and the bundle clients.
type sequence struct {
	n    atomic.Int64
	mu   sync.Mutex
	last map[string]int64 // source → the sequence number of its last call
}

func (s *sequence) mark(source string) {
	v := s.n.Add(1)
	s.mu.Lock()
	s.last[source] = v
	s.mu.Unlock()
}

func (s *sequence) get(source string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[source]
}

type seqMetrics struct {
	*bundle.CloudWatch
	s *sequence
}

func (c seqMetrics) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, o ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	defer c.s.mark("metrics")
	return c.CloudWatch.GetMetricData(ctx, in, o...)
}

type seqLogs struct {
	*bundle.Logs
	s *sequence
}

func (c seqLogs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	defer c.s.mark("flow-logs")
	return c.Logs.FilterLogEvents(ctx, in, o...)
}

// ctRun is one collection whose CloudTrail is the live SDK client
// (vpnaudit's default retries, o's pacing) against the emulator over dir,
// and everything else the bundle's replay, marked in seq.
type ctRun struct {
	ev        *audit.Evidence
	wall      time.Duration
	requests  int // LookupEvents requests the emulator received
	throttled int // of which it refused for the rate
	min       int // the fewest pages the lookup can take
	needed    int // the events the lookup must return
}

func collectAgainstEmulator(t testing.TB, dir string, o live.Options, seq *sequence) ctRun {
	t.Helper()
	emuOpts := ctemu.Options{}
	if seq != nil {
		emuOpts.OnRequest = func(ctemu.Request) { seq.mark("cloudtrail") }
	}
	emu := ctemu.Start(t, dir, emuOpts)
	mototest.Isolate(t, emu.URL, mototest.Region)
	t.Setenv("AWS_MAX_ATTEMPTS", "") // vpnaudit's defaults
	t.Setenv("AWS_RETRY_MODE", "")
	cfg, err := live.LoadConfig(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := collect.Clients{CloudWatch: b.CloudWatch(), CloudTrail: live.Clients(cfg, o).CloudTrail, Logs: b.Logs(), EC2: b.EC2(), STS: b.STS(), AutoScaling: b.AutoScaling()}
	if seq != nil {
		c.CloudWatch, c.Logs = seqMetrics{b.CloudWatch(), seq}, seqLogs{b.Logs(), seq}
	}
	start := time.Now()
	ev, err := collect.Collect(context.Background(), c, collect.Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt})
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	emu.Close() // waits for its handlers: every request is counted and marked
	r := ctRun{ev: ev, wall: wall, requests: emu.Requests(), throttled: emu.Throttled()}
	r.needed, r.min = minPages(t, b, ev.Window)
	return r
}

func coverage(ev *audit.Evidence, source string) audit.Coverage {
	for _, c := range ev.Coverage {
		if c.Source == source {
			return c
		}
	}
	return audit.Coverage{}
}

// Against CloudTrail's quota (2 requests/s, 50 events a page), the paced
// client reads a busy trail in the fewest pages, is never throttled, and
// every other source is fetched while CloudTrail pages: their last calls
// come before CloudTrail's last page. (The wall time against calls/2 s is
// measured by BenchmarkCloudTrailPaging.)
func TestCloudTrailPacedAgainstQuota(t *testing.T) {
	dir := busyTrail(t, 400, 800)
	seq := &sequence{last: map[string]int64{}}
	r := collectAgainstEmulator(t, dir, live.Options{}, seq)
	t.Logf("%d events in %d requests (fewest pages %d), %d throttled, %s", r.needed, r.requests, r.min, r.throttled, r.wall.Round(time.Millisecond))
	calls := 0
	for _, c := range r.ev.Calls {
		if c.Service == "cloudtrail" && c.Operation == "LookupEvents" {
			calls = c.Count
		}
	}
	// Both the collector's calls and the requests on the wire (which would
	// count retries) are within 1.1 × the fewest pages.
	if limit := float64(r.min) * 1.1; float64(calls) > limit || float64(r.requests) > limit {
		t.Errorf("%d LookupEvents calls, %d requests, want at most 1.1 × %d pages", calls, r.requests, r.min)
	}
	if r.throttled != 0 {
		t.Errorf("%d requests throttled, want none", r.throttled)
	}
	if c := coverage(r.ev, "cloudtrail"); c.Status != audit.CoverageOK {
		t.Errorf("cloudtrail %s: %s", c.Status, c.Detail)
	}
	if len(r.ev.Changes) < r.needed {
		t.Errorf("%d changes, want the %d write events", len(r.ev.Changes), r.needed)
	}
	for _, src := range []string{"metrics", "flow-logs"} {
		if last, ct := seq.get(src), seq.get("cloudtrail"); last == 0 || last > ct {
			t.Errorf("%s's last call is #%d, CloudTrail's last page #%d: want %s fetched while CloudTrail pages", src, last, ct, src)
		}
	}
}

// BenchmarkCloudTrailPaging measures the collector's LookupEvents paging
// against the emulator enforcing the quota: requests against the fewest
// pages, throttles, and wall time against requests/2 s — with the client's
// pacer (the default) and without it (the SDK's adaptive retry mode only).
// VPNAUDIT_BENCH_BUNDLE adds a bundle of fixtures/biggen's.
//
//	go test ./audit/live -run '^$' -bench CloudTrailPaging -benchtime 1x
//	go run ./fixtures/biggen -out /var/tmp/big-4h -scale 0.5 -hours 4
//	VPNAUDIT_BENCH_BUNDLE=/var/tmp/big-4h go test ./audit/live -run '^$' -bench CloudTrailPaging/biggen -benchtime 1x
func BenchmarkCloudTrailPaging(b *testing.B) {
	type bundleSize struct {
		name          string
		writes, reads int
		dir           string
	}
	sizes := []bundleSize{{name: "fixture"}, {name: "busy-1000", writes: 1000, reads: 2000}}
	if dir := os.Getenv("VPNAUDIT_BENCH_BUNDLE"); dir != "" {
		sizes = append(sizes, bundleSize{name: "biggen", dir: dir})
	}
	for _, size := range sizes {
		for _, pace := range []struct {
			name string
			rate float64
		}{{"paced", 0}, {"unpaced", -1}} {
			b.Run(size.name+"/"+pace.name, func(b *testing.B) {
				dir := testenv.Fixture(b, "lab-console-stop")
				switch {
				case size.dir != "":
					dir = size.dir
				case size.writes+size.reads > 0:
					dir = busyTrail(b, size.writes, size.reads)
				}
				var reqs, throttled, minP int
				var wall time.Duration
				for i := 0; i < b.N; i++ {
					r := collectAgainstEmulator(b, dir, live.Options{CloudTrailRate: pace.rate}, nil)
					if c := coverage(r.ev, "cloudtrail"); c.Status != audit.CoverageOK {
						b.Errorf("cloudtrail %s: %s", c.Status, c.Detail)
					}
					reqs, throttled, minP, wall = reqs+r.requests, throttled+r.throttled, minP+r.min, wall+r.wall
				}
				n := float64(b.N)
				b.ReportMetric(float64(reqs)/n, "calls")
				b.ReportMetric(float64(minP)/n, "min-pages")
				b.ReportMetric(float64(throttled)/n, "throttles")
				b.ReportMetric(wall.Seconds()/(float64(reqs)/2), "wall/(calls/2s)")
			})
		}
	}
}
