package trail

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// addFixtureSeeds adds to FuzzDecode the CloudTrailEvent documents of the
// fixtures' LookupEvents pages: one event in eight, and every mutating call
// on the VPN path, so the seeds hold each fixture's cause.
func addFixtureSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testenv.ModuleRoot(f), "fixtures", "*", "cloudtrail", "LookupEvents*.json"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Output struct {
				Events []struct{ EventName, ReadOnly, CloudTrailEvent string }
			}
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		for i, e := range doc.Output.Events {
			if i%8 == 0 || pathBreaking[e.EventName] {
				f.Add([]byte(e.CloudTrailEvent))
			}
		}
	}
}

// pathBreaking are calls the fixtures use as causes.
var pathBreaking = map[string]bool{
	"StopInstances": true, "TerminateInstances": true, "DisassociateAddress": true, "RevokeSecurityGroupIngress": true,
	"CreateNetworkAclEntry": true, "ReplaceNetworkAclEntry": true, "ModifyNetworkInterfaceAttribute": true, "DeleteRoute": true,
	"DeleteTransitGatewayRoute": true, "DeleteVpnConnectionRoute": true, "ModifyVpnTunnelOptions": true, "UpdateAutoScalingGroup": true,
	"SetDesiredCapacity": true,
}
