package correlate

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
)

var t0 = time.Date(2026, 11, 3, 21, 0, 0, 0, time.UTC)

func min(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// world builds evidence for a VPN whose appliance i-app (ENI eni-app,
// Elastic IP 54.0.0.1) connects to tunnels 52.1.1.1 and 52.2.2.2; the breach
// starts at minute breach and the alarm fires two minutes later.
type world struct {
	ev *audit.Evidence
}

func newWorld(breach int) *world {
	ev := &audit.Evidence{
		CollectedAt: min(120),
		Window:      audit.Window{Start: min(0), End: min(120)},
		Incident: audit.Incident{
			Alarm: audit.Alarm{Name: "VPN-Down", Metric: audit.MetricID{Namespace: "AWS/VPN", Name: "TunnelState", Stat: "Maximum", Period: 60,
				Dimensions: []audit.Dimension{{Name: "VpnId", Value: "vpn-1"}}}, Threshold: 1, Comparison: "LessThanThreshold"},
			Episode: audit.Episode{BreachStartedAt: min(breach), FiredAt: min(breach + 2).Add(13 * time.Second), Source: "DescribeAlarmHistory"},
		},
		Scope: audit.Scope{
			Resources: []audit.Resource{
				{ID: "vpn-1", Type: audit.TypeVPN, Side: audit.SideVPN, Relation: "the alarm's VpnId dimension"},
				{ID: "cgw-1", Type: audit.TypeCustomerGW, Side: audit.SideCustomer, Parent: "vpn-1", Relation: "the customer gateway of vpn-1"},
				{ID: "eipalloc-1", Type: audit.TypeElasticIP, Side: audit.SideCustomer, Parent: "cgw-1", Relation: "is the customer gateway's IP address 54.0.0.1",
					Attrs: map[string]string{"public-ip": "54.0.0.1", "association-id": "eipassoc-1"}},
				{ID: "eni-app", Type: audit.TypeInterface, Side: audit.SideCustomer, Parent: "eipalloc-1", Relation: "holds the customer gateway's IP 54.0.0.1"},
				{ID: "i-app", Type: audit.TypeInstance, Name: "strongswan", Side: audit.SideCustomer, Parent: "eni-app", State: "running",
					Relation: "hosts the customer gateway"},
				{ID: "sg-app", Type: audit.TypeSecurityGroup, Side: audit.SideCustomer, Parent: "eni-app", Relation: "guards the appliance's ENI"},
			},
			Tunnels:             []audit.Tunnel{{VpnID: "vpn-1", OutsideIP: "52.1.1.1"}, {VpnID: "vpn-1", OutsideIP: "52.2.2.2"}},
			Appliances:          []string{"i-app"},
			ApplianceInterfaces: []audit.Interface{{ID: "eni-app", Addresses: []string{"192.168.1.10"}}},
		},
		Coverage: []audit.Coverage{{Source: "cloudtrail", Status: audit.CoverageOK}, {Source: "flow-logs", Status: audit.CoverageOK}, {Source: "metrics", Status: audit.CoverageOK}},
	}
	return &world{ev: ev}
}

// ipsecUntil adds IPsec flows to both tunnels every minute up to (not
// including) minute stop, and from resume on when resume > 0.
func (w *world) ipsecUntil(stop, resume int) *world {
	for _, peer := range []string{"52.1.1.1", "52.2.2.2"} {
		for _, dir := range []string{audit.DirEgress, audit.DirIngress} {
			s := audit.FlowSeries{Key: audit.FlowKey{Interface: "eni-app", Class: audit.FlowIPsec, Direction: dir, Peer: peer, Action: "ACCEPT"}}
			for m := 0; m < 120; m++ {
				if m < stop || resume > 0 && m >= resume {
					s.Buckets = append(s.Buckets, audit.FlowBucket{Start: min(m), Records: 1, Packets: 10, Bytes: 1000})
				}
			}
			w.ev.Traffic.Series = append(w.ev.Traffic.Series, s)
		}
	}
	w.ev.Traffic.Interfaces = []audit.InterfaceActivity{{Interface: "eni-app", FlowLog: "fl-1", Records: 400}}
	w.ev.Traffic.FlowLogs = []audit.FlowLog{{ID: "fl-1", LogGroup: "flows", Interval: 60, Read: true}}
	return w
}

// otherTraffic keeps the appliance's other traffic flowing all along: it
// is alive.
func (w *world) otherTraffic() *world {
	s := audit.FlowSeries{Key: audit.FlowKey{Interface: "eni-app", Class: audit.FlowOther, Direction: audit.DirEgress, Action: "ACCEPT"}}
	for m := 0; m < 120; m++ {
		s.Buckets = append(s.Buckets, audit.FlowBucket{Start: min(m), Records: 1})
	}
	w.ev.Traffic.Series = append(w.ev.Traffic.Series, s)
	return w
}

// tunnelState adds TunnelState per tunnel: 1 until minute down.
func (w *world) tunnelState(down int) *world {
	for _, ip := range []string{"52.1.1.1", "52.2.2.2"} {
		s := audit.Series{ID: audit.MetricID{Namespace: "AWS/VPN", Name: "TunnelState", Stat: "Maximum", Period: 60,
			Dimensions: []audit.Dimension{{Name: "TunnelIpAddress", Value: ip}}}, Subject: ip, Label: "TunnelState of tunnel " + ip}
		for m := 0; m < 120; m++ {
			v := 1.0
			if m >= down {
				v = 0
			}
			s.Points = append(s.Points, audit.Point{Time: min(m), Value: v})
		}
		w.ev.Metrics = append(w.ev.Metrics, s)
	}
	return w
}

func (w *world) change(c audit.Change) *world {
	if c.Actor.Name == "" {
		c.Actor = audit.Actor{Type: "IAMUser", Name: "dana"}
	}
	if c.EventSource == "" {
		c.EventSource = "ec2.amazonaws.com"
	}
	w.ev.Changes = append(w.ev.Changes, c)
	return w
}

func (w *world) coverage(source, status string) *world {
	for i := range w.ev.Coverage {
		if w.ev.Coverage[i].Source == source {
			w.ev.Coverage[i].Status = status
			w.ev.Coverage[i].Detail = "test"
		}
	}
	return w
}

func stop(id string, at time.Time, on ...string) audit.Change {
	return audit.Change{EventID: id, EventName: "StopInstances", Time: at, Resources: on, Request: `{"instancesSet":{"items":[{"instanceId":"i-app"}]}}`}
}

// verdictOf is what the tests compare: the verdict and the ranking.
type verdictOf struct {
	Status, Confidence string
	Cause              string
	Ranking            []string
}

func summarize(r *Result) verdictOf {
	v := verdictOf{Status: r.Verdict.Status, Confidence: r.Verdict.Confidence}
	if r.Verdict.Cause != nil {
		v.Cause = r.Verdict.Cause.Change.EventID
	}
	for _, h := range r.Hypotheses {
		v.Ranking = append(v.Ranking, h.Change.EventID)
	}
	return v
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name string
		w    *world
		want verdictOf
	}{
		{
			name: "appliance stopped: the call is the cause, with high confidence",
			w: newWorld(33).ipsecUntil(33, 0).tunnelState(33).
				change(stop("stop", min(32).Add(7*time.Second), "i-app")),
			want: verdictOf{Status: StatusRootCause, Confidence: High, Cause: "stop", Ranking: []string{"stop"}},
		},
		{
			name: "a denied stop before the real one is intent, not the cause",
			w: newWorld(33).ipsecUntil(33, 0).tunnelState(33).
				change(audit.Change{EventID: "denied", EventName: "StopInstances", Time: min(28), Resources: []string{"i-app"}, ErrorCode: "Client.UnauthorizedOperation"}).
				change(stop("stop", min(32), "i-app")),
			want: verdictOf{Status: StatusRootCause, Confidence: High, Cause: "stop", Ranking: []string{"stop", "denied"}},
		},
		{
			name: "only a tag change on the path before an IPsec stop: inconclusive",
			w: newWorld(33).ipsecUntil(33, 0).tunnelState(33).otherTraffic().
				change(audit.Change{EventID: "tags", EventName: "CreateTags", Time: min(31), Resources: []string{"cgw-1"}}),
			want: verdictOf{Status: StatusInconclusive, Confidence: Medium, Ranking: []string{"tags"}},
		},
		{
			name: "a change after the breach began cannot be the cause",
			w: newWorld(33).ipsecUntil(33, 0).tunnelState(33).otherTraffic().
				change(stop("late", min(40), "i-app")),
			want: verdictOf{Status: StatusInconclusive, Confidence: Medium, Ranking: []string{"late"}},
		},
		{
			name: "the nearest change loses to the one that breaks the path",
			w: newWorld(33).ipsecUntil(33, 0).tunnelState(33).
				change(audit.Change{EventID: "sg-open", EventName: "AuthorizeSecurityGroupIngress", Time: min(10), Resources: []string{"sg-app"}}).
				change(audit.Change{EventID: "sg-close", EventName: "RevokeSecurityGroupIngress", Time: min(30), Resources: []string{"sg-app"},
					Request: `{"groupId":"sg-app","ipPermissions":{"items":[{"ipProtocol":"udp","fromPort":4500,"toPort":4500}]}}`}).
				change(audit.Change{EventID: "tag", EventName: "CreateTags", Time: min(32).Add(30 * time.Second), Resources: []string{"sg-app"}}),
			want: verdictOf{Status: StatusRootCause, Confidence: High, Cause: "sg-close", Ranking: []string{"sg-close", "tag", "sg-open"}},
		},
		{
			name: "no flow logs and no metrics: the cause stands with lower confidence",
			w: newWorld(33).coverage("flow-logs", audit.CoverageMissing).coverage("metrics", audit.CoverageMissing).
				change(stop("stop", min(32), "i-app")),
			want: verdictOf{Status: StatusRootCause, Confidence: Medium, Cause: "stop", Ranking: []string{"stop"}},
		},
		{
			name: "CloudTrail unreadable: nothing can be named",
			w:    newWorld(33).ipsecUntil(33, 0).tunnelState(33).coverage("cloudtrail", audit.CoverageMissing),
			want: verdictOf{Status: StatusInconclusive, Confidence: Low},
		},
		{
			name: "the traffic stopped before the call: it did not cause it",
			w: newWorld(33).ipsecUntil(20, 0).tunnelState(21).otherTraffic().
				change(audit.Change{EventID: "reboot", EventName: "RebootInstances", Time: min(31), Resources: []string{"i-app"}}),
			want: verdictOf{Status: StatusInconclusive, Confidence: Medium, Ranking: []string{"reboot"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Correlate(tt.w.ev)
			if diff := cmp.Diff(tt.want, summarize(r)); diff != "" {
				t.Errorf("verdict (-want +got):\n%s\nsummary: %s\nhypotheses: %+v", diff, r.Verdict.Summary, r.Hypotheses)
			}
		})
	}
}

func TestAutoScalingActsForAPerson(t *testing.T) {
	w := newWorld(33).ipsecUntil(33, 0).tunnelState(33)
	w.ev.Scope.Resources = append(w.ev.Scope.Resources, audit.Resource{ID: "asg-vpn", Type: audit.TypeAutoScaling, Side: audit.SideCustomer,
		Parent: "i-app", Relation: "manages the appliance i-app", Attrs: map[string]string{"instance": "i-app"}})
	w.change(audit.Change{EventID: "update", EventName: "UpdateAutoScalingGroup", EventSource: "autoscaling.amazonaws.com", Time: min(25),
		Resources: []string{"asg-vpn"}, Request: `{"autoScalingGroupName":"asg-vpn","desiredCapacity":0,"minSize":0}`})
	w.change(audit.Change{EventID: "terminate", EventName: "TerminateInstances", Time: min(31), Resources: []string{"i-app"}, Via: "aws-service",
		Actor: audit.Actor{Type: "AWSService", Name: "autoscaling.amazonaws.com"}})
	r := Correlate(w.ev)
	if diff := cmp.Diff(verdictOf{Status: StatusRootCause, Confidence: High, Cause: "update", Ranking: []string{"update", "terminate"}}, summarize(r)); diff != "" {
		t.Fatalf("verdict (-want +got):\n%s\n%+v", diff, r.Hypotheses)
	}
	if got := r.Verdict.Cause.Effects; len(got) != 1 || got[0].EventID != "terminate" {
		t.Errorf("cause effects = %+v, want the Auto Scaling termination", got)
	}
	roles := map[string]string{}
	for _, e := range r.Timeline {
		if e.EventID != "" {
			roles[e.EventID] = e.Role
		}
	}
	if diff := cmp.Diff(map[string]string{"update": RoleCause, "terminate": RoleEffect}, roles); diff != "" {
		t.Errorf("timeline roles (-want +got):\n%s", diff)
	}
}

func TestExplanations(t *testing.T) {
	w := newWorld(33).ipsecUntil(33, 0).tunnelState(33).
		change(stop("stop", min(32).Add(7*time.Second), "i-app")).
		change(audit.Change{EventID: "denied", EventName: "StopInstances", Time: min(28), Resources: []string{"i-app"}, ErrorCode: "AccessDenied", ErrorMessage: "not allowed"})
	r := Correlate(w.ev)
	top := r.Hypotheses[0]
	wantWhy := []string{
		"it touches instance i-app (strongswan) on the path (hosts the customer gateway)",
		"it stops the appliance that hosts the customer gateway: IKE and IPsec to both tunnel endpoints stop",
		"it came 53s before the breach began (21:33)",
		"IPsec traffic between the appliance and the tunnel endpoints stopped at 21:33:00 (±1m), 53s after the call: eni-app egress 52.1.1.1, eni-app egress 52.2.2.2, eni-app ingress 52.1.1.1, eni-app ingress 52.2.2.2",
		"no traffic at all crossed the appliance's ENI after 21:33",
		"TunnelState of tunnel 52.1.1.1 fell from 1 to 0 at 21:33",
	}
	if diff := cmp.Diff(wantWhy, top.Why); diff != "" {
		t.Errorf("why (-want +got):\n%s", diff)
	}
	if got := r.Hypotheses[1].WhyNot[0]; got != "the call failed (AccessDenied: not allowed): it shows intent, but changed nothing" {
		t.Errorf("failed call's first why_not = %q", got)
	}
	wantChain := []string{
		"StopInstances i-app (strongswan) by dana at 21:32:07",
		"i-app (strongswan) hosts the customer gateway",
		"IPsec to both tunnel endpoints (52.1.1.1, 52.2.2.2) stops 21:33",
		"TunnelState 0 21:33",
		"alarm VPN-Down fired at 21:35:13 (breach from 21:33)",
	}
	if diff := cmp.Diff(wantChain, r.Verdict.Chain); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
}

func TestInconclusiveSaysWhatTheEvidenceShows(t *testing.T) {
	w := newWorld(33).ipsecUntil(31, 0).tunnelState(32).otherTraffic().
		change(audit.Change{EventID: "tags", EventName: "CreateTags", Time: min(30), Resources: []string{"cgw-1"}})
	r := Correlate(w.ev)
	for _, want := range []string{
		"No change to the VPN path in CloudTrail explains the breach.",
		"IPsec traffic to both tunnel endpoints (52.1.1.1, 52.2.2.2) stopped at 21:31 while the appliance kept running",
		"TunnelState of tunnel 52.1.1.1 fell to 0 at 21:32",
		"CreateTags at 21:30:00",
	} {
		if !strings.Contains(r.Verdict.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.Verdict.Summary)
		}
	}
}

func TestDeterministic(t *testing.T) {
	build := func() *Result {
		return Correlate(newWorld(33).ipsecUntil(33, 60).tunnelState(33).otherTraffic().
			change(stop("stop", min(32), "i-app")).
			change(audit.Change{EventID: "start", EventName: "StartInstances", Time: min(58), Resources: []string{"i-app"}}).ev)
	}
	a, b := build(), build()
	if diff := cmp.Diff(a.Timeline, b.Timeline); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
}
