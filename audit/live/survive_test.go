package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/ctemu"
	"github.com/vpnaudit/vpnaudit/internal/faultproxy"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/report"
)

// trailFor writes the seeded outage's CloudTrail as a bundle for the
// emulator: the StopInstances of the appliance 20 s before its traffic
// stops, among 120 other changes and 60 reads over the window (three
// LookupEvents pages of changes).
func trailFor(t *testing.T, sc mototest.Scenario) string {
	t.Helper()
	type resource struct{ ResourceType, ResourceName string }
	type event struct {
		EventId, EventName, ReadOnly, EventTime, EventSource, Username, CloudTrailEvent string
		Resources                                                                       []resource
	}
	mk := func(id, name, ro, src string, at time.Time, req any, res []resource) event {
		raw, _ := json.Marshal(map[string]any{"eventVersion": "1.10", "eventTime": at.Format(time.RFC3339), "eventSource": src, "eventName": name,
			"awsRegion": sc.Region, "eventID": id, "readOnly": ro == "true", "eventType": "AwsApiCall", "managementEvent": true,
			"recipientAccountId": sc.Account, "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.22.0",
			"userIdentity":      map[string]string{"type": "IAMUser", "userName": "dana", "arn": "arn:aws:iam::" + sc.Account + ":user/dana", "accountId": sc.Account},
			"requestParameters": req})
		return event{EventId: id, EventName: name, ReadOnly: ro, EventTime: at.Format(time.RFC3339), EventSource: src, Username: "dana",
			CloudTrailEvent: string(raw), Resources: res}
	}
	stop := sc.Stop.Add(-20 * time.Second)
	events := []event{mk("stop-0001", "StopInstances", "false", "ec2.amazonaws.com", stop,
		map[string]any{"instancesSet": map[string]any{"items": []map[string]string{{"instanceId": sc.Instance}}}, "force": false},
		[]resource{{"AWS::EC2::Instance", sc.Instance}})}
	from, to := sc.Stop.Add(-100*time.Minute), sc.Now.Add(-time.Minute)
	for i := 0; i < 180; i++ {
		at := from.Add(to.Sub(from) * time.Duration(i) / 180).Truncate(time.Second)
		if i%3 == 2 {
			events = append(events, mk(fmt.Sprintf("read-%04d", i), "DescribeInstances", "true", "ec2.amazonaws.com", at, map[string]any{}, nil))
			continue
		}
		events = append(events, mk(fmt.Sprintf("param-%04d", i), "PutParameter", "false", "ssm.amazonaws.com", at,
			map[string]any{"name": fmt.Sprintf("/app/setting-%d", i)}, nil))
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cloudtrail"), 0o755)
	raw, _ := json.Marshal(map[string]any{"Output": map[string]any{"Events": events}})
	if err := os.WriteFile(filepath.Join(dir, "cloudtrail", "LookupEvents.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lab is the seeded outage served by moto (EC2, CloudWatch, Logs, STS)
// and the emulator (CloudTrail).
type lab struct {
	moto *mototest.Server
	emu  *ctemu.Server
	sc   mototest.Scenario
}

// alarmHistory answers moto's missing DescribeAlarmHistory with HTTP 501,
// as an emulator that lacks it should: moto's HTTP 500 would be retried
// for some 18 s by the default settings on every run, to the same end.
var alarmHistory = faultproxy.Permanent{Service: "monitoring", Operation: "DescribeAlarmHistory", Kind: faultproxy.NotImplemented}

// run collects the outage through one fault proxy in front of moto and
// one in front of the emulator, both with o (the CloudTrail one seeded
// o.Seed+1), with vpnaudit's default client settings.
func (l lab) run(t *testing.T, o faultproxy.Options) (*audit.Evidence, report.JSONReport, map[faultproxy.Kind]int) {
	t.Helper()
	mo, co := o, o
	mo.Target, co.Target, co.Seed = l.moto.URL, l.emu.URL, o.Seed+1
	mo.Permanent = append(append([]faultproxy.Permanent{}, o.Permanent...), alarmHistory)
	mp, cp := faultproxy.Start(t, mo), faultproxy.Start(t, co)
	mototest.Isolate(t, mp.URL, l.sc.Region)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cp.URL)
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
	ctx := context.Background()
	cfg, err := live.LoadConfig(ctx, live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ev, err := collect.Collect(ctx, live.Clients(cfg, live.Options{}), collect.Options{Alarm: mototest.AlarmName, Now: l.sc.Now})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	counts := map[faultproxy.Kind]int{}
	requests := 0
	for _, p := range []*faultproxy.Proxy{mp, cp} {
		for _, e := range p.Log() {
			requests++
			if e.Fault != "" && e.Fault != faultproxy.NotImplemented {
				counts[e.Fault]++
			}
		}
	}
	t.Logf("%d requests, faults %v, %s", requests, counts, time.Since(start).Round(time.Millisecond))
	return ev, report.ToJSON(correlate.Correlate(ev)), counts
}

func startLab(t *testing.T) lab {
	t.Helper()
	m := mototest.Start(t)
	m.Env(t)
	sc := mototest.Seed(context.Background(), t, m)
	return lab{moto: m, emu: ctemu.Start(t, trailFor(t, sc), ctemu.Options{}), sc: sc}
}

// With 30 % of the requests failing transiently (throttling in each
// service's shape, HTTP 500 and 503, truncated bodies) and 5 % reset, a run
// with the default settings produces the same JSON report as a fault-free
// run, API call counts included (they count the collector's calls, not
// the SDK's attempts).
func TestSurvivesTransientFaults(t *testing.T) {
	l := startLab(t)
	_, clean, _ := l.run(t, faultproxy.Options{})
	if clean.Verdict.Cause == nil || clean.Verdict.Cause.EventName != "StopInstances" {
		t.Fatalf("fault-free verdict %s (%s), want the StopInstances as the cause", clean.Verdict.Status, clean.Verdict.Summary)
	}
	rates := map[faultproxy.Kind]float64{
		faultproxy.Throttle: 0.10, faultproxy.Status500: 0.07, faultproxy.Status503: 0.07, faultproxy.Truncate: 0.06, // 30 % transient
		faultproxy.Reset: 0.05,
	}
	// A call fails for good only after 6 faults in a row (0.35^6 ≈ 0.2 %
	// of calls); bounding a call's faults to 3 keeps the comparison
	// independent of the draws. A source that does fail for good is
	// TestPermanentFailures' subject.
	_, faulty, counts := l.run(t, faultproxy.Options{Seed: 1, Rates: rates, MaxFaultsPerCall: 3})
	for k := range rates {
		if counts[k] == 0 {
			t.Errorf("no %s fault was injected (%v): the test proves nothing about it", k, counts)
		}
	}
	if diff := cmp.Diff(clean, faulty); diff != "" {
		t.Errorf("report under faults differs from the fault-free one (-clean +faulty):\n%s", diff)
	}
}

// confidenceRank orders confidences.
var confidenceRank = map[string]int{"low": 0, "medium": 1, "high": 2}

// A source that fails for good comes out missing (or, for one describe
// of the scope, partial), with the precise reason, and the confidence
// goes down — except for a network ACL the scope could not read: the cause
// (the appliance stopped, corroborated by its traffic and the tunnels) does
// not depend on it, and the confidence stays as it was.
func TestPermanentFailures(t *testing.T) {
	l := startLab(t)
	_, clean, _ := l.run(t, faultproxy.Options{})
	deny := func(service, op string) []faultproxy.Permanent {
		return []faultproxy.Permanent{{Service: service, Operation: op, Kind: faultproxy.AccessDenied}}
	}
	tests := []struct {
		name       string
		permanent  []faultproxy.Permanent
		source     string
		wantStatus string
		wantDetail string
		lower      bool // the confidence must go down (else: not up)
	}{
		{"cloudtrail access denied", deny("cloudtrail", "LookupEvents"), "cloudtrail", audit.CoverageMissing,
			"LookupEvents failed: access denied: the credentials lack cloudtrail:LookupEvents (add it to the policy in the README); changes to the path are unknown", true},
		{"cloudtrail unavailable after retries", []faultproxy.Permanent{{Service: "cloudtrail", Kind: faultproxy.Status503}}, "cloudtrail", audit.CoverageMissing,
			"LookupEvents failed: ServiceUnavailable: The request has failed due to a temporary failure of the server.; changes to the path are unknown", true},
		{"flow logs access denied", deny("logs", "FilterLogEvents"), "flow-logs", audit.CoverageMissing,
			"no flow log could be read: " + l.sc.FlowLog + " (log group " + l.sc.LogGroup + "): access denied: the credentials lack logs:FilterLogEvents (add it to the policy in the README)", true},
		{"metrics access denied", deny("monitoring", "GetMetricData"), "metrics", audit.CoverageMissing,
			"GetMetricData failed: access denied: the credentials lack cloudwatch:GetMetricData (add it to the policy in the README); only the alarm's own metric is known", true},
		{"network ACLs access denied", deny("ec2", "DescribeNetworkAcls"), "scope", audit.CoveragePartial,
			"DescribeNetworkAcls: access denied: the credentials lack ec2:DescribeNetworkAcls (add it to the policy in the README)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, _ := l.run(t, faultproxy.Options{Permanent: tt.permanent})
			var cov *report.JSONCoverage
			for i := range got.Coverage {
				if got.Coverage[i].Source == tt.source {
					cov = &got.Coverage[i]
				}
			}
			if cov == nil {
				t.Fatalf("no %s coverage in %+v", tt.source, got.Coverage)
			}
			if cov.Status != tt.wantStatus || !strings.Contains(cov.Detail, tt.wantDetail) {
				t.Errorf("%s: %s %q\nwant %s with %q", tt.source, cov.Status, cov.Detail, tt.wantStatus, tt.wantDetail)
			}
			t.Logf("%s %s; verdict %s, confidence %s (fault-free: %s)", tt.source, cov.Status, got.Verdict.Status, got.Verdict.Confidence, clean.Verdict.Confidence)
			g, c := confidenceRank[got.Verdict.Confidence], confidenceRank[clean.Verdict.Confidence]
			if tt.lower && g >= c || g > c {
				t.Errorf("confidence %s (%s), fault-free %s: want it lower=%v", got.Verdict.Confidence, got.Verdict.Summary, clean.Verdict.Confidence, tt.lower)
			}
		})
	}
}

// Pagination faults through the SDK paginators: empty pages that still
// carry a token are followed to the same report (more calls, the same
// evidence); a token that comes back ends CloudTrail's loop with the
// reason, and the pages read are used.
func TestPaginationFaultsLive(t *testing.T) {
	l := startLab(t)
	_, clean, _ := l.run(t, faultproxy.Options{})
	only := func(services ...string) func(faultproxy.Call) bool {
		return func(c faultproxy.Call) bool { return slices.Contains(services, c.Service) }
	}

	t.Run("empty pages", func(t *testing.T) {
		_, got, counts := l.run(t, faultproxy.Options{Seed: 3, Rates: map[faultproxy.Kind]float64{faultproxy.EmptyPage: 0.3},
			Only: only("cloudtrail", "logs")})
		if counts[faultproxy.EmptyPage] == 0 {
			t.Fatal("no empty page was injected")
		}
		// The page counts differ, and so does CloudTrail's coverage line
		// that counts them; nothing else may.
		pages := regexp.MustCompile(`in \d+ LookupEvents pages`)
		norm := cmp.Transformer("pages", func(c report.JSONCoverage) report.JSONCoverage {
			c.Detail = pages.ReplaceAllString(c.Detail, "in N LookupEvents pages")
			return c
		})
		if diff := cmp.Diff(clean, got, norm, cmpopts.IgnoreFields(report.JSONReport{}, "APICalls")); diff != "" {
			t.Errorf("report through empty pages (-clean +got):\n%s", diff)
		}
	})

	t.Run("repeated token", func(t *testing.T) {
		ev, got, _ := l.run(t, faultproxy.Options{Rates: map[faultproxy.Kind]float64{faultproxy.RepeatToken: 1}, Only: only("cloudtrail")})
		c := coverage(ev, "cloudtrail")
		want := "CloudTrail LookupEvents returned the pagination token it returned before (page 2): stopping; the results so far are used (100 changes read in 2 pages)"
		if c.Status != audit.CoveragePartial || c.Detail != want {
			t.Errorf("cloudtrail %s %q\nwant partial %q", c.Status, c.Detail, want)
		}
		if got.Verdict.Cause == nil || got.Verdict.Cause.EventName != "StopInstances" {
			t.Errorf("verdict %s: %s; want the StopInstances (on the first page) still found", got.Verdict.Status, got.Verdict.Summary)
		}
		t.Logf("verdict %s, confidence %s (fault-free %s)", got.Verdict.Status, got.Verdict.Confidence, clean.Verdict.Confidence)
	})
}
