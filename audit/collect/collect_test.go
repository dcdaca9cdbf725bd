package collect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

func clients(b *bundle.Bundle) Clients {
	return BundleClients(b)
}

// The replay clients satisfy the interfaces the live SDK clients do.
var (
	_ CloudWatchAPI  = (*bundle.CloudWatch)(nil)
	_ CloudTrailAPI  = (*bundle.CloudTrail)(nil)
	_ LogsAPI        = (*bundle.Logs)(nil)
	_ EC2API         = (*bundle.EC2)(nil)
	_ STSAPI         = (*bundle.STS)(nil)
	_ AutoScalingAPI = (*bundle.AutoScaling)(nil)
)

func openBundle(t *testing.T, files map[string]string) *bundle.Bundle {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const alarmInAlarm = `{"MetricAlarms": [{"AlarmName": "VPN-Down", "Namespace": "AWS/VPN", "MetricName": "TunnelState", "Statistic": "Maximum",
	"Dimensions": [{"Name": "VpnId", "Value": "vpn-1"}], "Period": 60, "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 1,
	"ComparisonOperator": "LessThanThreshold", "StateValue": "ALARM", "StateUpdatedTimestamp": "2026-11-03T21:55:21Z",
	"StateTransitionedTimestamp": "2026-11-03T21:55:21Z",
	"StateReasonData": "{\"version\":\"1.0\",\"evaluatedDatapoints\":[{\"timestamp\":\"2026-11-03T21:54:00.000+0000\",\"value\":0.0},{\"timestamp\":\"2026-11-03T21:53:00.000+0000\",\"value\":0.0}]}"},
	{"AlarmName": "VPN-Down-Backup", "Namespace": "AWS/VPN", "MetricName": "TunnelState", "Dimensions": [{"Name": "VpnId", "Value": "vpn-2"}], "StateValue": "OK"},
	{"AlarmName": "CPU-High", "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "StateValue": "OK"}],
	"CompositeAlarms": [{"AlarmName": "Network-Composite", "AlarmRule": "ALARM(VPN-Down) OR ALARM(CPU-High)", "StateValue": "OK"}]}`

func TestAlarmErrors(t *testing.T) {
	b := openBundle(t, map[string]string{"cloudwatch/DescribeAlarms.json": alarmInAlarm})
	now := time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		alarm string
		want  string
	}{
		{"vpn-down", `alarm "vpn-down" not found; did you mean "VPN-Down", "VPN-Down-Backup"?`},
		{"Network-Composite", `alarm "Network-Composite" is a composite alarm; vpnaudit investigates metric alarms — run it on one of the alarms in its rule: ALARM(VPN-Down) OR ALARM(CPU-High)`},
		{"CPU-High", `alarm "CPU-High" watches AWS/EC2 CPUUtilization, which leads to no Site-to-Site VPN: vpnaudit follows an alarm's VpnId, TunnelIpAddress, TransitGateway or InstanceId dimension, so run it on the VPN's alarm (such as AWS/VPN TunnelState with VpnId)`},
		{"VPN-Down-Backup", `alarm "VPN-Down-Backup" was never in ALARM in the history read (it is OK now; CloudWatch keeps 30 days of alarm history), so there is nothing to investigate`},
	}
	for _, tt := range tests {
		t.Run(tt.alarm, func(t *testing.T) {
			_, err := Collect(context.Background(), clients(b), Options{Alarm: tt.alarm, Now: now})
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	var nf *AlarmNotFoundError
	_, err := Collect(context.Background(), clients(b), Options{Alarm: "nothing-like-it-at-all", Now: now})
	if !errors.As(err, &nf) || len(nf.Similar) != 0 {
		t.Errorf("error = %v, want AlarmNotFoundError without suggestions", err)
	}
}

// A bundle with nothing but the alarm still gives evidence: the episode
// comes from the alarm's StateReasonData, and every other source says what
// it lacks.
func TestOnlyTheAlarm(t *testing.T) {
	b := openBundle(t, map[string]string{"cloudwatch/DescribeAlarms.json": alarmInAlarm})
	ev, err := Collect(context.Background(), clients(b), Options{Alarm: "VPN-Down", Now: time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ep := ev.Incident.Episode
	got := []string{ep.FiredAt.Format(time.RFC3339), ep.BreachStartedAt.Format(time.RFC3339), ep.Source}
	want := []string{"2026-11-03T21:55:21Z", "2026-11-03T21:53:00Z", "DescribeAlarms StateReasonData"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("episode (-want +got):\n%s", diff)
	}
	status := map[string]string{}
	for _, c := range ev.Coverage {
		status[c.Source] = c.Status
		if c.Status != audit.CoverageOK && c.Detail == "" {
			t.Errorf("coverage %s is %s without saying why", c.Source, c.Status)
		}
	}
	wantStatus := map[string]string{"alarm": "ok", "alarm-history": "missing", "scope": "missing", "cloudtrail": "missing",
		"flow-logs": "missing", "metrics": "missing"}
	if diff := cmp.Diff(wantStatus, status); diff != "" {
		t.Errorf("coverage (-want +got):\n%s", diff)
	}
	for _, c := range ev.Coverage {
		if c.Source == "cloudtrail" && !strings.Contains(c.Detail, "the bundle has no cloudtrail/LookupEvents") {
			t.Errorf("cloudtrail coverage %q does not say what is missing", c.Detail)
		}
	}
}

func TestClockFromAlarmWhenUnrecorded(t *testing.T) {
	b := openBundle(t, map[string]string{"cloudwatch/DescribeAlarms.json": alarmInAlarm})
	ev, err := Collect(context.Background(), clients(b), Options{Alarm: "VPN-Down", After: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 3, 22, 25, 21, 0, time.UTC); !ev.CollectedAt.Equal(want) {
		t.Errorf("CollectedAt = %s, want the alarm's last update plus --after (%s)", ev.CollectedAt, want)
	}
}

func TestClosest(t *testing.T) {
	names := []string{"VPN-Down", "vpn-down-dc2", "TGW-Drops", "VPN-Tunnel1-Down", "cpu"}
	tests := []struct {
		want string
		out  []string
	}{
		{"VPN-Down", []string{"VPN-Down", "vpn-down-dc2"}},            // containment counts as close
		{"VPN-Dwon", []string{"VPN-Down"}},                            // edit distance 2 of at most 4
		{"VPN-Tunnel-Down", []string{"VPN-Tunnel1-Down", "VPN-Down"}}, // nearest first
		{"zzzz-zzzz-zzzz", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.out, closest(tt.want, names, 3)); diff != "" {
			t.Errorf("closest(%q) (-want +got):\n%s", tt.want, diff)
		}
	}
}

// When the customer gateway's Elastic IP is unassociated, the appliance
// that held it is found through the address's last AssociateAddress, and a
// terminated appliance's Auto Scaling group through its tag.
func TestFormerHolder(t *testing.T) {
	assoc := `{"EventId": "assoc-1", "EventName": "AssociateAddress", "ReadOnly": "false", "EventTime": "2026-10-01T08:00:00Z",
		"EventSource": "ec2.amazonaws.com", "CloudTrailEvent": "{\"eventVersion\":\"1.09\",\"eventTime\":\"2026-10-01T08:00:00Z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"AssociateAddress\",\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/appliance/i-app\"},\"requestParameters\":{\"allocationId\":\"eipalloc-0aaaaaaaaaaaaaaaa\",\"instanceId\":\"i-0aaaaaaaaaaaaaaa1\",\"allowReassociation\":true},\"responseElements\":{\"requestId\":\"r\",\"_return\":true,\"associationId\":\"eipassoc-0bbbbbbbbbbbbbbbb\"}}"}`
	other := strings.ReplaceAll(strings.ReplaceAll(assoc, "assoc-1", "assoc-0"), "eipalloc-0aaaaaaaaaaaaaaaa", "eipalloc-0cccccccccccccccc")
	b := openBundle(t, map[string]string{
		"cloudwatch/DescribeAlarms.json":                alarmInAlarm,
		"ec2/DescribeVpnConnections.json":               `{"VpnConnections": [{"VpnConnectionId": "vpn-1", "CustomerGatewayId": "cgw-1", "State": "available"}]}`,
		"ec2/DescribeCustomerGateways.json":             `{"CustomerGateways": [{"CustomerGatewayId": "cgw-1", "IpAddress": "54.0.0.1"}]}`,
		"ec2/DescribeAddresses.json":                    `{"Addresses": [{"AllocationId": "eipalloc-0aaaaaaaaaaaaaaaa", "PublicIp": "54.0.0.1", "Domain": "vpc"}]}`,
		"ec2/DescribeNetworkInterfaces.json":            `{"NetworkInterfaces": []}`,
		"ec2/DescribeInstances.json":                    `{"Reservations": [{"Instances": [{"InstanceId": "i-0aaaaaaaaaaaaaaa1", "State": {"Name": "terminated"}, "Tags": [{"Key": "aws:autoscaling:groupName", "Value": "vpn-appliance"}]}]}]}`,
		"autoscaling/DescribeAutoScalingInstances.json": `{"AutoScalingInstances": []}`,
		"cloudtrail/LookupEvents-history.json":          `{"Events": [` + assoc + `,` + other + `]}`,
	})
	ev, err := Collect(context.Background(), clients(b), Options{Alarm: "VPN-Down", Now: time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ ID, Type, Parent, Relation string }
	var got []row
	for _, r := range ev.Scope.Resources {
		if r.Side == audit.SideCustomer {
			got = append(got, row{r.ID, r.Type, r.Parent, r.Relation})
		}
	}
	want := []row{
		{"cgw-1", audit.TypeCustomerGW, "vpn-1", "the customer gateway of vpn-1 (IP 54.0.0.1, ASN )"},
		{"eipalloc-0aaaaaaaaaaaaaaaa", audit.TypeElasticIP, "cgw-1", "is the customer gateway's IP address 54.0.0.1"},
		{"i-0aaaaaaaaaaaaaaa1", audit.TypeInstance, "", "hosts the customer gateway (the appliance; its ENI held 54.0.0.1); held it until recently (AssociateAddress at 2026-10-01T08:00:00Z; unassociated now)"},
		{"vpn-appliance", audit.TypeAutoScaling, "i-0aaaaaaaaaaaaaaa1", "managed the appliance i-0aaaaaaaaaaaaaaa1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("customer-side scope (-want +got):\n%s", diff)
	}
	eip, _ := ev.Scope.Find("eipalloc-0aaaaaaaaaaaaaaaa")
	if eip.Attrs["association-id"] != "eipassoc-0bbbbbbbbbbbbbbbb" {
		t.Errorf("the former association is not known: %v (a DisassociateAddress names it)", eip.Attrs)
	}
}
