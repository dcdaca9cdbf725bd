package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo whatever the machine has

	"github.com/vpnaudit/vpnaudit/internal/fixturetest"

	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tokyo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var vpnAlarm = audit.Alarm{
	Name: "VPN-Down", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:VPN-Down",
	Metric:    audit.MetricID{Namespace: "AWS/VPN", Name: "TunnelState", Dimensions: []audit.Dimension{{Name: "VpnId", Value: "vpn-0123456789abcdef0"}}, Stat: "Maximum", Period: 60},
	Threshold: 1, Comparison: "LessThanThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "missing",
	State: "ALARM", Actions: []string{"arn:aws:sns:us-east-1:123456789012:oncall"},
}

var vpnScope = []audit.Resource{
	{ID: "vpn-0123456789abcdef0", Type: audit.TypeVPN, Name: "dc-vpn", Relation: "the alarm's VpnId dimension", Via: "DescribeVpnConnections vpn-0123456789abcdef0", State: "available"},
	{ID: "34.1.1.1", Type: audit.TypeTunnel, Name: "tunnel 1", Relation: "tunnel 1 of vpn-0123456789abcdef0", Parent: "vpn-0123456789abcdef0", State: "DOWN"},
	{ID: "34.2.2.2", Type: audit.TypeTunnel, Name: "tunnel 2", Relation: "tunnel 2 of vpn-0123456789abcdef0", Parent: "vpn-0123456789abcdef0", State: "UP"},
	{ID: "cgw-0123456789abcdef0", Type: audit.TypeCustomerGW, Relation: "the customer gateway of vpn-0123456789abcdef0 (IP 198.51.100.10)", Parent: "vpn-0123456789abcdef0", State: "available"},
	{ID: "vpc-0aaaaaaaaaaaaaaa1", Type: audit.TypeVPC, Relation: "reached through the VPN", Parent: "tgw-not-in-scope"},
}

// inconclusiveResult is a breach no change explains, still going on when
// the evidence was collected, across midnight UTC.
func inconclusiveResult() *correlate.Result {
	breach, fired, collected := mustTime("2026-02-28T23:58:00Z"), mustTime("2026-03-01T00:00:40Z"), mustTime("2026-03-01T00:45:00Z")
	failed := audit.Change{EventID: "11111111-2222-3333-4444-555555555555", EventName: "ModifyVpnTunnelOptions", EventSource: "ec2.amazonaws.com",
		Time: mustTime("2026-02-28T23:41:12Z"), Region: "us-east-1", Actor: audit.Actor{Type: "IAMUser", Name: "bob", ARN: "arn:aws:iam::123456789012:user/bob"},
		SourceIP: "192.0.2.44", UserAgent: "aws-cli/2.15.0", Via: "cli", ErrorCode: "UnauthorizedOperation", ErrorMessage: "You are not authorized to perform this operation.",
		Resources: []string{"vpn-0123456789abcdef0"}, Request: `{"vpnConnectionId":"vpn-0123456789abcdef0"}`}
	ev := &audit.Evidence{
		Account: "123456789012", Region: "us-east-1", CollectedAt: collected,
		Window: audit.Window{Start: breach.Add(-2 * time.Hour), End: collected},
		Incident: audit.Incident{Alarm: vpnAlarm, Selection: "the latest OK→ALARM transition",
			Episode: audit.Episode{FiredAt: fired, BreachStartedAt: breach, BreachBasis: "first breaching datapoint the alarm evaluated (0)", Source: "DescribeAlarmHistory"}},
		Scope: audit.Scope{Resources: vpnScope, Tunnels: []audit.Tunnel{
			{VpnID: "vpn-0123456789abcdef0", OutsideIP: "34.1.1.1", InsideCIDR: "169.254.1.0/30", Status: "DOWN", StatusMessage: "IPSEC IS DOWN", LastStatusChange: breach.Add(20 * time.Second)},
			{VpnID: "vpn-0123456789abcdef0", OutsideIP: "34.2.2.2", InsideCIDR: "169.254.2.0/30", Status: "UP", AcceptedRoutes: 2},
		}},
		Changes: []audit.Change{failed},
		Traffic: audit.Traffic{FlowLogs: []audit.FlowLog{{ID: "fl-01", ResourceID: "vpc-0aaaaaaaaaaaaaaa1", TrafficType: "ALL", DestinationType: "cloud-watch-logs", LogGroup: "flows", Interval: 600, Read: true}},
			Records: 812, NoData: 3, MalformedCount: 1, Malformed: []audit.Malformed{{Where: "flows/eni-01 event 7", Reason: "12 fields, want 14"}}},
		Coverage: []audit.Coverage{
			{Source: "cloudtrail", Status: audit.CoverageOK, Detail: "1 change"},
			{Source: "flow-logs", Status: audit.CoveragePartial, Detail: "1 malformed record"},
			{Source: "metrics", Status: audit.CoverageMissing, Detail: "GetMetricData: AccessDenied"},
		},
		Calls: []audit.Call{{Service: "cloudtrail", Operation: "LookupEvents", Count: 3}, {Service: "cloudwatch", Operation: "DescribeAlarms", Count: 1},
			{Service: "cloudwatch", Operation: "GetMetricData", Count: 1}, {Service: "logs", Operation: "FilterLogEvents", Count: 4}},
	}
	return &correlate.Result{
		Evidence: ev,
		Impact:   correlate.Impact{BreachStartedAt: breach, FiredAt: fired, Duration: collected.Sub(breach), Ongoing: true, TimeToDetect: fired.Sub(breach)},
		Verdict: correlate.Verdict{Status: correlate.StatusInconclusive, Confidence: correlate.Low,
			Summary:       "No change to the VPN path in CloudTrail explains the breach. The evidence shows: IPsec traffic to 34.1.1.1 stopped at 23:57 while the appliance kept running. Look at the customer gateway itself (its IPsec daemon, its peer) and at AWS Health for the tunnel endpoints.",
			ConfidenceWhy: []string{"the only calls on the path failed", "evidence missing: metrics is missing (GetMetricData: AccessDenied)"}},
		Hypotheses: []correlate.Hypothesis{{Rank: 1, Change: failed, Score: 0, Mechanism: "changes the tunnel's options: IKE renegotiates",
			Targets: vpnScope[:1], Relation: 0, Timing: 0.61, Corroboration: 0.5,
			Why:    []string{"it touches vpn-connection vpn-0123456789abcdef0 (dc-vpn), which the alarm's VpnId dimension"},
			WhyNot: []string{"the call failed (UnauthorizedOperation: You are not authorized to perform this operation.): it shows intent, but changed nothing"}}},
		Timeline: []correlate.Entry{
			{Time: failed.Time, Kind: correlate.KindChange, Role: correlate.RoleContext, Summary: "ModifyVpnTunnelOptions on vpn-0123456789abcdef0 (dc-vpn) by bob (AWS CLI, from 192.0.2.44) — failed: UnauthorizedOperation", Resources: []string{"vpn-0123456789abcdef0"}, Source: "cloudtrail:LookupEvents", EventID: failed.EventID},
			{Time: breach.Add(-time.Minute), Kind: correlate.KindTraffic, Role: correlate.RoleEffect, Summary: "IPsec with 34.1.1.1 on eni-01 stops (egress; last records end 23:57, ±10m)", Resources: []string{"eni-01", "34.1.1.1"}, Source: "logs:FilterLogEvents flows"},
			{Time: breach, Kind: correlate.KindAlarm, Role: correlate.RoleEffect, Summary: "TunnelState < 1 begins (first breaching datapoint the alarm evaluated (0))", Source: "cloudwatch:DescribeAlarmHistory"},
			{Time: breach.Add(20 * time.Second), Kind: correlate.KindState, Role: correlate.RoleEffect, Summary: "tunnel 34.1.1.1 of vpn-0123456789abcdef0 is DOWN (IPSEC IS DOWN)", Source: "ec2:DescribeVpnConnections"},
			{Time: breach.Add(90 * time.Second), Kind: correlate.KindTraffic, Role: correlate.RoleEffect, Summary: "REJECT records appear on eni-01 (IPsec with 34.1.1.1, 14 records)", Source: "logs:FilterLogEvents flows"},
			{Time: fired, Kind: correlate.KindAlarm, Role: correlate.RoleEffect, Summary: "alarm VPN-Down goes to ALARM", Source: "cloudwatch:DescribeAlarmHistory"},
		},
		Gaps: []correlate.FlowGap{{Key: audit.FlowKey{Interface: "eni-01", Class: audit.FlowIPsec, Direction: audit.DirEgress, Peer: "34.1.1.1", Action: "ACCEPT"},
			LastSeen: breach.Add(-time.Minute), Uncertainty: 10 * time.Minute, BaselinePerMin: 2.5, FlowLog: "fl-01", LogGroup: "flows"}},
		Rejects: []correlate.RejectOnset{{Key: audit.FlowKey{Interface: "eni-01", Class: audit.FlowIPsec, Direction: audit.DirIngress, Peer: "34.1.1.1", Action: "REJECT"},
			FirstAt: breach.Add(90 * time.Second), Records: 14, LogGroup: "flows"}},
	}
}

// Hostile strings, as they could come from the evidence.
const (
	hostileUA      = "aws-cli/2.0 \x1b]8;;http://evil\x07click me\x1b]8;;\x07 \x1b[31mred\x1b[0m \x9b2J\u009b2J"
	hostileName    = "<img src=x onerror=alert(1)>|evil|"
	hostileMessage = "denied\nsee `kubectl` and ```fence``` | pipe\r\n# not a heading"
)

// hostileResult is a root cause whose evidence is full of hostile strings.
func hostileResult() *correlate.Result {
	breach, fired, recovered := mustTime("2026-05-05T10:00:00Z"), mustTime("2026-05-05T10:01:30Z"), mustTime("2026-05-05T10:20:00Z")
	inst := audit.Resource{ID: "i-0badbadbadbadbad0", Type: audit.TypeInstance, Name: hostileName, Side: audit.SideCustomer,
		Relation: "hosts the customer gateway\r\n# injected heading", Via: "DescribeInstances", Parent: "cgw-0123456789abcdef0", State: "stopped\x1b[5m"}
	scope := append(append([]audit.Resource(nil), vpnScope[:4]...), inst)
	cause := audit.Change{EventID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", EventName: "StopInstances", EventSource: "ec2.amazonaws.com",
		Time: mustTime("2026-05-05T09:59:10Z"), Region: "us-east-1",
		Actor:    audit.Actor{Type: "AssumedRole", Name: "role/*ops*_[admin](http://evil)", ARN: "arn:aws:sts::123456789012:assumed-role/ops/mallory\x1b[8m", AccountID: "123456789012"},
		SourceIP: "203.0.113.66", UserAgent: hostileUA, Via: "cli", Resources: []string{inst.ID},
		Request: `{"instancesSet":{"items":[{"instanceId":"i-0badbadbadbadbad0"}]},"note":"` + "````" + `\u001b[31m <script>alert(1)</script>","force":true}`}
	failed := audit.Change{EventID: "ffffffff-0000-1111-2222-333333333333", EventName: "DeleteVpnConnection", EventSource: "ec2.amazonaws.com",
		Time: mustTime("2026-05-05T09:50:00Z"), Actor: audit.Actor{Type: "IAMUser", Name: "eve|`x`"}, Via: "console",
		ErrorCode: "Client.UnauthorizedOperation", ErrorMessage: hostileMessage, Resources: []string{"vpn-0123456789abcdef0"}}
	ev := &audit.Evidence{
		Account: "123456789012", Region: "us-east-1", CollectedAt: mustTime("2026-05-05T11:00:00Z"),
		Window: audit.Window{Start: breach.Add(-2 * time.Hour), End: recovered.Add(30 * time.Minute)},
		Incident: audit.Incident{Alarm: audit.Alarm{Name: "VPN-Down\x1b[2J", Description: "pages *everyone* <b>now</b>\x07", Metric: vpnAlarm.Metric,
			Threshold: 1, Comparison: "LessThanThreshold", EvaluationPeriods: 1, DatapointsToAlarm: 1},
			Episode: audit.Episode{FiredAt: fired, BreachStartedAt: breach, RecoveredAt: &recovered, BreachBasis: "first breaching datapoint"}},
		Scope: audit.Scope{Resources: scope, Tunnels: []audit.Tunnel{{VpnID: "vpn-0123456789abcdef0", OutsideIP: "34.1.1.1", Status: "DOWN",
			StatusMessage: "IPSEC \x07IS\x7f DOWN | [x]", LastStatusChange: breach.Add(5 * time.Second)}}},
		Changes:  []audit.Change{failed, cause},
		Coverage: []audit.Coverage{{Source: "cloudtrail", Status: audit.CoverageOK, Detail: "2 changes \u009b31m|fake|"}},
		Calls:    []audit.Call{{Service: "ec2", Operation: "DescribeInstances\x1b[1m", Count: 1}},
	}
	summary := "StopInstances on i-0badbadbadbadbad0 (" + hostileName + ") by role/*ops*_[admin](http://evil) (AWS CLI) at 09:59:10 stops the appliance. 1. not a list\n- nor this"
	return &correlate.Result{
		Evidence: ev,
		Impact:   correlate.Impact{BreachStartedAt: breach, FiredAt: fired, RecoveredAt: &recovered, Duration: recovered.Sub(breach), TimeToDetect: fired.Sub(breach)},
		Verdict: correlate.Verdict{Status: correlate.StatusRootCause, Confidence: correlate.Medium, Summary: summary,
			Cause: &correlate.Cause{Kind: "api_call", Change: cause, Mechanism: "stops the appliance `" + hostileName + "`", Targets: []audit.Resource{inst}},
			Chain: []string{"StopInstances i-0badbadbadbadbad0 (" + hostileName + ") by role/*ops*_[admin](http://evil) at 09:59:10",
				"- i-0badbadbadbadbad0 hosts the customer gateway\n## injected", "alarm VPN-Down\x1b[2J fired at 10:01:30 (breach from 10:00)"},
			ConfidenceWhy: []string{"the traffic and metrics confirm only part of its expected effect"}},
		Hypotheses: []correlate.Hypothesis{
			{Rank: 1, Change: cause, Score: 0.6, Mechanism: "stops the appliance", Targets: []audit.Resource{inst}, Relation: 1, Timing: 1, Corroboration: 0.33,
				Why: []string{"it touches instance i-0badbadbadbadbad0 (" + hostileName + ")"}, WhyNot: []string{"no REJECT records appeared after it"}},
			{Rank: 2, Change: failed, Score: 0, Mechanism: "deletes the VPN connection", Targets: vpnScope[:1],
				WhyNot: []string{"the call failed (Client.UnauthorizedOperation: " + hostileMessage + "): it shows intent, but changed nothing"}},
		},
		Timeline: []correlate.Entry{
			{Time: failed.Time, Kind: correlate.KindChange, Role: correlate.RoleContext, Summary: "DeleteVpnConnection by eve|`x` (console) — failed: Client.UnauthorizedOperation: " + hostileMessage, Source: "cloudtrail:LookupEvents"},
			{Time: cause.Time, Kind: correlate.KindChange, Role: correlate.RoleCause, Summary: "StopInstances on i-0badbadbadbadbad0 (" + hostileName + ") by role/*ops*_[admin](http://evil) (AWS CLI, from 203.0.113.66)", Source: "cloudtrail:LookupEvents"},
			{Time: breach, Kind: correlate.KindAlarm, Role: correlate.RoleEffect, Summary: "TunnelState < 1 begins", Source: "cloudwatch:DescribeAlarms"},
			{Time: breach.Add(5 * time.Second), Kind: correlate.KindState, Role: correlate.RoleEffect, Summary: "tunnel 34.1.1.1 is DOWN (IPSEC \x07IS\x7f DOWN | [x])", Source: "ec2:DescribeVpnConnections"},
			{Time: fired, Kind: correlate.KindAlarm, Role: correlate.RoleEffect, Summary: "alarm VPN-Down\x1b[2J goes to ALARM", Source: "cloudwatch:DescribeAlarms"},
			{Time: recovered, Kind: correlate.KindAlarm, Role: correlate.RoleContext, Summary: "alarm VPN-Down\x1b[2J returns to OK", Source: "cloudwatch:DescribeAlarms"},
		},
		Shifts: []correlate.Shift{{Series: vpnAlarm.Metric, Subject: "vpn-0123456789abcdef0", Label: "TunnelState (the alarm's metric)", At: breach, Before: 1, After: 0, Direction: "drop"}},
	}
}

// results are the golden cases: the lab fixture and the hand-built ones.
func results(t *testing.T) []struct {
	name string
	r    *correlate.Result
} {
	return []struct {
		name string
		r    *correlate.Result
	}{
		{"lab-console-stop", fixtureResult(t, "lab-console-stop")},
		{"inconclusive-ongoing", inconclusiveResult()},
		{"hostile", hostileResult()},
	}
}

func TestTextGolden(t *testing.T) {
	for _, rc := range results(t) {
		for _, tc := range []struct {
			suffix string
			opt    TextOptions
		}{
			{"text-80.txt", TextOptions{Width: 80}},
			{"text-120.txt", TextOptions{Width: 120}},
			{"text-tokyo-100.txt", TextOptions{TZ: tokyo(t)}},
			{"text-color-100.ansi", TextOptions{Color: true}},
		} {
			t.Run(rc.name+"/"+tc.suffix, func(t *testing.T) {
				var b bytes.Buffer
				if err := Text(&b, rc.r, tc.opt); err != nil {
					t.Fatal(err)
				}
				golden(t, rc.name+"."+tc.suffix, b.Bytes())
			})
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// controls finds what a terminal could act on: ESC, BEL, DEL, other C0
// controls but newline, and C1 controls (raw or UTF-8 encoded).
var controls = regexp.MustCompile("[\x00-\x09\x0b-\x1f\x7f]|[\u0080-\u009f]")

func TestTextNoEscapes(t *testing.T) {
	for _, rc := range results(t) {
		for _, width := range []int{60, 80, 100, 160} {
			var b bytes.Buffer
			if err := Text(&b, rc.r, TextOptions{Width: width, TZ: tokyo(t)}); err != nil {
				t.Fatal(err)
			}
			if i := bytes.IndexByte(b.Bytes(), 0x1b); i >= 0 {
				t.Errorf("%s at width %d without colour: ESC at byte %d: %q", rc.name, width, i, b.Bytes()[max(0, i-20):min(b.Len(), i+20)])
			}
			if m := controls.Find(b.Bytes()); m != nil {
				t.Errorf("%s at width %d without colour: control character %q", rc.name, width, m)
			}
			var c bytes.Buffer
			if err := Text(&c, rc.r, TextOptions{Width: width, Color: true}); err != nil {
				t.Fatal(err)
			}
			// With colour, the only escape sequences are the report's own SGR.
			rest := sgr.ReplaceAll(c.Bytes(), nil)
			if m := controls.Find(rest); m != nil {
				t.Errorf("%s at width %d with colour: %q left once SGR sequences are removed", rc.name, width, m)
			}
		}
	}
}

// Colour must change no character of the layout.
func TestTextColorSameLayout(t *testing.T) {
	for _, rc := range results(t) {
		var plain, color bytes.Buffer
		if err := Text(&plain, rc.r, TextOptions{Width: 90}); err != nil {
			t.Fatal(err)
		}
		if err := Text(&color, rc.r, TextOptions{Width: 90, Color: true}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(plain.String(), string(sgr.ReplaceAll(color.Bytes(), nil))); diff != "" {
			t.Errorf("%s: colour output without its SGR differs from plain output (-plain +colour):\n%s", rc.name, diff)
		}
	}
}

func TestTextFitsWidth(t *testing.T) {
	for _, rc := range results(t) {
		for _, width := range []int{60, 80, 100, 120} {
			var b bytes.Buffer
			if err := Text(&b, rc.r, TextOptions{Width: width, TZ: tokyo(t)}); err != nil {
				t.Fatal(err)
			}
			for n, l := range strings.Split(b.String(), "\n") {
				if w := ansi.StringWidth(l); w > width {
					t.Errorf("%s at width %d: line %d is %d columns: %q", rc.name, width, n+1, w, l)
				}
				if strings.TrimRight(l, " ") != l {
					t.Errorf("%s at width %d: line %d has trailing spaces: %q", rc.name, width, n+1, l)
				}
			}
		}
	}
}

func TestTextHostileNeutralised(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, hostileResult(), TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"http://evil\x07", "]8;;", "[31m", "[2J", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	// What the strings say stays visible.
	for _, good := range []string{"click me", "<img src=x onerror=alert(1)>|evil|", "aws-cli/2.0"} {
		if !strings.Contains(out, good) {
			t.Errorf("output lost %q", good)
		}
	}
}

func TestTextNoResult(t *testing.T) {
	for _, r := range []*correlate.Result{nil, {}} {
		if err := Text(&bytes.Buffer{}, r, TextOptions{}); err == nil {
			t.Errorf("Text(%v) returned no error", r)
		}
	}
}

func TestScopeTree(t *testing.T) {
	res := func(id, parent string) audit.Resource { return audit.Resource{ID: id, Parent: parent} }
	type node struct{ ID, Lead, Cont string }
	tests := []struct {
		name string
		in   []audit.Resource
		want []node
	}{
		{"empty", nil, nil},
		{"chain and siblings", []audit.Resource{res("vpn", ""), res("t1", "vpn"), res("cgw", "vpn"), res("eip", "cgw"), res("t2", "vpn")},
			[]node{{"vpn", "", "│ "}, {"t1", "├─ ", "│    "}, {"cgw", "├─ ", "│  │ "}, {"eip", "│  └─ ", "│       "}, {"t2", "└─ ", "     "}}},
		{"unknown parent is a root", []audit.Resource{res("a", ""), res("b", "nowhere")},
			[]node{{"a", "", "  "}, {"b", "", "  "}}},
		{"cycle", []audit.Resource{res("a", "b"), res("b", "a")},
			[]node{{"a", "", "│ "}, {"b", "└─ ", "     "}}},
		{"cycle below a root", []audit.Resource{res("r", ""), res("a", "b"), res("b", "a")},
			[]node{{"r", "", "  "}, {"a", "", "│ "}, {"b", "└─ ", "     "}}},
		{"self parent", []audit.Resource{res("a", "a")}, []node{{"a", "", "  "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []node
			for _, n := range scopeTree(tc.in) {
				got = append(got, node{n.res.ID, n.prefix + n.branch, n.prefix + n.stem + n.down})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("scopeTree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	plain := func(ls []line) []string {
		var out []string
		for _, l := range ls {
			var b strings.Builder
			b.WriteString(l.prefix)
			for _, u := range l.units {
				b.WriteString(strings.Repeat(" ", u.gap))
				for _, s := range u.segs {
					b.WriteString(s.s)
				}
			}
			out = append(out, b.String())
		}
		return out
	}
	tests := []struct {
		name        string
		width       int
		first, rest string
		segs        []seg
		want        []string
	}{
		{"fits", 20, "", "", []seg{pl("one two")}, []string{"one two"}},
		{"wraps under a hanging indent", 12, "- ", "  ", []seg{pl("alpha beta gamma delta")}, []string{"- alpha beta", "  gamma", "  delta"}},
		{"keeps inner spacing", 30, "", "", []seg{pl("#1  1.00  Stop")}, []string{"#1  1.00  Stop"}},
		{"glues segments without a space", 30, "", "", []seg{pl("a"), pl("b"), pl(" c")}, []string{"ab c"}},
		{"drops spaces at a break", 5, "", "", []seg{pl("abc    def")}, []string{"abc", "def"}},
		{"cuts a long word at a soft break", 12, "", "", []seg{pl("arn:aws:iam::123:user/alice")}, []string{"arn:aws:iam:", ":123:user/", "alice"}},
		{"cuts a long word hard", 4, "", "", []seg{pl("abcdefghij")}, []string{"abcd", "efgh", "ij"}},
		{"sanitizes", 40, "", "", []seg{pl("a\x1b[31mb\nc")}, []string{"ab c"}},
		{"empty", 10, "> ", "", nil, []string{"> "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := plain(layout(tc.width, tc.first, tc.rest, tc.segs))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"seconds", fmtDur(45 * time.Second), "45s"},
		{"minutes", fmtDur(3 * time.Minute), "3m"},
		{"minutes and seconds", fmtDur(73 * time.Second), "1m13s"},
		{"hours", fmtDur(97*time.Minute + 10*time.Second), "1h37m"},
		{"days", fmtDur(51 * time.Hour), "2d03h"},
		{"negative", fmtDur(-90 * time.Second), "-1m30s"},
		{"small number", fmtNum(1.0333333), "1.033"},
		{"zero", fmtNum(0), "0"},
		{"thousands", fmtNum(405564.266), "405,564"},
		{"negative thousands", fmtNum(-1234567), "-1,234,567"},
		{"stamp", fmtStamp(mustTime("2026-10-14T11:33:00+09:00")), "2026-10-14 02:33:00 UTC"},
		{"clock same day", clockFrom(mustTime("2026-10-14T02:34:13Z"), mustTime("2026-10-14T02:33:00Z")), "02:34:13"},
		{"clock other day", clockFrom(mustTime("2026-10-15T00:00:01Z"), mustTime("2026-10-14T23:59:00Z")), "2026-10-15 00:00:01"},
		{"condition", alarmCondition(vpnAlarm), "AWS/VPN TunnelState{VpnId=vpn-0123456789abcdef0} Maximum/60s < 1"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// fixtureResult builds a result from a fixture bundle whose alarm is VPN-Down.
func fixtureResult(t *testing.T, name string) *correlate.Result {
	return fixturetest.Result(t, name, "VPN-Down")
}
