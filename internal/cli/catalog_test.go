package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
	"github.com/vpnaudit/vpnaudit/report"
)

// catalogCase is one scenario of the catalog of ways a VPN path breaks.
// The expectations are the scenario's facts (fixtures/README.md), written
// with the fixture, not read off vpnaudit's output.
type catalogCase struct {
	fixture string
	alarm   string
	args    []string
	want    verdict
	// decoys are EventIds that must not be the cause.
	decoys []string
	// effects are fragments that must each appear in an effect entry of
	// the timeline before the alarm fired.
	effects []string
	// coverage are sources whose status is asserted.
	coverage map[string]string
}

var catalog = []catalogCase{
	{fixture: "lab-console-stop", alarm: "VPN-Down",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "8f131e9a-bd9b-464d-98cc-d7230f5d6a10", CauseName: "StopInstances"},
		decoys:  []string{"41ea80bf-9632-4802-835f-72eef959a9e9", "2714dba4-66e4-40e9-bda8-99a9a481f35b", "ae582512-2ea1-4390-879c-10465258fdd6"},
		effects: []string{"IPsec with", "TunnelState of tunnel", "reports NODATA"}},
	{fixture: "sg-revoke-ike", alarm: "dub2-vpn-tunnelstate",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "c71b5a24-5ab8-49d2-a42b-84362be544dc", CauseName: "RevokeSecurityGroupIngress"},
		decoys:  []string{"7ace58b6-c685-48d7-8154-ac789c4589c6"},
		effects: []string{"REJECT records appear"}},
	{fixture: "denied-then-stop", alarm: "cmh1-vpn-degraded",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "3fa8462b-4824-4791-96fc-0d5944b33018", CauseName: "StopInstances"},
		decoys:  []string{"e2971f42-94b4-4a8e-8eee-ba0407b45eeb"},
		effects: []string{"IPsec with"}},
	{fixture: "asg-scale-to-zero", alarm: "ARN1 VPN tunnels",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "01f09ffa-df84-40d9-ac77-347e9cce97f3", CauseName: "UpdateAutoScalingGroup"},
		decoys:  []string{"01a5dbbc-fbc1-4eee-a74c-28341d79ffe6", "df73b3f2-6386-4b63-b5d9-1739b4125f14", "eea02eb6-4eb9-4fe5-8028-116322ccb787"},
		effects: []string{"TerminateInstances"}},
	{fixture: "eip-disassociated", alarm: "pdx3-colo-vpn-down",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "dd60a1c2-f84d-4f55-87fe-d0e9153f3855", CauseName: "DisassociateAddress"},
		decoys:  []string{"3dab92a1-f6f2-4d19-aed1-4f2d1ef57b93", "c0446d83-ae78-4238-9bd7-a4d0c43e7e88"},
		effects: []string{"TunnelState"}},
	{fixture: "no-api-cause", alarm: "syd1-dc-link/TunnelState",
		want:    verdict{Status: "inconclusive", Confidence: "medium"},
		decoys:  []string{"a536dbcf-5147-4aa0-8d18-27dfeb3fa94a"},
		effects: []string{"IPsec with"}},
	{fixture: "fired-twice", alarm: "tyo2-dc-vpn", args: []string{"--at", "2026-11-20 10:15:22 +0900"},
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "abe6b118-b982-424e-a172-b1b836a0ca56", CauseName: "RebootInstances"},
		decoys: []string{"2b8041cb-6189-413a-a785-7f312d6a75b3", "c3b3ce0b-3ea5-413b-94a0-16e9b5cf5a75"}},
	{fixture: "fired-twice", alarm: "tyo2-dc-vpn", args: []string{"--at", "2026-11-20 10:16 Asia/Tokyo"},
		want: verdict{Status: "root_cause", Confidence: "high", CauseEvent: "abe6b118-b982-424e-a172-b1b836a0ca56", CauseName: "RebootInstances"}},
	{fixture: "fired-twice", alarm: "tyo2-dc-vpn", // the latest by default
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "c3b3ce0b-3ea5-413b-94a0-16e9b5cf5a75", CauseName: "StopInstances"},
		decoys: []string{"abe6b118-b982-424e-a172-b1b836a0ca56", "14969e6a-0576-4cae-a2e9-d9f48f53f408"}},
	{fixture: "tgw-route-deleted", alarm: "fra4-onprem-no-traffic-to-dc",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "01631fe5-113e-4e77-87a9-411b5f1f8280", CauseName: "DeleteTransitGatewayRoute"},
		decoys:  []string{"85ce53d8-fdbf-4c06-ada4-c33024410f03"},
		effects: []string{"traffic across the VPN", "PacketDropCountNoRoute"}},
	{fixture: "tunnel1-options", alarm: "sea2-primary-tunnel1-down", args: []string{"--lookback", "3h"},
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "1587a02b-1993-42f3-ad6d-1b705c424fd5", CauseName: "ModifyVpnTunnelOptions"},
		decoys:  []string{"ebfedf62-d702-476a-b6c3-9e6fb6d12cde"},
		effects: []string{"TunnelState"}},
	{fixture: "nacl-deny", alarm: "lhr3-vpn-tunnels-down",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "adda1c45-af11-479d-9bbb-33cad9388ece", CauseName: "ReplaceNetworkAclEntry"},
		decoys:  []string{"457de499-eee9-461a-bcb7-4c087b74d0ce"},
		effects: []string{"REJECT records appear"}},
	{fixture: "srcdst-check", alarm: "cle1-vpn-traffic-from-dc",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "53b4b0ec-43ec-46bb-bcea-da3fd40aaf50", CauseName: "ModifyInstanceAttribute"},
		decoys:  []string{"c9f48c2a-4f9a-414c-9531-e0c61537a6af"},
		effects: []string{"traffic across the VPN"}},
	{fixture: "vpc-route-removed", alarm: "got1-dc-inbound-volume-low",
		want:    verdict{Status: "root_cause", Confidence: "high", CauseEvent: "b81dce01-e926-44f4-9e5c-728d4e149442", CauseName: "DeleteRoute"},
		decoys:  []string{"07bfbebf-132e-47ec-90da-b240ff25bba4"},
		effects: []string{"traffic across the VPN"}},
	{fixture: "vpn-static-route-removed", alarm: "branch-static-no-return-traffic",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "c575d1e4-0da6-4593-ad15-53c9e9697581", CauseName: "DeleteVpnConnectionRoute"},
		decoys: []string{"4734ebaf-6d7c-4859-a284-9fda35243f05"}},
	{fixture: "stop-cli", alarm: "cork1-vpn-state",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "8960556f-8b17-4004-a050-931bc21782e1", CauseName: "StopInstances"},
		decoys: []string{"c2cdc205-bae7-4b8f-9673-2a805243ddd9"}},
	{fixture: "stop-scheduler-lambda", alarm: "MEL2 VPN down",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "c40255e4-fd4c-4ce6-a3f6-fac14eaf27ac", CauseName: "StopInstances"},
		decoys: []string{"46c05b4a-2f8b-42a6-bd5c-21d9bb3d5ca9"}},
	{fixture: "stop-root", alarm: "dfw2-core-tunnelstate",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "e4dab660-f844-4eda-9a54-c15fb827ea00", CauseName: "StopInstances"},
		decoys: []string{"168e097c-b40f-4f4b-a2c0-78146e6b4c3f"}},
	{fixture: "custom-format-600s", alarm: "osa1-dc-tunnels",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "aaca325f-b735-48fd-a774-f8cc8556cbde", CauseName: "StopInstances"},
		decoys: []string{"824597c7-001c-419c-b2d2-5182aa7af040"}},
	{fixture: "hostile-strings", alarm: "yul1 VPN 'dc' down #netops",
		want:   verdict{Status: "root_cause", Confidence: "high", CauseEvent: "094dc055-4bf1-44f7-bf67-24163412e7af", CauseName: "StopInstances"},
		decoys: []string{"065ffeea-a690-4bf9-8c08-5789e97a7fd8", "97cd5877-6c93-48b1-bf61-2fb8c2cd8a0f"}},
	// With a source missing the cause survives, with lower confidence, and
	// the coverage says what was missing.
	{fixture: "no-flow-logs", alarm: "osl1-link-down",
		want:     verdict{Status: "root_cause", Confidence: "medium", CauseEvent: "2dc78c00-a7d7-47da-9998-633d4f5b8c2c", CauseName: "StopInstances"},
		decoys:   []string{"db98dcb8-11e8-4234-9be6-ed728377006c"},
		coverage: map[string]string{"flow-logs": "missing"}},
	{fixture: "alarm-metric-only", alarm: "sjc1-dc-vpn",
		want:     verdict{Status: "root_cause", Confidence: "medium", CauseEvent: "560482d8-88d6-49b7-a9b6-678469758611", CauseName: "StopInstances"},
		decoys:   []string{"875f8d25-9a14-48e5-9d50-589219e806c8"},
		coverage: map[string]string{"metrics": "partial"}},
}

func TestCatalog(t *testing.T) {
	for _, c := range catalog {
		name := c.fixture
		if len(c.args) > 0 {
			name += " " + strings.Join(c.args, " ")
		}
		t.Run(name, func(t *testing.T) {
			r := run(t, nil, append([]string{"why", "--alarm", c.alarm, "--from", testenv.Fixture(t, c.fixture), "--format", "json"}, c.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var rep report.JSONReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			got := verdict{Status: rep.Verdict.Status, Confidence: rep.Verdict.Confidence}
			if cause := rep.Verdict.Cause; cause != nil {
				got.CauseEvent, got.CauseName = cause.EventID, cause.EventName
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s\nsummary: %s\nconfidence: %v", diff, rep.Verdict.Summary, rep.Verdict.ConfidenceWhy)
			}
			roles := map[string]string{}
			for _, e := range rep.Timeline {
				if e.EventID != "" {
					roles[e.EventID] = e.Role
				}
			}
			if c.want.CauseEvent != "" && roles[c.want.CauseEvent] != "cause" {
				t.Errorf("the cause %s is not in the timeline as the cause (role %q)", c.want.CauseEvent, roles[c.want.CauseEvent])
			}
			for _, d := range c.decoys {
				if roles[d] == "cause" {
					t.Errorf("decoy %s is in the timeline as the cause", d)
				}
			}
			for source, want := range c.coverage {
				got := ""
				for _, cv := range rep.Coverage {
					if cv.Source == source {
						got = cv.Status
					}
				}
				if got != want {
					t.Errorf("coverage of %s is %q, want %q", source, got, want)
				}
			}
			for _, frag := range c.effects {
				found := false
				for _, e := range rep.Timeline {
					if e.Role == "effect" && e.Time <= rep.Alarm.FiredAt && strings.Contains(e.Summary, frag) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no effect before the alarm mentions %q", frag)
				}
			}
		})
	}
}
