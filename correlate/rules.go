package correlate

import (
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// Expected effects of a mechanism, checked against the traffic and metric
// findings.
type effect int

const (
	effIPsecStops      effect = iota // IPsec between the appliance and the tunnel endpoints stops
	effApplianceSilent               // the appliance's ENI reports NODATA / its metrics stop
	effTunnelsDown                   // TunnelState drops, telemetry goes DOWN
	effCrossStops                    // traffic across the VPN stops
	effRejects                       // REJECT records appear
	effNoRouteDrops                  // Transit Gateway no-route / blackhole drops rise
)

// rule says what a kind of API call does to the resource types it can
// target on the path.
type rule struct {
	// targets are the scoped resource types the call must touch.
	targets []string
	// breaking is the prior that the call, on such a target, breaks the
	// path: 1 it does by its nature, about 0.5 it may depending on its
	// parameters, near 0 it cannot (tags, additive rules).
	breaking  float64
	mechanism string
	effects   []effect
	// lag is the typical time from the call to its visible effect on the
	// tunnels (instance shutdown, IKE dead-peer detection, rekey).
	lag time.Duration
}

// causeClass groups calls for recommendations.
func causeClass(c audit.Change) string {
	switch c.EventName {
	case "StopInstances", "TerminateInstances", "RebootInstances":
		return "appliance-stopped"
	case "ModifyInstanceAttribute", "ModifyNetworkInterfaceAttribute", "DetachNetworkInterface", "DeleteNetworkInterface", "SendCommand", "StartSession", "StartAutomationExecution":
		return "appliance-changed"
	case "DisassociateAddress", "ReleaseAddress", "AssociateAddress":
		return "address"
	case "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules", "DeleteSecurityGroup":
		return "security-group"
	case "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry", "ReplaceNetworkAclAssociation", "DeleteNetworkAcl", "CreateNetworkAclEntry":
		return "network-acl"
	case "DeleteRoute", "ReplaceRoute", "ReplaceRouteTableAssociation", "DisassociateRouteTable", "DeleteRouteTable", "CreateRoute":
		return "route"
	case "DeleteTransitGatewayRoute", "ReplaceTransitGatewayRoute", "DisassociateTransitGatewayRouteTable",
		"DisableTransitGatewayRouteTablePropagation", "DeleteTransitGatewayRouteTable", "DeleteTransitGatewayVpcAttachment", "CreateTransitGatewayRoute":
		return "tgw-route"
	case "ModifyVpnTunnelOptions", "ModifyVpnConnection", "ModifyVpnConnectionOptions", "ModifyVpnTunnelCertificate", "ReplaceVpnTunnel",
		"DeleteVpnConnection", "DeleteCustomerGateway", "DetachVpnGateway", "DeleteVpnGateway", "DeleteVpnConnectionRoute":
		return "vpn"
	case "UpdateAutoScalingGroup", "SetDesiredCapacity", "DeleteAutoScalingGroup", "TerminateInstanceInAutoScalingGroup":
		return "autoscaling"
	}
	return "other"
}

// recommendations are the follow-ups a postmortem lists for a class of
// cause ("" when there is none).
var recommendations = map[string][]string{
	"appliance-stopped": {
		"Protect the customer-gateway appliance from being stopped or terminated by accident: enable stop and termination protection (DisableApiStop, DisableApiTermination) and deny ec2:StopInstances/TerminateInstances on it with an SCP or a tag-based IAM condition, except for a break-glass role.",
		"Exclude the appliance from instance schedulers and bulk stop scripts (tag it and filter on the tag).",
		"Run two appliances, one per tunnel, so that losing one host leaves a tunnel up.",
	},
	"appliance-changed": {
		"Put changes to the appliance (attributes, interfaces, commands run on it) through change review, and alert on them with an EventBridge rule on its instance ID.",
		"Enforce the appliance's required settings (source/destination check off) with AWS Config or a guard in the baseline automation that changed it.",
	},
	"address": {
		"Never let automation disassociate or release the customer gateway's Elastic IP: deny ec2:DisassociateAddress and ec2:ReleaseAddress on its allocation for everyone but a break-glass role, and tag it as critical.",
		"Make infrastructure code that manages the address plan-reviewed; a Terraform plan that disassociates it should fail a policy check.",
	},
	"security-group": {
		"Keep the rules that admit IKE (UDP 500) and NAT-T (UDP 4500) from the tunnel endpoints in a dedicated security group owned by the network team, and alert on any change to it.",
		"Check security-group changes against the VPN's tunnel endpoints before applying them.",
	},
	"network-acl": {
		"Review network ACL changes on the appliance's subnet against the VPN's tunnel endpoints (UDP 500/4500 both ways, ephemeral ports for return traffic), and alert on changes to that ACL.",
	},
	"route": {
		"Put route-table changes in the VPCs behind the VPN through change review, and alert when a route to the datacenter prefixes is deleted or replaced.",
		"Add a synthetic check across the VPN from each VPC, so a lost route shows within minutes.",
	},
	"tgw-route": {
		"Alert on Transit Gateway route changes for the datacenter prefixes, and prefer propagated routes from the VPN attachment over static ones.",
		"Alarm on the Transit Gateway's PacketDropCountNoRoute as well as on the tunnels: a missing route leaves the tunnels up.",
	},
	"vpn": {
		"Change VPN tunnel options one tunnel at a time, verify the customer gateway accepts them, and only then change the other tunnel.",
		"Keep the VPN's configuration (tunnel options, static routes) in reviewed infrastructure code.",
	},
	"autoscaling": {
		"Give the appliance's Auto Scaling group a minimum of 1 and protect it with a scale-in protection or an SCP on UpdateAutoScalingGroup for that group.",
		"Alert when the group's desired capacity drops to 0.",
	},
	"other": {
		"Review the call that caused the outage and add an alert or a guardrail for it on the VPN's path.",
	},
	"": {
		"No API call explains the outage: look at the customer gateway itself (the IPsec daemon's logs, its peer, its OS), at AWS Health for the tunnel endpoints, and enable VPN tunnel logging to CloudWatch Logs so the next outage shows IKE's own reasons.",
		"Alarm on each tunnel separately and on TunnelDataIn/Out, not only on the VPN's TunnelState.",
	},
}

// classify returns the rule for a change against what it touches. It
// refines the prior from the request parameters where they decide (a
// security group rule that covers IKE, a desired capacity of 0).
func classify(c audit.Change) (rule, bool) {
	req := strings.ToLower(c.Request)
	switch c.EventName {
	case "StopInstances", "TerminateInstances":
		verb := "stops"
		if c.EventName == "TerminateInstances" {
			verb = "terminates"
		}
		return rule{[]string{audit.TypeInstance}, 1, verb + " the appliance that hosts the customer gateway: IKE and IPsec to both tunnel endpoints stop",
			[]effect{effIPsecStops, effApplianceSilent, effTunnelsDown}, 3 * time.Minute}, true
	case "RebootInstances":
		// A reboot takes the IPsec daemon down for a minute or so: usually
		// shorter than a flow log's aggregation interval, so neither a gap
		// nor NODATA need show; the tunnels drop and come back.
		return rule{[]string{audit.TypeInstance}, 0.9, "reboots the appliance: the tunnels drop until its IPsec daemon is back",
			[]effect{effTunnelsDown}, 3 * time.Minute}, true
	case "ModifyInstanceAttribute", "ModifyNetworkInterfaceAttribute":
		switch {
		case strings.Contains(req, "sourcedestcheck"):
			r := rule{[]string{audit.TypeInstance, audit.TypeInterface}, 0.9, "changes source/destination checking on the appliance: with it enabled the appliance drops the traffic it forwards between the VPN and the customer network",
				[]effect{effCrossStops}, 2 * time.Minute}
			if strings.Contains(req, `"value":false`) || strings.Contains(req, `"sourcedestcheck":false`) {
				r.breaking, r.mechanism = 0.1, "disables source/destination checking on the appliance (what a router needs): it cannot block traffic"
			}
			return r, true
		case strings.Contains(req, "groupset") || strings.Contains(req, "groups"):
			return rule{[]string{audit.TypeInstance, audit.TypeInterface}, 0.7, "replaces the appliance's security groups: IKE/NAT-T may no longer be allowed",
				[]effect{effIPsecStops, effRejects, effTunnelsDown}, 5 * time.Minute}, true
		}
		return rule{[]string{audit.TypeInstance, audit.TypeInterface}, 0.3, "modifies an attribute of the appliance", []effect{effIPsecStops}, 5 * time.Minute}, true
	case "DisassociateAddress", "ReleaseAddress":
		return rule{[]string{audit.TypeElasticIP}, 1, "removes the customer gateway's public IP from the appliance: the tunnel endpoints' IKE and NAT-T packets no longer reach it",
			[]effect{effIPsecStops, effTunnelsDown}, 3 * time.Minute}, true
	case "AssociateAddress":
		return rule{[]string{audit.TypeElasticIP}, 0.8, "moves the customer gateway's public IP: IPsec follows the address to another interface",
			[]effect{effIPsecStops, effTunnelsDown}, 3 * time.Minute}, true
	case "DetachNetworkInterface", "DeleteNetworkInterface":
		return rule{[]string{audit.TypeInterface}, 1, "removes the appliance's network interface that holds the customer gateway's IP",
			[]effect{effIPsecStops, effApplianceSilent, effTunnelsDown}, 3 * time.Minute}, true
	case "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules", "DeleteSecurityGroup":
		r := rule{[]string{audit.TypeSecurityGroup}, 0.4, "removes or changes a rule of the appliance's security group",
			[]effect{effIPsecStops, effRejects, effTunnelsDown}, 5 * time.Minute}
		if coversIKE(req) {
			r.breaking, r.mechanism = 1, "removes the appliance's security-group rule that admits IKE/NAT-T (UDP 500/4500): the tunnel endpoints' packets are dropped"
		}
		return r, true
	case "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress":
		return rule{[]string{audit.TypeSecurityGroup}, 0.05, "adds a security-group rule: rules only allow, so it cannot block traffic", nil, 0}, true
	case "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry", "ReplaceNetworkAclAssociation", "DeleteNetworkAcl":
		return rule{[]string{audit.TypeNetworkACL, audit.TypeSubnet}, 0.9, "changes the network ACL of the appliance's subnet: IKE/NAT-T or the forwarded traffic can be denied",
			[]effect{effIPsecStops, effRejects, effTunnelsDown}, 3 * time.Minute}, true
	case "CreateNetworkAclEntry":
		if strings.Contains(req, "deny") {
			return rule{[]string{audit.TypeNetworkACL}, 0.9, "adds a deny entry to the network ACL of the appliance's subnet",
				[]effect{effIPsecStops, effRejects, effTunnelsDown}, 3 * time.Minute}, true
		}
		return rule{[]string{audit.TypeNetworkACL}, 0.1, "adds an allow entry to a network ACL", nil, 0}, true
	case "DeleteRoute", "ReplaceRoute", "ReplaceRouteTableAssociation", "DisassociateRouteTable", "DeleteRouteTable":
		return rule{[]string{audit.TypeRouteTable, audit.TypeSubnet}, 0.8, "changes a route table on the path: traffic between the VPN and the customer network can lose its route",
			[]effect{effCrossStops}, 2 * time.Minute}, true
	case "CreateRoute":
		return rule{[]string{audit.TypeRouteTable}, 0.2, "adds a route to a route table on the path (additive; it can only divert a more specific prefix)", []effect{effCrossStops}, 2 * time.Minute}, true
	case "DeleteTransitGatewayRoute", "ReplaceTransitGatewayRoute", "DisassociateTransitGatewayRouteTable",
		"DisableTransitGatewayRouteTablePropagation", "DeleteTransitGatewayRouteTable", "DeleteTransitGatewayVpcAttachment":
		return rule{[]string{audit.TypeTGWRouteTable, audit.TypeTGWAttachment, audit.TypeTGW}, 0.9, "changes Transit Gateway routing on the path: traffic towards the customer network is dropped for lack of a route",
			[]effect{effCrossStops, effNoRouteDrops}, 2 * time.Minute}, true
	case "CreateTransitGatewayRoute":
		if strings.Contains(req, `"blackhole":true`) {
			return rule{[]string{audit.TypeTGWRouteTable}, 0.9, "adds a blackhole route to a Transit Gateway route table on the path",
				[]effect{effCrossStops, effNoRouteDrops}, 2 * time.Minute}, true
		}
		return rule{[]string{audit.TypeTGWRouteTable}, 0.1, "adds a Transit Gateway route (additive)", nil, 0}, true
	case "ModifyVpnTunnelOptions", "ModifyVpnConnection", "ModifyVpnConnectionOptions", "ModifyVpnTunnelCertificate", "ReplaceVpnTunnel":
		// The customer gateway keeps retrying IKE with options the endpoint
		// now refuses: IPsec packets do not stop, the tunnel stays down.
		return rule{[]string{audit.TypeVPN, audit.TypeTunnel}, 0.9, "modifies the VPN's tunnels: AWS re-establishes them, and options the customer gateway does not match keep them down",
			[]effect{effTunnelsDown}, 5 * time.Minute}, true
	case "DeleteVpnConnection", "DeleteCustomerGateway", "DetachVpnGateway", "DeleteVpnGateway":
		return rule{[]string{audit.TypeVPN, audit.TypeCustomerGW, audit.TypeVPNGateway}, 1, "deletes the VPN connection (or what it terminates on)",
			[]effect{effTunnelsDown, effIPsecStops, effCrossStops}, 2 * time.Minute}, true
	case "DeleteVpnConnectionRoute":
		return rule{[]string{audit.TypeVPN}, 0.9, "removes a static route of the VPN: traffic to that prefix has no way through the tunnels",
			[]effect{effCrossStops}, 2 * time.Minute}, true
	case "UpdateAutoScalingGroup", "SetDesiredCapacity", "DeleteAutoScalingGroup", "TerminateInstanceInAutoScalingGroup":
		r := rule{[]string{audit.TypeAutoScaling}, 0.4, "changes the Auto Scaling group that manages the appliance",
			[]effect{effIPsecStops, effApplianceSilent, effTunnelsDown}, 10 * time.Minute}
		if c.EventName != "UpdateAutoScalingGroup" && c.EventName != "SetDesiredCapacity" || scalesToZero(req) {
			r.breaking, r.mechanism = 1, "scales the appliance's Auto Scaling group in: Auto Scaling terminates the appliance"
		}
		return r, true
	case "CreateTags", "DeleteTags", "AddTags", "RemoveTags":
		return rule{nil, 0.02, "changes tags: tags do not change how packets are forwarded", nil, 0}, true
	case "StartInstances":
		return rule{nil, 0.05, "starts an instance: it restores, it cannot break, the path", nil, 0}, true
	case "SendCommand", "StartSession", "StartAutomationExecution":
		return rule{[]string{audit.TypeInstance}, 0.6, "runs commands on the appliance through Systems Manager: they can stop or reconfigure its IPsec daemon",
			[]effect{effIPsecStops, effTunnelsDown}, 3 * time.Minute}, true
	}
	switch {
	case c.EventSource == "ssm.amazonaws.com":
		return rule{nil, 0.02, "is Systems Manager bookkeeping (agent heartbeat, inventory): it does not touch the network", nil, 0}, true
	case c.EventSource != "" && !pathServices[c.EventSource]:
		return rule{nil, 0.05, "is a " + strings.TrimSuffix(c.EventSource, ".amazonaws.com") + " call: that service does not forward or filter the path's packets", nil, 0}, true
	}
	for _, p := range additivePrefixes {
		if strings.HasPrefix(c.EventName, p) {
			return rule{nil, 0.1, "creates or adds something: it takes nothing away from the path", nil, 0}, true
		}
	}
	return rule{}, false
}

// pathServices are the services whose calls can change how packets cross
// the VPN path; other services' calls get a near-zero prior.
var pathServices = map[string]bool{
	"ec2.amazonaws.com": true, "autoscaling.amazonaws.com": true, "networkmanager.amazonaws.com": true,
	"network-firewall.amazonaws.com": true, "ssm.amazonaws.com": true,
}

// additivePrefixes name calls that add capacity or resources; the ones that
// can divert traffic (CreateRoute, CreateNetworkAclEntry, a blackhole
// CreateTransitGatewayRoute) have their own rules above.
var additivePrefixes = []string{"Create", "Run", "Allocate", "Import", "Copy", "Request", "Register"}

// coversIKE reports whether a security-group request names UDP 500 or 4500,
// ESP, or all protocols.
func coversIKE(req string) bool {
	for _, s := range []string{`"fromport":500`, `"fromport":4500`, `"toport":500`, `"toport":4500`, `"ipprotocol":"-1"`, `"ipprotocol":"50"`, `"ipprotocol":"all"`} {
		if strings.Contains(req, s) {
			return true
		}
	}
	return false
}

func scalesToZero(req string) bool {
	for _, s := range []string{`"desiredcapacity":0`, `"maxsize":0`} {
		if strings.Contains(req, s) {
			return true
		}
	}
	return false
}
