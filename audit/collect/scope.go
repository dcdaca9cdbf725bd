package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/trail"
)

// scoper walks from the alarm's dimensions to the resources on the path.
// Every lookup that fails is noted as a gap and the walk goes on with what
// it has.
type scoper struct {
	k    *collector
	s    *audit.Scope
	gaps []string
	// customerVPCs and awsVPCs are the VPCs on either side of the VPN.
	customerVPCs map[string]bool
	awsVPCs      map[string]bool
	sgParents    map[string]string // security group → the ENI it guards
	// former, when set, says the appliance held the customer gateway's IP
	// only until recently (found through the address's history).
	former string
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func nameTag(tags []ec2types.Tag) string { return tagValue(tags, "Name") }

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func (p *scoper) gap(op string, err error) {
	p.gaps = append(p.gaps, fmt.Sprintf("%s: %s", op, why(err)))
}

// scope fills Evidence.Scope and the interfaces whose flow logs are read.
func (k *collector) scope(ctx context.Context) {
	k.progress("scope", "walking the VPN path from the alarm's dimensions")
	p := &scoper{k: k, s: &k.ev.Scope, customerVPCs: map[string]bool{}, awsVPCs: map[string]bool{}, sgParents: map[string]string{}}
	vpns := p.vpns(ctx)
	for _, v := range vpns {
		p.vpn(ctx, v)
	}
	p.sides(ctx)
	sort.Strings(p.s.CustomerSide)
	sort.Strings(p.s.AWSSide)

	counts := map[string]int{}
	for _, r := range p.s.Resources {
		counts[r.Type]++
	}
	var parts []string
	for _, t := range []string{audit.TypeVPN, audit.TypeTunnel, audit.TypeCustomerGW, audit.TypeElasticIP, audit.TypeInterface,
		audit.TypeInstance, audit.TypeSecurityGroup, audit.TypeSubnet, audit.TypeRouteTable, audit.TypeNetworkACL, audit.TypeVPC,
		audit.TypeAutoScaling, audit.TypeTGW, audit.TypeTGWAttachment, audit.TypeTGWRouteTable, audit.TypeVPNGateway} {
		if counts[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
		}
	}
	switch {
	case len(p.s.Resources) == 0:
		k.cover("scope", audit.CoverageMissing, "no resource on the path was found from the alarm's dimensions (%s)%s",
			dimString(k.ev.Incident.Alarm.Metric), gapSuffix(p.gaps))
	case len(p.gaps) > 0:
		k.cover("scope", audit.CoveragePartial, "%s%s", strings.Join(parts, ", "), gapSuffix(p.gaps))
	default:
		k.cover("scope", audit.CoverageOK, "%s", strings.Join(parts, ", "))
	}
}

func gapSuffix(gaps []string) string {
	if len(gaps) == 0 {
		return ""
	}
	return "; not found or not readable: " + strings.Join(gaps, "; ")
}

func dimString(m audit.MetricID) string {
	var ds []string
	for _, d := range m.Dimensions {
		ds = append(ds, d.Name+"="+d.Value)
	}
	if len(ds) == 0 {
		return "none"
	}
	return strings.Join(ds, ", ")
}

// vpnMatch is a VPN connection and how it was reached from the alarm.
type vpnMatch struct {
	v        ec2types.VpnConnection
	relation string
	via      string
}

// vpns finds the VPN connections the alarm's dimensions name.
func (p *scoper) vpns(ctx context.Context) []vpnMatch {
	k := p.k
	m := k.ev.Incident.Alarm.Metric
	var ids, tunnelIPs, tgws, instances []string
	for _, d := range m.Dimensions {
		switch d.Name {
		case "VpnId":
			ids = append(ids, d.Value)
		case "TunnelIpAddress":
			tunnelIPs = append(tunnelIPs, d.Value)
		case "TransitGateway":
			tgws = append(tgws, d.Value)
		case "InstanceId":
			instances = append(instances, d.Value)
		}
	}
	describe := func(in *ec2.DescribeVpnConnectionsInput) []ec2types.VpnConnection {
		k.call("ec2", "DescribeVpnConnections")
		out, err := k.c.EC2.DescribeVpnConnections(ctx, in)
		if err != nil {
			p.gap("DescribeVpnConnections", err)
			return nil
		}
		return out.VpnConnections
	}
	var found []vpnMatch
	switch {
	case len(ids) > 0:
		for _, v := range describe(&ec2.DescribeVpnConnectionsInput{VpnConnectionIds: ids}) {
			found = append(found, vpnMatch{v, "the alarm's VpnId dimension", "DescribeVpnConnections " + aws.ToString(v.VpnConnectionId)})
		}
	case len(tunnelIPs) > 0:
		for _, v := range describe(&ec2.DescribeVpnConnectionsInput{}) {
			for _, ip := range tunnelIPs {
				if hasTunnel(v, ip) {
					found = append(found, vpnMatch{v, "carries tunnel " + ip + ", the alarm's TunnelIpAddress dimension", "DescribeVpnConnections, tunnel outside IP " + ip})
					break
				}
			}
		}
	case len(tgws) > 0:
		for _, v := range describe(&ec2.DescribeVpnConnectionsInput{Filters: []ec2types.Filter{filter("transit-gateway-id", tgws...)}}) {
			found = append(found, vpnMatch{v, "terminates on " + aws.ToString(v.TransitGatewayId) + ", the alarm's TransitGateway dimension", "DescribeVpnConnections transit-gateway-id=" + aws.ToString(v.TransitGatewayId)})
		}
	case len(instances) > 0:
		found = p.vpnsOfInstances(ctx, instances, describe)
	}
	if len(found) == 0 && len(p.gaps) == 0 {
		p.gaps = append(p.gaps, fmt.Sprintf("no VPN connection matches the alarm's dimensions (%s)", dimString(m)))
	}
	return found
}

// vpnsOfInstances finds VPNs whose customer gateway IP is an instance's
// public address (an alarm on the appliance itself).
func (p *scoper) vpnsOfInstances(ctx context.Context, ids []string, describe func(*ec2.DescribeVpnConnectionsInput) []ec2types.VpnConnection) []vpnMatch {
	k := p.k
	k.call("ec2", "DescribeInstances")
	out, err := k.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		p.gap("DescribeInstances", err)
		return nil
	}
	var ips []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			for _, n := range i.NetworkInterfaces {
				if n.Association != nil && n.Association.PublicIp != nil {
					ips = append(ips, *n.Association.PublicIp)
				}
			}
		}
	}
	if len(ips) == 0 {
		return nil
	}
	k.call("ec2", "DescribeCustomerGateways")
	cg, err := k.c.EC2.DescribeCustomerGateways(ctx, &ec2.DescribeCustomerGatewaysInput{Filters: []ec2types.Filter{filter("ip-address", ips...)}})
	if err != nil {
		p.gap("DescribeCustomerGateways", err)
		return nil
	}
	var cgws []string
	for _, c := range cg.CustomerGateways {
		cgws = append(cgws, aws.ToString(c.CustomerGatewayId))
	}
	if len(cgws) == 0 {
		return nil
	}
	var found []vpnMatch
	for _, v := range describe(&ec2.DescribeVpnConnectionsInput{Filters: []ec2types.Filter{filter("customer-gateway-id", cgws...)}}) {
		found = append(found, vpnMatch{v, "uses the customer gateway hosted on the alarm's InstanceId", "DescribeCustomerGateways ip-address, DescribeVpnConnections customer-gateway-id"})
	}
	return found
}

func hasTunnel(v ec2types.VpnConnection, ip string) bool {
	for _, t := range v.VgwTelemetry {
		if aws.ToString(t.OutsideIpAddress) == ip {
			return true
		}
	}
	if v.Options != nil {
		for _, t := range v.Options.TunnelOptions {
			if aws.ToString(t.OutsideIpAddress) == ip {
				return true
			}
		}
	}
	return false
}

// vpn adds one VPN connection and everything reachable from it.
func (p *scoper) vpn(ctx context.Context, m vpnMatch) {
	v := m.v
	id := aws.ToString(v.VpnConnectionId)
	routing := "BGP"
	if v.Options != nil && aws.ToBool(v.Options.StaticRoutesOnly) {
		routing = "static"
	}
	p.s.Add(audit.Resource{ID: id, Type: audit.TypeVPN, Name: nameTag(v.Tags), Side: audit.SideVPN,
		Relation: m.relation, Via: m.via, State: string(v.State),
		Attrs: map[string]string{"routing": routing, "customer-gateway": aws.ToString(v.CustomerGatewayId)}})
	p.tunnels(v)
	for _, r := range v.Routes {
		if c := aws.ToString(r.DestinationCidrBlock); c != "" {
			p.s.CustomerSide = appendUnique(p.s.CustomerSide, c)
		}
	}
	if v.Options != nil {
		if c := aws.ToString(v.Options.RemoteIpv4NetworkCidr); c != "" && c != "0.0.0.0/0" {
			p.s.CustomerSide = appendUnique(p.s.CustomerSide, c)
		}
		if c := aws.ToString(v.Options.LocalIpv4NetworkCidr); c != "" && c != "0.0.0.0/0" {
			p.s.AWSSide = appendUnique(p.s.AWSSide, c)
		}
	}
	if cgw := aws.ToString(v.CustomerGatewayId); cgw != "" {
		p.customerGateway(ctx, cgw, id)
	}
	if tgw := aws.ToString(v.TransitGatewayId); tgw != "" {
		p.transitGateway(ctx, tgw, id)
	}
	if vgw := aws.ToString(v.VpnGatewayId); vgw != "" {
		p.vpnGateway(ctx, vgw, id)
	}
}

func (p *scoper) tunnels(v ec2types.VpnConnection) {
	id := aws.ToString(v.VpnConnectionId)
	var ips []string
	inside := map[string]string{}
	if v.Options != nil {
		for _, t := range v.Options.TunnelOptions {
			ip := aws.ToString(t.OutsideIpAddress)
			ips = appendUnique(ips, ip)
			inside[ip] = aws.ToString(t.TunnelInsideCidr)
		}
	}
	tele := map[string]ec2types.VgwTelemetry{}
	for _, t := range v.VgwTelemetry {
		ip := aws.ToString(t.OutsideIpAddress)
		ips = appendUnique(ips, ip)
		tele[ip] = t
	}
	alarmIP := p.k.ev.Incident.Alarm.Metric.Dimension("TunnelIpAddress")
	for n, ip := range ips {
		if ip == "" {
			continue
		}
		t := tele[ip]
		tun := audit.Tunnel{VpnID: id, OutsideIP: ip, InsideCIDR: inside[ip], Status: string(t.Status),
			StatusMessage: aws.ToString(t.StatusMessage), AcceptedRoutes: int(aws.ToInt32(t.AcceptedRouteCount))}
		if t.LastStatusChange != nil {
			tun.LastStatusChange = t.LastStatusChange.UTC()
		}
		p.s.Tunnels = append(p.s.Tunnels, tun)
		rel := fmt.Sprintf("tunnel %d of %s (AWS endpoint %s)", n+1, id, ip)
		if ip == alarmIP {
			rel += ", the alarm's TunnelIpAddress dimension"
		}
		p.s.Add(audit.Resource{ID: ip, Type: audit.TypeTunnel, Name: fmt.Sprintf("tunnel %d", n+1), Side: audit.SideVPN,
			Parent: id, Relation: rel, Via: "DescribeVpnConnections VgwTelemetry", State: tun.Status,
			Attrs: map[string]string{"outside-ip": ip, "inside-cidr": inside[ip], "status-message": tun.StatusMessage}})
	}
}

// customerGateway follows the customer gateway's IP to the Elastic IP, ENI
// and instance that hold it, when they are in this account.
func (p *scoper) customerGateway(ctx context.Context, cgw, vpn string) {
	k := p.k
	k.call("ec2", "DescribeCustomerGateways")
	out, err := k.c.EC2.DescribeCustomerGateways(ctx, &ec2.DescribeCustomerGatewaysInput{CustomerGatewayIds: []string{cgw}})
	if err != nil {
		p.gap("DescribeCustomerGateways", err)
		return
	}
	for _, c := range out.CustomerGateways {
		ip := aws.ToString(c.IpAddress)
		p.s.Add(audit.Resource{ID: cgw, Type: audit.TypeCustomerGW, Name: nameTag(c.Tags), Side: audit.SideCustomer, Parent: vpn,
			Relation: fmt.Sprintf("the customer gateway of %s (IP %s, ASN %s)", vpn, ip, aws.ToString(c.BgpAsn)),
			Via:      "DescribeVpnConnections CustomerGatewayId", State: aws.ToString(c.State),
			Attrs: map[string]string{"ip": ip, "bgp-asn": aws.ToString(c.BgpAsn)}})
		if ip != "" {
			p.customerAddress(ctx, ip, cgw)
		}
	}
}

func (p *scoper) customerAddress(ctx context.Context, ip, cgw string) {
	k := p.k
	var eni, instance, parent, alloc string
	failed := false
	k.call("ec2", "DescribeAddresses")
	addrs, err := k.c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("public-ip", ip)}})
	if err != nil {
		p.gap("DescribeAddresses", err)
		failed = true
	} else {
		for _, a := range addrs.Addresses {
			id := aws.ToString(a.AllocationId)
			if id == "" {
				id = ip
			}
			eni, instance, parent, alloc = aws.ToString(a.NetworkInterfaceId), aws.ToString(a.InstanceId), id, aws.ToString(a.AllocationId)
			state := "unassociated"
			if a.AssociationId != nil {
				state = "associated"
			}
			p.s.Add(audit.Resource{ID: id, Type: audit.TypeElasticIP, Name: nameTag(a.Tags), Side: audit.SideCustomer, Parent: cgw,
				Relation: fmt.Sprintf("is the customer gateway's IP address %s", ip), Via: "DescribeAddresses public-ip=" + ip, State: state,
				Attrs: map[string]string{"public-ip": ip, "private-ip": aws.ToString(a.PrivateIpAddress),
					"association-id": aws.ToString(a.AssociationId), "network-interface": eni, "instance": instance}})
		}
	}
	via := "DescribeAddresses: " + parent
	if eni == "" && instance == "" {
		// Not an Elastic IP: an auto-assigned public IP still names its ENI.
		k.call("ec2", "DescribeNetworkInterfaces")
		out, err := k.c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("association.public-ip", ip)}})
		if err != nil {
			p.gap("DescribeNetworkInterfaces", err)
			failed = true
		} else if len(out.NetworkInterfaces) > 0 {
			eni, parent, via = aws.ToString(out.NetworkInterfaces[0].NetworkInterfaceId), cgw, "DescribeNetworkInterfaces association.public-ip="+ip
		}
	}
	if eni == "" && instance == "" && alloc != "" {
		// The account's Elastic IP is the customer gateway's address but
		// nothing holds it now: who held it last says what was on the path
		// (an appliance whose address was disassociated, or one that was
		// terminated).
		if h, ok := p.lastHolder(ctx, ip, alloc); ok {
			if r, found := p.s.Find(alloc); found {
				r.Attrs["association-id"], r.Attrs["former-instance"], r.Attrs["former-network-interface"] = h.association, h.instance, h.eni
				p.s.Resources[p.index(alloc)] = r
			}
			p.former = fmt.Sprintf("held it until recently (AssociateAddress at %s; unassociated now)", h.at.Format(time.RFC3339))
			eni, instance, parent, via = h.eni, h.instance, alloc, "CloudTrail AssociateAddress "+h.eventID
			if eni == "" && instance == "" {
				failed = true // an association with nothing named: do not guess further
			}
		}
	}
	var hint audit.Interface
	if eni == "" && instance == "" && !failed {
		// Nothing holds the address now and its history does not say who
		// did: the interface that talked IKE to the tunnel endpoints is the
		// customer gateway's host (its address moved, or it was terminated).
		if d, ok := p.applianceByTraffic(ctx); ok {
			hint = d.iface
			eni, instance, via = d.iface.ID, d.iface.Instance, d.via
			if parent == "" {
				parent = cgw
			}
			p.former = fmt.Sprintf("its ENI exchanged IKE/NAT-T with the tunnel endpoints (flow logs, last at %s) but does not hold the address now", d.last.Format("15:04:05"))
		}
	}
	switch {
	case eni != "" || instance != "":
		p.appliance(ctx, ip, eni, instance, parent, via, hint)
	case alloc != "":
		p.k.cover("customer-gateway", audit.CoveragePartial, "the customer gateway's IP %s is this account's Elastic IP %s, but no interface holds it now and CloudTrail shows no AssociateAddress of it in the last 90 days: the appliance that held it cannot be named", ip, alloc)
	case !failed:
		p.k.cover("customer-gateway", audit.CoveragePartial, "the customer gateway's IP %s is not an address of this account: the device is outside AWS (or in another account), so only the tunnels show its side", ip)
	}
}

func (p *scoper) index(id string) int {
	for i, r := range p.s.Resources {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// holder is who an Elastic IP was last associated with.
type holder struct {
	instance, eni, association, eventID string
	at                                  time.Time
}

// associationPages bounds the AssociateAddress history read (50 a page).
const associationPages = 10

// lastHolder finds the latest AssociateAddress of the address in CloudTrail
// (90 days, the event history's reach), by one lookup attribute.
func (p *scoper) lastHolder(ctx context.Context, ip, alloc string) (holder, bool) {
	k := p.k
	if k.c.CloudTrail == nil {
		return holder{}, false
	}
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssociateAddress")}},
		StartTime:        aws.Time(k.o.Now.Add(-90 * 24 * time.Hour)),
		EndTime:          aws.Time(k.o.Now),
	}
	pg := cloudtrail.NewLookupEventsPaginator(k.c.CloudTrail, in)
	guard := newPageGuard("CloudTrail", "LookupEvents")
	for pages := 0; pg.HasMorePages() && pages < associationPages; pages++ {
		k.call("cloudtrail", "LookupEvents")
		out, err := pg.NextPage(ctx)
		if err != nil {
			p.gap("LookupEvents AssociateAddress", err)
			return holder{}, false
		}
		for _, e := range out.Events { // newest first
			c, _ := trail.FromLookup(envelope(e))
			if c.Failed() {
				continue
			}
			var req struct{ AllocationId, PublicIp, InstanceId, NetworkInterfaceId string }
			var resp struct{ AssociationId string }
			json.Unmarshal([]byte(c.Request), &req)
			json.Unmarshal([]byte(c.Response), &resp)
			if req.AllocationId == alloc || req.PublicIp == ip {
				return holder{instance: req.InstanceId, eni: req.NetworkInterfaceId, association: resp.AssociationId, eventID: c.EventID, at: c.Time}, true
			}
		}
		if err := guard.check(len(out.Events), out.NextToken); err != nil {
			p.gap("LookupEvents AssociateAddress", err)
			return holder{}, false
		}
	}
	return holder{}, false
}

// appliance describes the ENI and instance holding the customer gateway's
// IP, and what guards and routes them.
// hint, when its ID is set, describes the ENI as the flow logs saw it, for
// an interface that no longer exists.
func (p *scoper) appliance(ctx context.Context, ip, eniID, instanceID, parent, via string, hint audit.Interface) {
	k := p.k
	var groups []string
	subnet, vpc, asgTag := hint.SubnetID, hint.VpcID, ""
	if eniID != "" {
		k.call("ec2", "DescribeNetworkInterfaces")
		out, err := k.c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniID}})
		if err != nil {
			p.gap("DescribeNetworkInterfaces", err)
		}
		if out != nil {
			for _, n := range out.NetworkInterfaces {
				iface := interfaceOf(n)
				if instanceID == "" && n.Attachment != nil {
					instanceID = aws.ToString(n.Attachment.InstanceId)
				}
				subnet, vpc = orElse(iface.SubnetID, subnet), orElse(iface.VpcID, vpc)
				for _, g := range n.Groups {
					groups = appendUnique(groups, aws.ToString(g.GroupId))
					p.sgParents[aws.ToString(g.GroupId)] = eniID
				}
				p.s.ApplianceInterfaces = appendInterface(p.s.ApplianceInterfaces, iface)
				p.s.Add(audit.Resource{ID: eniID, Type: audit.TypeInterface, Name: nameTag(n.TagSet), Side: audit.SideCustomer, Parent: parent,
					Relation: p.holds("holds the customer gateway's IP " + ip), Via: via, State: string(n.Status),
					Attrs: map[string]string{"private-ip": strings.Join(iface.Addresses, ","), "subnet": iface.SubnetID, "vpc": iface.VpcID,
						"source-dest-check": fmt.Sprint(aws.ToBool(n.SourceDestCheck))}})
			}
		}
	}
	if instanceID != "" {
		k.call("ec2", "DescribeInstances")
		out, err := k.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
		if err != nil {
			p.gap("DescribeInstances", err)
		}
		if out != nil {
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					state := ""
					if i.State != nil {
						state = string(i.State.Name)
					}
					// A terminated instance no longer names its subnet and VPC.
					subnet, vpc = orElse(aws.ToString(i.SubnetId), subnet), orElse(aws.ToString(i.VpcId), vpc)
					asgTag = tagValue(i.Tags, "aws:autoscaling:groupName")
					for _, g := range i.SecurityGroups {
						groups = appendUnique(groups, aws.ToString(g.GroupId))
						if _, ok := p.sgParents[aws.ToString(g.GroupId)]; !ok {
							p.sgParents[aws.ToString(g.GroupId)] = instanceID
						}
					}
					for _, n := range i.NetworkInterfaces {
						p.s.ApplianceInterfaces = appendInterface(p.s.ApplianceInterfaces, audit.Interface{
							ID: aws.ToString(n.NetworkInterfaceId), Addresses: privateAddrs(n.PrivateIpAddress, n.PrivateIpAddresses),
							VpcID: aws.ToString(n.VpcId), SubnetID: aws.ToString(n.SubnetId), Instance: instanceID})
					}
					p.s.Appliances = appendUnique(p.s.Appliances, instanceID)
					p.s.Add(audit.Resource{ID: instanceID, Type: audit.TypeInstance, Name: nameTag(i.Tags), Side: audit.SideCustomer, Parent: eniID,
						Relation: p.holds(fmt.Sprintf("hosts the customer gateway (the appliance; its ENI holds %s)", ip)),
						Via:      "DescribeInstances " + instanceID, State: state,
						Attrs: map[string]string{"private-ip": aws.ToString(i.PrivateIpAddress), "subnet": subnet, "vpc": vpc,
							"source-dest-check": fmt.Sprint(aws.ToBool(i.SourceDestCheck)), "state-reason": aws.ToString(i.StateTransitionReason),
							"instance-type": string(i.InstanceType)}})
				}
			}
		}
		p.autoScaling(ctx, instanceID, asgTag)
	}
	if hint.ID != "" {
		if _, ok := p.s.Find(hint.ID); !ok {
			// Deleted with its instance: known from the flow logs only.
			p.s.ApplianceInterfaces = appendInterface(p.s.ApplianceInterfaces, hint)
			p.s.Add(audit.Resource{ID: hint.ID, Type: audit.TypeInterface, Side: audit.SideCustomer, Parent: parent,
				Relation: p.holds("holds the customer gateway's IP " + ip), Via: via, State: "not found (deleted?)",
				Attrs: map[string]string{"subnet": hint.SubnetID, "vpc": hint.VpcID}})
		} else if !hasInterface(p.s.ApplianceInterfaces, hint.ID) {
			p.s.ApplianceInterfaces = appendInterface(p.s.ApplianceInterfaces, hint)
		}
	}
	p.securityGroups(ctx, groups)
	if subnet != "" {
		p.subnet(ctx, subnet, vpc)
	}
	if vpc != "" {
		p.customerVPCs[vpc] = true
	}
}

// holds words the appliance's relation, noting when it held the address
// only until recently.
func (p *scoper) holds(rel string) string {
	if p.former == "" {
		return rel
	}
	return strings.Replace(rel, "holds", "held", 1) + "; " + p.former
}

func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func hasInterface(list []audit.Interface, id string) bool {
	for _, i := range list {
		if i.ID == id {
			return true
		}
	}
	return false
}

func interfaceOf(n ec2types.NetworkInterface) audit.Interface {
	iface := audit.Interface{ID: aws.ToString(n.NetworkInterfaceId), VpcID: aws.ToString(n.VpcId), SubnetID: aws.ToString(n.SubnetId)}
	var addrs []string
	for _, a := range n.PrivateIpAddresses {
		addrs = appendUnique(addrs, aws.ToString(a.PrivateIpAddress))
	}
	if len(addrs) == 0 && n.PrivateIpAddress != nil {
		addrs = []string{*n.PrivateIpAddress}
	}
	iface.Addresses = addrs
	if n.Attachment != nil {
		iface.Instance = aws.ToString(n.Attachment.InstanceId)
	}
	return iface
}

func privateAddrs(primary *string, all []ec2types.InstancePrivateIpAddress) []string {
	var out []string
	for _, a := range all {
		out = appendUnique(out, aws.ToString(a.PrivateIpAddress))
	}
	if len(out) == 0 && primary != nil {
		out = []string{*primary}
	}
	return out
}

func appendInterface(list []audit.Interface, iface audit.Interface) []audit.Interface {
	for i, x := range list {
		if x.ID == iface.ID {
			if len(x.Addresses) == 0 {
				list[i] = iface
			}
			return list
		}
	}
	return append(list, iface)
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// autoScaling adds the appliance's Auto Scaling group. A terminated
// instance is no longer listed by Auto Scaling; its aws:autoscaling:groupName
// tag (which DescribeInstances keeps showing for about an hour) still names
// the group.
func (p *scoper) autoScaling(ctx context.Context, instanceID, tagged string) {
	k := p.k
	if k.c.AutoScaling == nil {
		return
	}
	k.call("autoscaling", "DescribeAutoScalingInstances")
	out, err := k.c.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		p.gap("DescribeAutoScalingInstances", err)
	}
	if (out == nil || len(out.AutoScalingInstances) == 0) && tagged != "" {
		p.s.Add(audit.Resource{ID: tagged, Type: audit.TypeAutoScaling, Name: tagged, Side: audit.SideCustomer, Parent: instanceID,
			Relation: "managed the appliance " + instanceID, Via: "the instance's aws:autoscaling:groupName tag",
			Attrs: map[string]string{"instance": instanceID}})
		return
	}
	if out == nil {
		return
	}
	for _, a := range out.AutoScalingInstances {
		g := aws.ToString(a.AutoScalingGroupName)
		p.s.Add(audit.Resource{ID: g, Type: audit.TypeAutoScaling, Name: g, Side: audit.SideCustomer, Parent: instanceID,
			Relation: "manages the appliance " + instanceID, Via: "DescribeAutoScalingInstances " + instanceID,
			State: aws.ToString(a.LifecycleState), Attrs: map[string]string{"instance": instanceID}})
	}
}

func (p *scoper) securityGroups(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	k := p.k
	k.call("ec2", "DescribeSecurityGroups")
	out, err := k.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	if err != nil {
		p.gap("DescribeSecurityGroups", err)
		for _, id := range ids { // still in scope: the instance names them
			p.s.Add(audit.Resource{ID: id, Type: audit.TypeSecurityGroup, Side: audit.SideCustomer, Parent: p.sgParents[id],
				Relation: "guards the appliance's ENI", Via: "the appliance's security groups"})
		}
		return
	}
	for _, g := range out.SecurityGroups {
		id := aws.ToString(g.GroupId)
		name := nameTag(g.Tags)
		if name == "" {
			name = aws.ToString(g.GroupName)
		}
		p.s.Add(audit.Resource{ID: id, Type: audit.TypeSecurityGroup, Name: name, Side: audit.SideCustomer, Parent: p.sgParents[id],
			Relation: "guards the appliance's ENI", Via: "the appliance's security groups",
			Attrs: map[string]string{"ingress-rules": fmt.Sprint(len(g.IpPermissions)), "egress-rules": fmt.Sprint(len(g.IpPermissionsEgress))}})
	}
}

// subnet adds the appliance's subnet, its route table (the explicit one,
// else the VPC's main table) and its network ACL.
func (p *scoper) subnet(ctx context.Context, subnet, vpc string) {
	k := p.k
	res := audit.Resource{ID: subnet, Type: audit.TypeSubnet, Side: audit.SideCustomer, Relation: "the appliance's subnet",
		Via: "the appliance's SubnetId", Attrs: map[string]string{"vpc": vpc}}
	k.call("ec2", "DescribeSubnets")
	if out, err := k.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}}); err != nil {
		p.gap("DescribeSubnets", err)
	} else {
		for _, s := range out.Subnets {
			res.Name = nameTag(s.Tags)
			res.Attrs["cidr"] = aws.ToString(s.CidrBlock)
		}
	}
	p.s.Add(res)

	k.call("ec2", "DescribeRouteTables")
	rts, err := k.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("association.subnet-id", subnet)}})
	if err != nil {
		p.gap("DescribeRouteTables", err)
	} else {
		rel, via := "routes the appliance's subnet", "DescribeRouteTables association.subnet-id="+subnet
		if len(rts.RouteTables) == 0 && vpc != "" {
			k.call("ec2", "DescribeRouteTables")
			rts, err = k.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("association.main", "true")}})
			if err != nil {
				p.gap("DescribeRouteTables", err)
			}
			rel, via = "the main route table of the appliance's VPC (routes its subnet)", "DescribeRouteTables vpc-id="+vpc+" association.main=true"
		}
		if rts != nil {
			for _, rt := range rts.RouteTables {
				p.s.Add(audit.Resource{ID: aws.ToString(rt.RouteTableId), Type: audit.TypeRouteTable, Name: nameTag(rt.Tags), Side: audit.SideCustomer,
					Parent: subnet, Relation: rel, Via: via, Attrs: map[string]string{"vpc": aws.ToString(rt.VpcId), "routes": fmt.Sprint(len(rt.Routes))}})
			}
		}
	}

	k.call("ec2", "DescribeNetworkAcls")
	acls, err := k.c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{filter("association.subnet-id", subnet)}})
	if err != nil {
		p.gap("DescribeNetworkAcls", err)
		return
	}
	for _, a := range acls.NetworkAcls {
		p.s.Add(audit.Resource{ID: aws.ToString(a.NetworkAclId), Type: audit.TypeNetworkACL, Name: nameTag(a.Tags), Side: audit.SideCustomer,
			Parent: subnet, Relation: "filters the appliance's subnet", Via: "DescribeNetworkAcls association.subnet-id=" + subnet,
			Attrs: map[string]string{"vpc": aws.ToString(a.VpcId), "entries": fmt.Sprint(len(a.Entries))}})
	}
}

// transitGateway adds the Transit Gateway, its attachments and their route
// tables; VPC attachments are the AWS side.
func (p *scoper) transitGateway(ctx context.Context, tgw, vpn string) {
	k := p.k
	p.s.Add(audit.Resource{ID: tgw, Type: audit.TypeTGW, Side: audit.SideAWS, Parent: vpn,
		Relation: "terminates " + vpn + " on the AWS side", Via: "DescribeVpnConnections TransitGatewayId"})
	k.call("ec2", "DescribeTransitGatewayAttachments")
	out, err := k.c.EC2.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{Filters: []ec2types.Filter{filter("transit-gateway-id", tgw)}})
	if err != nil {
		p.gap("DescribeTransitGatewayAttachments", err)
		return
	}
	for _, a := range out.TransitGatewayAttachments {
		id, rid := aws.ToString(a.TransitGatewayAttachmentId), aws.ToString(a.ResourceId)
		var rel string
		switch a.ResourceType {
		case ec2types.TransitGatewayAttachmentResourceTypeVpn:
			if rid != vpn {
				continue
			}
			rel = "attaches " + vpn + " to " + tgw
		case ec2types.TransitGatewayAttachmentResourceTypeVpc:
			rel = "attaches " + rid + " to " + tgw + " (the AWS side of the VPN)"
			p.awsVPCs[rid] = true
		default:
			continue
		}
		p.s.Add(audit.Resource{ID: id, Type: audit.TypeTGWAttachment, Name: nameTag(a.Tags), Side: audit.SideAWS, Parent: tgw,
			Relation: rel, Via: "DescribeTransitGatewayAttachments transit-gateway-id=" + tgw, State: string(a.State),
			Attrs: map[string]string{"resource-type": string(a.ResourceType), "resource-id": rid}})
		if a.Association != nil && a.Association.TransitGatewayRouteTableId != nil {
			rtb := *a.Association.TransitGatewayRouteTableId
			p.s.Add(audit.Resource{ID: rtb, Type: audit.TypeTGWRouteTable, Side: audit.SideAWS, Parent: id,
				Relation: "the Transit Gateway route table associated with " + id, Via: "DescribeTransitGatewayAttachments Association"})
		}
	}
}

func (p *scoper) vpnGateway(ctx context.Context, vgw, vpn string) {
	k := p.k
	res := audit.Resource{ID: vgw, Type: audit.TypeVPNGateway, Side: audit.SideAWS, Parent: vpn,
		Relation: "terminates " + vpn + " on the AWS side", Via: "DescribeVpnConnections VpnGatewayId"}
	k.call("ec2", "DescribeVpnGateways")
	out, err := k.c.EC2.DescribeVpnGateways(ctx, &ec2.DescribeVpnGatewaysInput{VpnGatewayIds: []string{vgw}})
	if err != nil {
		p.gap("DescribeVpnGateways", err)
	} else {
		for _, g := range out.VpnGateways {
			res.Name, res.State = nameTag(g.Tags), string(g.State)
			for _, a := range g.VpcAttachments {
				if a.State == ec2types.AttachmentStatusAttached {
					p.awsVPCs[aws.ToString(a.VpcId)] = true
				}
			}
		}
	}
	p.s.Add(res)
}

// sides resolves the VPCs on either side to CIDRs and lists the ENIs whose
// flow logs show traffic crossing the VPN. Without DescribeVpcs the ENIs'
// own addresses stand in for the CIDRs.
func (p *scoper) sides(ctx context.Context) {
	k := p.k
	all := map[string]bool{}
	for v := range p.customerVPCs {
		all[v] = true
	}
	for v := range p.awsVPCs {
		all[v] = true
	}
	if len(all) == 0 {
		k.flowInterfaces = p.s.ApplianceInterfaces
		return
	}
	vpcIDs := sortedKeys(all)
	cidrs := map[string][]string{}
	k.call("ec2", "DescribeVpcs")
	if out, err := k.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: vpcIDs}); err != nil {
		p.gap("DescribeVpcs", err)
	} else {
		for _, v := range out.Vpcs {
			id := aws.ToString(v.VpcId)
			for _, a := range v.CidrBlockAssociationSet {
				cidrs[id] = appendUnique(cidrs[id], aws.ToString(a.CidrBlock))
			}
			cidrs[id] = appendUnique(cidrs[id], aws.ToString(v.CidrBlock))
			side, rel := audit.SideAWS, "reached through the VPN"
			if p.customerVPCs[id] {
				side, rel = audit.SideCustomer, "the appliance's VPC (the customer side)"
			}
			p.s.Add(audit.Resource{ID: id, Type: audit.TypeVPC, Name: nameTag(v.Tags), Side: side, Relation: rel,
				Via: "DescribeVpcs", Attrs: map[string]string{"cidr": strings.Join(cidrs[id], ",")}})
		}
	}
	p.awsRouteTables(ctx)
	var ifaces []audit.Interface
	k.call("ec2", "DescribeNetworkInterfaces")
	out, err := k.c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("vpc-id", vpcIDs...)}})
	if err != nil {
		p.gap("DescribeNetworkInterfaces", err)
	} else {
		for _, n := range out.NetworkInterfaces {
			ifaces = append(ifaces, interfaceOf(n))
		}
	}
	for id := range all {
		side := &p.s.AWSSide
		if p.customerVPCs[id] {
			side = &p.s.CustomerSide
		}
		if len(cidrs[id]) > 0 {
			for _, c := range cidrs[id] {
				*side = appendUnique(*side, c)
			}
			continue
		}
		for _, n := range ifaces {
			if n.VpcID == id {
				for _, a := range n.Addresses {
					*side = appendUnique(*side, hostPrefix(a))
				}
			}
		}
	}
	// The appliance's interfaces first: their flow logs show the tunnels.
	list := append([]audit.Interface(nil), p.s.ApplianceInterfaces...)
	for _, n := range ifaces {
		list = appendInterface(list, n)
	}
	if len(list) > maxFlowInterfaces {
		k.cover("flow-logs", audit.CoveragePartial, "%d ENIs on the path; flow logs are read for the first %d (the appliance's first)", len(list), maxFlowInterfaces)
		list = list[:maxFlowInterfaces]
	}
	k.flowInterfaces = list
}

// awsRouteTables adds the route tables of the VPCs on the AWS side: their
// routes towards the customer network (through the Transit Gateway or the
// VGW) are part of the path.
func (p *scoper) awsRouteTables(ctx context.Context) {
	if len(p.awsVPCs) == 0 {
		return
	}
	k := p.k
	k.call("ec2", "DescribeRouteTables")
	out, err := k.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", sortedKeys(p.awsVPCs)...)}})
	if err != nil {
		p.gap("DescribeRouteTables", err)
		return
	}
	for _, rt := range out.RouteTables {
		vpc := aws.ToString(rt.VpcId)
		var toVPN []string
		for _, r := range rt.Routes {
			if aws.ToString(r.TransitGatewayId) != "" || strings.HasPrefix(aws.ToString(r.GatewayId), "vgw-") {
				toVPN = append(toVPN, aws.ToString(r.DestinationCidrBlock))
			}
		}
		rel := "routes " + vpc + ", a VPC reached through the VPN"
		if len(toVPN) > 0 {
			rel += " (to the VPN: " + strings.Join(toVPN, ", ") + ")"
		}
		p.s.Add(audit.Resource{ID: aws.ToString(rt.RouteTableId), Type: audit.TypeRouteTable, Name: nameTag(rt.Tags), Side: audit.SideAWS,
			Parent: vpc, Relation: rel, Via: "DescribeRouteTables vpc-id=" + vpc,
			Attrs: map[string]string{"vpc": vpc, "routes": fmt.Sprint(len(rt.Routes))}})
	}
}

func hostPrefix(ip string) string {
	if strings.Contains(ip, ":") {
		return ip + "/128"
	}
	return ip + "/32"
}
