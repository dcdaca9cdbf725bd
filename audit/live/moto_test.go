package live_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

// motoRun starts moto, seeds the outage and collects it live through
// vpnaudit's read-only clients (recording when rec is set).
func motoRun(t *testing.T, rec *live.Recorder) (mototest.Scenario, *audit.Evidence) {
	t.Helper()
	s := mototest.Start(t)
	s.Env(t)
	ctx := context.Background()
	sc := mototest.Seed(ctx, t, s)
	t.Logf("incident: stop %s, alarm %s, now %s", sc.Stop.Format(time.RFC3339), sc.AlarmTime.Format(time.RFC3339Nano), sc.Now.Format(time.RFC3339))
	for _, l := range sc.Lacks {
		t.Logf("moto lacks: %s", l)
	}
	cfg, err := live.LoadConfig(ctx, live.Options{Region: s.Region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	clients := live.Clients(cfg, live.Options{Recorder: rec})
	ev, err := collect.Collect(ctx, clients, collect.Options{Alarm: mototest.AlarmName, Now: sc.Now})
	if err != nil {
		t.Fatalf("Collect against moto: %v\nmoto_server's output:\n%s", err, s.Output())
	}
	return sc, ev
}

// resource is what the test checks of a scoped resource.
type resource struct {
	Type, ID, Name, Side, Parent, State string
}

func TestCollectAgainstMoto(t *testing.T) {
	sc, ev := motoRun(t, nil)

	if ev.Account != mototest.Account {
		t.Errorf("account %q, want moto's %s (GetCallerIdentity)", ev.Account, mototest.Account)
	}
	if !ev.CollectedAt.Equal(sc.Now) {
		t.Errorf("collected at %s, want the given Now %s", ev.CollectedAt, sc.Now)
	}

	t.Run("incident", func(t *testing.T) {
		a := ev.Incident.Alarm
		wantMetric := audit.MetricID{Namespace: "AWS/VPN", Name: "TunnelState", Stat: "Maximum", Period: 60,
			Dimensions: []audit.Dimension{{Name: "VpnId", Value: sc.VPN}}}
		if diff := cmp.Diff(wantMetric, a.Metric); diff != "" {
			t.Errorf("alarm metric (-want +got):\n%s", diff)
		}
		if a.Name != mototest.AlarmName || a.State != "ALARM" || a.Threshold != 1 || a.Comparison != "LessThanThreshold" || a.EvaluationPeriods != 1 {
			t.Errorf("alarm %+v", a)
		}
		ep := ev.Incident.Episode
		// moto has no DescribeAlarmHistory: the episode is the alarm's
		// current state, fired when SetAlarmState ran, its breach the
		// datapoint StateReasonData says was evaluated.
		want := audit.Episode{
			FiredAt:         sc.AlarmTime,
			BreachStartedAt: sc.Stop,
			BreachBasis:     "first breaching datapoint the alarm evaluated (value 0)",
			Evaluated:       []audit.Point{{Time: sc.Stop, Value: 0}},
			Source:          "DescribeAlarms StateReasonData",
		}
		got := ep
		got.Reason = ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("episode (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(ep.Reason, "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (") {
			t.Errorf("episode reason %q, want the StateReason set", ep.Reason)
		}
		if len(ev.Incident.Episodes) != 1 {
			t.Errorf("%d episodes, want the one from the alarm's state", len(ev.Incident.Episodes))
		}
		wantWindow := audit.Window{Start: sc.Stop.Add(-2 * time.Hour), End: sc.Now}
		if diff := cmp.Diff(wantWindow, ev.Window); diff != "" {
			t.Errorf("window: 2h before the breach to now (-want +got):\n%s", diff)
		}
	})

	t.Run("scope", func(t *testing.T) {
		const cust, aws, vpn = audit.SideCustomer, audit.SideAWS, audit.SideVPN
		want := []resource{
			{audit.TypeVPN, sc.VPN, "datacenter-vpn", vpn, "", "available"},
			{audit.TypeCustomerGW, sc.CustomerGateway, "datacenter-appliance", cust, sc.VPN, "available"},
			{audit.TypeElasticIP, sc.EIPAllocation, "appliance-eip", cust, sc.CustomerGateway, "associated"},
			{audit.TypeInterface, sc.ENI, "", cust, sc.EIPAllocation, "in-use"},
			{audit.TypeInstance, sc.Instance, "vpn-appliance", cust, sc.ENI, "stopped"},
			{audit.TypeSecurityGroup, sc.SecurityGroup, "vpn-appliance", cust, sc.ENI, ""},
			{audit.TypeSubnet, sc.DatacenterSubnet, "datacenter-appliance", cust, "", ""},
			{audit.TypeRouteTable, sc.MainRouteTable, "", cust, sc.DatacenterSubnet, ""},
			{audit.TypeNetworkACL, sc.NetworkACL, "", cust, sc.DatacenterSubnet, ""},
			{audit.TypeTGW, sc.TransitGateway, "", aws, sc.VPN, ""},
			{audit.TypeTGWAttachment, sc.VPNAttachment, "", aws, sc.TransitGateway, "available"},
			{audit.TypeTGWAttachment, sc.VPCAttachments[0], "", aws, sc.TransitGateway, "available"},
			{audit.TypeTGWAttachment, sc.VPCAttachments[1], "", aws, sc.TransitGateway, "available"},
			{audit.TypeTGWRouteTable, sc.TGWRouteTable, "", aws, "", ""},
			{audit.TypeVPC, sc.DatacenterVPC, "datacenter", cust, "", ""},
			{audit.TypeVPC, sc.WorkloadVPCs[0], "workload-a", aws, "", ""},
			{audit.TypeVPC, sc.WorkloadVPCs[1], "workload-b", aws, "", ""},
			{audit.TypeRouteTable, sc.WorkloadRouteTables[0], "", aws, sc.WorkloadVPCs[0], ""},
			{audit.TypeRouteTable, sc.WorkloadRouteTables[1], "", aws, sc.WorkloadVPCs[1], ""},
		}
		// The tunnels DescribeVpnConnections names (moto names none).
		for i, ip := range sc.TunnelIPsInAPI {
			want = append(want, resource{audit.TypeTunnel, ip, fmt.Sprintf("tunnel %d", i+1), vpn, sc.VPN, ""})
		}
		var got []resource
		for _, r := range ev.Scope.Resources {
			parent := r.Parent
			if r.Type == audit.TypeTGWRouteTable {
				// Associated with every attachment: the first one listed
				// is its parent, in moto's order.
				parent = ""
			}
			got = append(got, resource{r.Type, r.ID, r.Name, r.Side, parent, r.State})
		}
		sortResources(want)
		sortResources(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("scope (-want +got):\n%s", diff)
		}

		// How the path was found, edge by edge.
		for _, tc := range []struct{ id, relation, via string }{
			{sc.VPN, "the alarm's VpnId dimension", "DescribeVpnConnections " + sc.VPN},
			{sc.CustomerGateway, "the customer gateway of " + sc.VPN + " (IP " + sc.EIP + ", ASN 65000)", "DescribeVpnConnections CustomerGatewayId"},
			{sc.EIPAllocation, "is the customer gateway's IP address " + sc.EIP, "DescribeAddresses public-ip=" + sc.EIP},
			{sc.ENI, "holds the customer gateway's IP " + sc.EIP, "DescribeAddresses: " + sc.EIPAllocation},
			{sc.Instance, "hosts the customer gateway (the appliance; its ENI holds " + sc.EIP + ")", "DescribeInstances " + sc.Instance},
			{sc.VPNAttachment, "attaches " + sc.VPN + " to " + sc.TransitGateway, "DescribeTransitGatewayAttachments transit-gateway-id=" + sc.TransitGateway},
			{sc.MainRouteTable, "the main route table of the appliance's VPC (routes its subnet)", "DescribeRouteTables vpc-id=" + sc.DatacenterVPC + " association.main=true"},
		} {
			r, ok := ev.Scope.Find(tc.id)
			if !ok {
				continue // reported above
			}
			if r.Relation != tc.relation || r.Via != tc.via {
				t.Errorf("%s %s: relation %q via %q, want %q via %q", r.Type, r.ID, r.Relation, r.Via, tc.relation, tc.via)
			}
		}
		inst, _ := ev.Scope.Find(sc.Instance)
		eni, _ := ev.Scope.Find(sc.ENI)
		for _, r := range []audit.Resource{inst, eni} {
			if r.Attrs["source-dest-check"] != "false" || r.Attrs["private-ip"] != mototest.ApplianceIP {
				t.Errorf("%s attrs %v: want source-dest-check false, private-ip %s", r.ID, r.Attrs, mototest.ApplianceIP)
			}
		}
		if !strings.HasPrefix(inst.Attrs["state-reason"], "User initiated") {
			t.Errorf("instance state reason %q, want StopInstances' \"User initiated (…)\"", inst.Attrs["state-reason"])
		}

		wantSides := struct{ Customer, AWS, Appliances []string }{[]string{mototest.DatacenterCIDR}, mototest.WorkloadCIDRs, []string{sc.Instance}}
		gotSides := struct{ Customer, AWS, Appliances []string }{ev.Scope.CustomerSide, ev.Scope.AWSSide, ev.Scope.Appliances}
		if diff := cmp.Diff(wantSides, gotSides); diff != "" {
			t.Errorf("the two sides of the VPN (-want +got):\n%s", diff)
		}
		var tunnels []string
		for _, tun := range ev.Scope.Tunnels {
			tunnels = append(tunnels, tun.OutsideIP)
		}
		if diff := cmp.Diff(sc.TunnelIPsInAPI, tunnels); diff != "" {
			t.Errorf("tunnels: the outside IPs DescribeVpnConnections names (-want +got):\n%s", diff)
		}
	})

	t.Run("coverage", func(t *testing.T) {
		got := map[string]audit.Coverage{}
		for _, c := range ev.Coverage {
			if _, dup := got[c.Source]; dup {
				t.Errorf("coverage of %s given twice", c.Source)
			}
			got[c.Source] = c
		}
		metricsWant := fmt.Sprintf("5 of %d series have datapoints; none for AWS/EC2 StatusCheckFailed{InstanceId=%s}", 10+6*len(sc.TunnelIPsInAPI), sc.Instance)
		for _, tc := range []struct {
			source, status string
			detail         []string // substrings the detail must hold
		}{
			{"alarm", audit.CoverageOK, []string{"VPN-Down: AWS/VPN TunnelState{VpnId=" + sc.VPN + "} Maximum/60s < 1"}},
			{"alarm-history", audit.CoverageMissing, []string{"DescribeAlarmHistory failed", "DescribeAlarmHistory", "HTTP 500", "the alarm's current state is used instead"}},
			{"scope", audit.CoverageOK, []string{"1 vpn-connection", "1 instance", "3 transit-gateway-attachment"}},
			{"cloudtrail", audit.CoverageMissing, []string{"LookupEvents failed", "HTTP 500", "changes to the path are unknown"}},
			{"flow-logs", audit.CoverageOK, []string{fmt.Sprintf("%d records from 1 flow logs over 1 ENIs (%d NODATA, 0 SKIPDATA, 0 on ENIs off the path)",
				sc.TrafficRecords+sc.NoDataRecords, sc.NoDataRecords)}},
			{"metrics", audit.CoveragePartial, []string{metricsWant, "AWS/TransitGateway PacketDropCountNoRoute{TransitGateway=" + sc.TransitGateway + "}"}},
		} {
			c, ok := got[tc.source]
			if !ok {
				t.Errorf("no coverage for %s", tc.source)
				continue
			}
			delete(got, tc.source)
			if c.Status != tc.status {
				t.Errorf("%s is %s (%s), want %s", tc.source, c.Status, c.Detail, tc.status)
			}
			for _, s := range tc.detail {
				if !strings.Contains(c.Detail, s) {
					t.Errorf("%s detail %q lacks %q", tc.source, c.Detail, s)
				}
			}
		}
		for src, c := range got {
			t.Errorf("unexpected coverage %s: %s %s", src, c.Status, c.Detail)
		}
	})

	t.Run("traffic", func(t *testing.T) {
		tr := ev.Traffic
		if len(tr.FlowLogs) != 1 {
			t.Fatalf("flow logs %+v, want the datacenter VPC's", tr.FlowLogs)
		}
		wantFL := audit.FlowLog{ID: sc.FlowLog, ResourceID: sc.DatacenterVPC, TrafficType: "ALL", DestinationType: "cloud-watch-logs",
			LogGroup: sc.LogGroup, Format: mototest.LogFormat, Interval: 60, Read: true, ReadBy: "logs:FilterLogEvents"}
		if diff := cmp.Diff(wantFL, tr.FlowLogs[0]); diff != "" {
			t.Errorf("flow log (-want +got):\n%s", diff)
		}
		if tr.Records != int64(sc.TrafficRecords+sc.NoDataRecords) || tr.NoData != int64(sc.NoDataRecords) || tr.MalformedCount != 0 || tr.Unrelated != 0 {
			t.Errorf("records %d (NODATA %d, malformed %d %v, unrelated %d), want %d (NODATA %d)", tr.Records, tr.NoData,
				tr.MalformedCount, tr.Malformed, tr.Unrelated, sc.TrafficRecords+sc.NoDataRecords, sc.NoDataRecords)
		}
		// Every minute from the first record to the stop, per series.
		// Without tunnels in the scope the IPsec records are the
		// appliance's other traffic; with them, one series per tunnel
		// and direction.
		minutes := int(sc.Stop.Sub(sc.FirstRecord) / time.Minute)
		type series struct {
			Key              audit.FlowKey
			Buckets          int
			First, LastEnd   time.Time
			Records, Packets int64
		}
		eni := sc.ENI
		perMinute := int64(len(sc.TunnelIPs))
		want := []series{
			{audit.FlowKey{Interface: eni, Class: audit.FlowCrossVPN, Direction: audit.DirToAWS, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes), int64(minutes) * 40},
			{audit.FlowKey{Interface: eni, Class: audit.FlowCrossVPN, Direction: audit.DirToCustomer, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes), int64(minutes) * 38},
		}
		if len(sc.TunnelIPsInAPI) == 0 {
			want = append(want,
				series{audit.FlowKey{Interface: eni, Class: audit.FlowOther, Direction: audit.DirEgress, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes) * perMinute, int64(minutes) * perMinute * 12},
				series{audit.FlowKey{Interface: eni, Class: audit.FlowOther, Direction: audit.DirIngress, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes) * perMinute, int64(minutes) * perMinute * 11})
		}
		for _, ip := range sc.TunnelIPsInAPI {
			want = append(want,
				series{audit.FlowKey{Interface: eni, Class: audit.FlowIPsec, Direction: audit.DirEgress, Peer: ip, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes), int64(minutes) * 12},
				series{audit.FlowKey{Interface: eni, Class: audit.FlowIPsec, Direction: audit.DirIngress, Peer: ip, Action: "ACCEPT"}, minutes, sc.FirstRecord, sc.Stop, int64(minutes), int64(minutes) * 11})
		}
		var got []series
		for _, s := range tr.Series {
			g := series{Key: s.Key, Buckets: len(s.Buckets)}
			for i, b := range s.Buckets {
				if i == 0 {
					g.First = b.Start
				}
				g.LastEnd = b.LastEnd
				g.Records += b.Records
				g.Packets += b.Packets
			}
			got = append(got, g)
		}
		less := func(a, b series) bool { return fmt.Sprint(a.Key) < fmt.Sprint(b.Key) }
		sort.Slice(want, func(i, j int) bool { return less(want[i], want[j]) })
		sort.Slice(got, func(i, j int) bool { return less(got[i], got[j]) })
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("flow series (-want +got):\n%s", diff)
		}
		wantIfaces := []audit.InterfaceActivity{{Interface: eni, FlowLog: sc.FlowLog, Records: int64(sc.TrafficRecords + sc.NoDataRecords),
			First: sc.FirstRecord, Last: sc.Stop.Add(time.Duration(sc.NoDataRecords) * time.Minute),
			NoData: []audit.Window{{Start: sc.Stop, End: sc.Stop.Add(time.Duration(sc.NoDataRecords) * time.Minute)}}}}
		if diff := cmp.Diff(wantIfaces, tr.Interfaces); diff != "" {
			t.Errorf("interface activity (-want +got):\n%s", diff)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		type series struct {
			Label       string
			Points      int
			First, Last time.Time
			Up, Down    int // points at or above 1 and at 0
		}
		last := sc.LastDatapoint
		all := int(last.Sub(sc.FirstRecord)/time.Minute) + 1
		up := int(sc.Stop.Sub(sc.FirstRecord) / time.Minute)
		want := []series{
			{"TunnelState (the alarm's metric)", all, sc.FirstRecord, last, up, all - up},
			{"TunnelDataIn of " + sc.VPN, all, sc.FirstRecord, last, up, all - up},
			{"TunnelDataOut of " + sc.VPN, all, sc.FirstRecord, last, up, all - up},
			{"NetworkIn of " + sc.Instance + " (vpn-appliance)", up, sc.FirstRecord, sc.Stop.Add(-time.Minute), up, 0},
			{"NetworkOut of " + sc.Instance + " (vpn-appliance)", up, sc.FirstRecord, sc.Stop.Add(-time.Minute), up, 0},
		}
		var got []series
		for _, s := range ev.Metrics {
			g := series{Label: s.Label, Points: len(s.Points)}
			if len(s.Points) > 0 {
				g.First, g.Last = s.Points[0].Time, s.Points[len(s.Points)-1].Time
			}
			for _, p := range s.Points {
				switch {
				case p.Value >= 1:
					g.Up++
				case p.Value == 0:
					g.Down++
				}
			}
			got = append(got, g)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("metric series (-want +got):\n%s", diff)
		}
	})

	t.Run("calls", func(t *testing.T) {
		got := map[string]int{}
		for _, c := range ev.Calls {
			got[c.Service+":"+c.Operation] = c.Count
		}
		want := map[string]int{
			"sts:GetCallerIdentity":                    1,
			"cloudwatch:DescribeAlarms":                1,
			"cloudwatch:DescribeAlarmHistory":          1,
			"cloudwatch:GetMetricData":                 2, // the alarm's series, then the window's
			"cloudtrail:LookupEvents":                  1,
			"ec2:DescribeVpnConnections":               1,
			"ec2:DescribeCustomerGateways":             1,
			"ec2:DescribeAddresses":                    1,
			"ec2:DescribeNetworkInterfaces":            2, // the appliance's ENI, then the VPCs'
			"ec2:DescribeInstances":                    1,
			"autoscaling:DescribeAutoScalingInstances": 1,
			"ec2:DescribeSecurityGroups":               1,
			"ec2:DescribeSubnets":                      1,
			"ec2:DescribeRouteTables":                  3, // the subnet's (none), the VPC's main table, the workload VPCs' tables
			"ec2:DescribeNetworkAcls":                  1,
			"ec2:DescribeTransitGatewayAttachments":    1,
			"ec2:DescribeVpcs":                         1,
			"ec2:DescribeFlowLogs":                     1,
			"logs:DescribeLogGroups":                   1, // the volume estimate of push-down auto
			"logs:FilterLogEvents":                     1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("API calls (-want +got):\n%s", diff)
		}
	})

	t.Run("verdict", func(t *testing.T) {
		r := correlate.Correlate(ev)
		v := r.Verdict
		if v.Status != correlate.StatusInconclusive || v.Cause != nil {
			t.Fatalf("verdict %s (cause %+v), want inconclusive without CloudTrail: %s", v.Status, v.Cause, v.Summary)
		}
		if len(r.Hypotheses) != 0 {
			t.Errorf("hypotheses %+v, want none without changes", r.Hypotheses)
		}
		stop := sc.Stop.Format("15:04")
		for _, want := range []string{
			"CloudTrail could not be read, so no change can be named as the cause.",
			"The evidence shows: traffic across the VPN stopped at " + stop,
			"TunnelState (the alarm's metric) fell to 0 at " + stop,
		} {
			if !strings.Contains(v.Summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, v.Summary)
			}
		}
		if len(v.ConfidenceWhy) == 0 || !strings.Contains(strings.Join(v.ConfidenceWhy, "\n"), "cloudtrail is missing") {
			t.Errorf("confidence reasons %q, want the missing CloudTrail named", v.ConfidenceWhy)
		}
	})
}

func sortResources(rs []resource) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Type != rs[j].Type {
			return rs[i].Type < rs[j].Type
		}
		return rs[i].ID < rs[j].ID
	})
}
