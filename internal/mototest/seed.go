package mototest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// The scenario's fixed names and addresses (DESIGN §1).
const (
	AlarmName       = "VPN-Down"
	DatacenterCIDR  = "192.168.0.0/16"
	ApplianceIP     = "192.168.1.10" // the appliance's private address
	DatacenterHost  = "192.168.1.50" // a datacenter host routing through the appliance
	WorkloadHost    = "10.20.1.10"   // a workload the datacenter host talks to
	LogGroup        = "/vpc/flow-logs/datacenter"
	FlowLogRoleARN  = "arn:aws:iam::" + Account + ":role/vpc-flow-logs"
	ImageID         = "ami-0123456789abcdef0"
	baselineMinutes = 40 // minutes of healthy traffic and metrics before the stop
	stopBeforeNow   = 8  // minutes between the stop and the collection
)

// WorkloadCIDRs are the two workload VPCs behind the Transit Gateway.
var WorkloadCIDRs = []string{"10.20.0.0/16", "10.30.0.0/16"}

// LogFormat is the flow log's custom format: version-5 fields in an order
// unlike the default one, so a reader that assumes the default misreads it.
const LogFormat = "${version} ${account-id} ${interface-id} ${flow-direction} ${action} ${log-status} " +
	"${start} ${end} ${srcaddr} ${srcport} ${dstaddr} ${dstport} ${protocol} ${packets} ${bytes}"

// fallbackTunnelIPs are the AWS tunnel endpoints used when moto names fewer
// than two (its CustomerGatewayConfiguration repeats one address for both
// tunnels and the API fields name none).
var fallbackTunnelIPs = []string{"52.2.144.13", "52.58.201.77"}

// Scenario is what Seed created: the IDs, the times, and what moto lacked.
type Scenario struct {
	Region, Account string

	DatacenterVPC, DatacenterSubnet string
	// MainRouteTable and NetworkACL are the datacenter VPC's defaults,
	// which route and filter the appliance's subnet.
	MainRouteTable, NetworkACL    string
	WorkloadVPCs, WorkloadSubnets []string
	// WorkloadRouteTables are the workload VPCs' main route tables, each
	// with a route to the datacenter through the Transit Gateway.
	WorkloadRouteTables []string
	TransitGateway      string
	VPCAttachments      []string
	// VPNAttachment is the attachment AWS (and moto) create for the VPN
	// connection; TGWRouteTable the Transit Gateway's default route table.
	VPNAttachment, TGWRouteTable string
	VPN, CustomerGateway         string
	EIPAllocation, EIP           string // allocation ID and public IP
	Instance, ENI, SecurityGroup string

	// TunnelIPs are the two AWS tunnel endpoints the flow logs and metrics
	// use. TunnelIPsInAPI are those DescribeVpnConnections names in
	// Options.TunnelOptions or VgwTelemetry (where vpnaudit looks); moto
	// names none.
	TunnelIPs, TunnelIPsInAPI []string
	// PreSharedKeys are the tunnel keys moto put in the connection's
	// CustomerGatewayConfiguration: no recorded bundle may contain them.
	PreSharedKeys []string

	FlowLog, LogGroup, LogStream string
	// TrafficRecords are the OK records written (IPsec and cross-VPN), and
	// NoDataRecords the NODATA records after the stop.
	TrafficRecords, NoDataRecords int

	Alarm string
	// Stop is when the appliance stopped: the last traffic record ends
	// then, and the metrics' first breaching datapoint is stamped then
	// (the StateReasonData's evaluated datapoint).
	Stop time.Time
	// AlarmTime is when moto put the alarm in ALARM (SetAlarmState): its
	// StateUpdatedTimestamp, UTC.
	AlarmTime time.Time
	// Now is the clock to give the collector: after the alarm and the
	// last datapoint, whole seconds.
	Now time.Time
	// FirstRecord is the start of the first traffic record and metric;
	// LastDatapoint the time of the last metric datapoint (the minute the
	// seed began).
	FirstRecord, LastDatapoint time.Time

	// Lacks lists what moto did not return that real AWS would.
	Lacks []string
}

// seeder holds the mutating clients Seed uses.
type seeder struct {
	t     testing.TB
	ctx   context.Context
	srv   *Server
	ec2   *ec2.Client
	cw    *cloudwatch.Client
	logs  *cloudwatchlogs.Client
	trail *cloudtrail.Client
	sc    Scenario
}

// Seed creates the reference outage in moto through the SDK with ordinary
// (mutating) clients: the datacenter and workload VPCs, a Transit Gateway
// with both VPC attachments, the Elastic IP, the customer gateway on it and
// the TGW VPN connection, the appliance instance (UDP 500/4500 security
// group, source/destination check off, the EIP associated), a flow log on
// the datacenter VPC to CloudWatch Logs with a custom format and its
// records, the VPN and instance metrics, the VPN-Down alarm set to ALARM,
// and finally StopInstances on the appliance.
//
// The traffic on the appliance's ENI is IPsec (UDP 4500, both directions,
// both tunnels) and a datacenter host's traffic to a workload routed
// through the appliance (cross-VPN), every minute for 40 minutes until the
// stop, then NODATA. The stop is the minute 8 minutes before the one Seed
// begins in, so the alarm and Now come 8 to 9 minutes after it.
func Seed(ctx context.Context, t testing.TB, s *Server) Scenario {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(s.Region),
		config.WithBaseEndpoint(s.URL),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "mototest"}, nil
		})),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatalf("seed: load config: %v", err)
	}
	sd := &seeder{t: t, ctx: ctx, srv: s,
		ec2: ec2.NewFromConfig(cfg),
		cw: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			o.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801) // moto does not speak CBOR
			// With the JSON protocol the SDK marks large PutMetricData bodies
			// gzip-encoded without compressing them; moto then fails with
			// BadGzipFile (HTTP 500).
			o.DisableRequestCompression = true
		}),
		logs:  cloudwatchlogs.NewFromConfig(cfg),
		trail: cloudtrail.NewFromConfig(cfg),
		sc:    Scenario{Region: s.Region, Account: Account, Alarm: AlarmName, LogGroup: LogGroup},
	}
	now := time.Now().UTC()
	sd.sc.Stop = now.Truncate(time.Minute).Add(-stopBeforeNow * time.Minute)
	sd.sc.FirstRecord = sd.sc.Stop.Add(-baselineMinutes * time.Minute)

	sd.network()
	sd.vpn()
	sd.appliance()
	sd.flowLog()
	sd.records(now)
	sd.metrics(now)
	sd.alarm()
	sd.stop()

	sd.sc.Now = time.Now().UTC().Truncate(time.Second).Add(time.Second)
	if sd.sc.Now.Before(sd.sc.AlarmTime) {
		sd.sc.Now = sd.sc.AlarmTime.Truncate(time.Second).Add(time.Second)
	}
	return sd.sc
}

func (sd *seeder) check(step string, err error) {
	sd.t.Helper()
	if err != nil {
		sd.t.Fatalf("seed: %s: %v\nmoto_server's last output:\n%s", step, err, lastLines(sd.srv.Output(), 40))
	}
}

func (sd *seeder) lack(format string, args ...any) {
	sd.sc.Lacks = append(sd.sc.Lacks, fmt.Sprintf(format, args...))
}

func tags(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// network creates the three VPCs with a subnet each and the Transit
// Gateway with the workload VPCs attached.
func (sd *seeder) network() {
	ctx := sd.ctx
	vpc := func(cidr, name string) string {
		out, err := sd.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr), TagSpecifications: tags(ec2types.ResourceTypeVpc, name)})
		sd.check("CreateVpc "+cidr, err)
		return aws.ToString(out.Vpc.VpcId)
	}
	subnet := func(vpcID, cidr, name string) string {
		out, err := sd.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr),
			TagSpecifications: tags(ec2types.ResourceTypeSubnet, name)})
		sd.check("CreateSubnet "+cidr, err)
		return aws.ToString(out.Subnet.SubnetId)
	}
	sd.sc.DatacenterVPC = vpc(DatacenterCIDR, "datacenter")
	sd.sc.DatacenterSubnet = subnet(sd.sc.DatacenterVPC, "192.168.1.0/24", "datacenter-appliance")
	rts, err := sd.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{sd.sc.DatacenterVPC}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	sd.check("DescribeRouteTables main", err)
	acls, err := sd.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{sd.sc.DatacenterVPC}}, {Name: aws.String("default"), Values: []string{"true"}}}})
	sd.check("DescribeNetworkAcls default", err)
	if len(rts.RouteTables) != 1 || len(acls.NetworkAcls) != 1 {
		sd.t.Fatalf("seed: the datacenter VPC has %d main route tables and %d default network ACLs, want one each", len(rts.RouteTables), len(acls.NetworkAcls))
	}
	sd.sc.MainRouteTable, sd.sc.NetworkACL = aws.ToString(rts.RouteTables[0].RouteTableId), aws.ToString(acls.NetworkAcls[0].NetworkAclId)

	tgw, err := sd.ec2.CreateTransitGateway(ctx, &ec2.CreateTransitGatewayInput{Description: aws.String("core"),
		TagSpecifications: tags(ec2types.ResourceTypeTransitGateway, "core-tgw")})
	sd.check("CreateTransitGateway", err)
	sd.sc.TransitGateway = aws.ToString(tgw.TransitGateway.TransitGatewayId)
	if o := tgw.TransitGateway.Options; o != nil {
		sd.sc.TGWRouteTable = aws.ToString(o.AssociationDefaultRouteTableId)
	}

	for i, cidr := range WorkloadCIDRs {
		name := fmt.Sprintf("workload-%c", 'a'+i)
		id := vpc(cidr, name)
		sub := subnet(id, strings.Replace(cidr, ".0.0/16", ".1.0/24", 1), name)
		sd.sc.WorkloadVPCs = append(sd.sc.WorkloadVPCs, id)
		sd.sc.WorkloadSubnets = append(sd.sc.WorkloadSubnets, sub)
		att, err := sd.ec2.CreateTransitGatewayVpcAttachment(ctx, &ec2.CreateTransitGatewayVpcAttachmentInput{
			TransitGatewayId: aws.String(sd.sc.TransitGateway), VpcId: aws.String(id), SubnetIds: []string{sub},
			TagSpecifications: tags(ec2types.ResourceTypeTransitGatewayAttachment, name)})
		sd.check("CreateTransitGatewayVpcAttachment "+name, err)
		sd.sc.VPCAttachments = append(sd.sc.VPCAttachments, aws.ToString(att.TransitGatewayVpcAttachment.TransitGatewayAttachmentId))
		// The workload's way to the datacenter: through the Transit Gateway.
		rts, err := sd.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{id}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
		sd.check("DescribeRouteTables "+name, err)
		if len(rts.RouteTables) != 1 {
			sd.t.Fatalf("seed: %s has %d main route tables, want one", name, len(rts.RouteTables))
		}
		rt := aws.ToString(rts.RouteTables[0].RouteTableId)
		_, err = sd.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(DatacenterCIDR),
			TransitGatewayId: aws.String(sd.sc.TransitGateway)})
		sd.check("CreateRoute "+name, err)
		sd.sc.WorkloadRouteTables = append(sd.sc.WorkloadRouteTables, rt)
	}
	out, err := sd.ec2.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{TransitGatewayAttachmentIds: sd.sc.VPCAttachments})
	sd.check("DescribeTransitGatewayAttachments", err)
	for _, a := range out.TransitGatewayAttachments {
		if len(a.Tags) == 0 {
			sd.lack("DescribeTransitGatewayAttachments: the VPC attachments' tags (TagSpecifications of CreateTransitGatewayVpcAttachment) are not kept")
			break
		}
	}
}

// cgwConfig is the part of CustomerGatewayConfiguration read here.
type cgwConfig struct {
	Tunnels []struct {
		AWSOutside string `xml:"vpn_gateway>tunnel_outside_address>ip_address"`
		CGWOutside string `xml:"customer_gateway>tunnel_outside_address>ip_address"`
		PSK        string `xml:"ike>pre_shared_key"`
	} `xml:"ipsec_tunnel"`
}

// vpn allocates the Elastic IP, creates the customer gateway on it and the
// TGW VPN connection, and reads back what moto made of them.
func (sd *seeder) vpn() {
	ctx := sd.ctx
	eip, err := sd.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
		TagSpecifications: tags(ec2types.ResourceTypeElasticIp, "appliance-eip")})
	sd.check("AllocateAddress", err)
	sd.sc.EIPAllocation, sd.sc.EIP = aws.ToString(eip.AllocationId), aws.ToString(eip.PublicIp)
	if ip, err := netip.ParseAddr(sd.sc.EIP); err == nil && (ip.IsLoopback() || ip.IsPrivate()) {
		sd.lack("AllocateAddress: the Elastic IP %s is not a public address", sd.sc.EIP)
	}

	cgw, err := sd.ec2.CreateCustomerGateway(ctx, &ec2.CreateCustomerGatewayInput{Type: ec2types.GatewayTypeIpsec1,
		IpAddress: aws.String(sd.sc.EIP), BgpAsn: aws.Int32(65000),
		TagSpecifications: tags(ec2types.ResourceTypeCustomerGateway, "datacenter-appliance")})
	sd.check("CreateCustomerGateway", err)
	sd.sc.CustomerGateway = aws.ToString(cgw.CustomerGateway.CustomerGatewayId)
	if got := aws.ToString(cgw.CustomerGateway.IpAddress); got != sd.sc.EIP {
		sd.t.Fatalf("seed: CreateCustomerGateway kept IpAddress %q, want the Elastic IP %s", got, sd.sc.EIP)
	}

	vpn, err := sd.ec2.CreateVpnConnection(ctx, &ec2.CreateVpnConnectionInput{Type: aws.String("ipsec.1"),
		CustomerGatewayId: aws.String(sd.sc.CustomerGateway), TransitGatewayId: aws.String(sd.sc.TransitGateway),
		Options: &ec2types.VpnConnectionOptionsSpecification{TunnelOptions: []ec2types.VpnTunnelOptionsSpecification{
			{TunnelInsideCidr: aws.String("169.254.10.0/30")}, {TunnelInsideCidr: aws.String("169.254.11.0/30")}}},
		TagSpecifications: tags(ec2types.ResourceTypeVpnConnection, "datacenter-vpn")})
	sd.check("CreateVpnConnection", err)
	sd.sc.VPN = aws.ToString(vpn.VpnConnection.VpnConnectionId)
	atts, err := sd.ec2.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{sd.sc.VPN}}}})
	sd.check("DescribeTransitGatewayAttachments resource-id="+sd.sc.VPN, err)
	if len(atts.TransitGatewayAttachments) != 1 {
		sd.t.Fatalf("seed: %d Transit Gateway attachments for %s, want 1", len(atts.TransitGatewayAttachments), sd.sc.VPN)
	}
	sd.sc.VPNAttachment = aws.ToString(atts.TransitGatewayAttachments[0].TransitGatewayAttachmentId)
	if a := atts.TransitGatewayAttachments[0].Association; a == nil || aws.ToString(a.TransitGatewayRouteTableId) != sd.sc.TGWRouteTable {
		sd.t.Fatalf("seed: %s is not associated with the default route table %s: %+v", sd.sc.VPNAttachment, sd.sc.TGWRouteTable, a)
	}

	out, err := sd.ec2.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{VpnConnectionIds: []string{sd.sc.VPN}})
	sd.check("DescribeVpnConnections", err)
	if len(out.VpnConnections) != 1 {
		sd.t.Fatalf("seed: DescribeVpnConnections %s returned %d connections", sd.sc.VPN, len(out.VpnConnections))
	}
	v := out.VpnConnections[0]
	if v.Options != nil {
		for _, t := range v.Options.TunnelOptions {
			sd.sc.TunnelIPsInAPI = appendNew(sd.sc.TunnelIPsInAPI, aws.ToString(t.OutsideIpAddress))
		}
	}
	for _, t := range v.VgwTelemetry {
		sd.sc.TunnelIPsInAPI = appendNew(sd.sc.TunnelIPsInAPI, aws.ToString(t.OutsideIpAddress))
	}
	if v.Options == nil || len(v.Options.TunnelOptions) == 0 {
		sd.lack("DescribeVpnConnections: no Options (no TunnelOptions, so no tunnel outside IPs or inside CIDRs; the Options given to CreateVpnConnection are dropped)")
	}
	if len(v.VgwTelemetry) == 0 {
		sd.lack("DescribeVpnConnections: VgwTelemetry is empty (no tunnel status)")
	}
	if len(v.Routes) == 0 {
		sd.lack("DescribeVpnConnections: no Routes")
	}

	var conf cgwConfig
	raw := aws.ToString(v.CustomerGatewayConfiguration)
	if raw == "" {
		sd.lack("DescribeVpnConnections: no CustomerGatewayConfiguration")
	} else if err := xml.Unmarshal([]byte(raw), &conf); err != nil {
		sd.t.Fatalf("seed: CustomerGatewayConfiguration is not the XML expected: %v\n%s", err, raw)
	}
	var xmlIPs, cgwIPs []string
	for _, t := range conf.Tunnels {
		xmlIPs = appendNew(xmlIPs, strings.TrimSpace(t.AWSOutside))
		cgwIPs = appendNew(cgwIPs, strings.TrimSpace(t.CGWOutside))
		sd.sc.PreSharedKeys = appendNew(sd.sc.PreSharedKeys, strings.TrimSpace(t.PSK))
	}
	if len(conf.Tunnels) > 0 && len(xmlIPs) < len(conf.Tunnels) {
		sd.lack("CustomerGatewayConfiguration: its %d tunnels share one AWS outside address (%s)", len(conf.Tunnels), strings.Join(xmlIPs, ", "))
	}
	if len(cgwIPs) > 0 && (len(cgwIPs) != 1 || cgwIPs[0] != sd.sc.EIP) {
		sd.lack("CustomerGatewayConfiguration: the customer gateway's outside address is %s, not the customer gateway's IP %s", strings.Join(cgwIPs, ", "), sd.sc.EIP)
	}
	if len(sd.sc.PreSharedKeys) > 0 && len(sd.sc.PreSharedKeys) < len(conf.Tunnels) {
		sd.lack("CustomerGatewayConfiguration: one pre-shared key for all tunnels")
	}

	// The tunnel endpoints: the API's, else the configuration's, else fixed
	// ones, two of them.
	ips := append([]string(nil), sd.sc.TunnelIPsInAPI...)
	for _, ip := range append(xmlIPs, fallbackTunnelIPs...) {
		if len(ips) < 2 {
			ips = appendNew(ips, ip)
		}
	}
	sd.sc.TunnelIPs = ips
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// appliance launches the customer gateway's instance in the datacenter
// subnet behind a security group allowing IKE and NAT-T, disables its
// source/destination check and associates the Elastic IP.
func (sd *seeder) appliance() {
	ctx := sd.ctx
	sg, err := sd.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("vpn-appliance"),
		Description: aws.String("IPsec from the AWS tunnel endpoints"), VpcId: aws.String(sd.sc.DatacenterVPC),
		TagSpecifications: tags(ec2types.ResourceTypeSecurityGroup, "vpn-appliance")})
	sd.check("CreateSecurityGroup", err)
	sd.sc.SecurityGroup = aws.ToString(sg.GroupId)
	var perms []ec2types.IpPermission
	for _, port := range []int32{500, 4500} {
		perms = append(perms, ec2types.IpPermission{IpProtocol: aws.String("udp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("IKE / NAT-T")}}})
	}
	_, err = sd.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sd.sc.SecurityGroup), IpPermissions: perms})
	sd.check("AuthorizeSecurityGroupIngress", err)

	run, err := sd.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ImageID), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(sd.sc.DatacenterSubnet),
		SecurityGroupIds: []string{sd.sc.SecurityGroup}, PrivateIpAddress: aws.String(ApplianceIP),
		TagSpecifications: tags(ec2types.ResourceTypeInstance, "vpn-appliance")})
	sd.check("RunInstances", err)
	inst := run.Instances[0]
	sd.sc.Instance = aws.ToString(inst.InstanceId)
	if len(inst.NetworkInterfaces) == 0 {
		sd.t.Fatalf("seed: RunInstances returned no network interface for %s", sd.sc.Instance)
	}
	sd.sc.ENI = aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId)

	_, err = sd.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(sd.sc.Instance),
		SourceDestCheck: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
	sd.check("ModifyInstanceAttribute SourceDestCheck=false", err)
	_, err = sd.ec2.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: aws.String(sd.sc.EIPAllocation), InstanceId: aws.String(sd.sc.Instance)})
	sd.check("AssociateAddress", err)

	// AWS applies an instance's SourceDestCheck to its primary ENI.
	enis, err := sd.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{sd.sc.ENI}})
	sd.check("DescribeNetworkInterfaces", err)
	if len(enis.NetworkInterfaces) == 1 && aws.ToBool(enis.NetworkInterfaces[0].SourceDestCheck) {
		sd.lack("ModifyInstanceAttribute SourceDestCheck=false leaves the primary ENI's SourceDestCheck true (set on the ENI too)")
		_, err = sd.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(sd.sc.ENI),
			SourceDestCheck: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
		sd.check("ModifyNetworkInterfaceAttribute SourceDestCheck=false", err)
	}

	addrs, err := sd.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{sd.sc.EIPAllocation}})
	sd.check("DescribeAddresses", err)
	if len(addrs.Addresses) != 1 || aws.ToString(addrs.Addresses[0].NetworkInterfaceId) != sd.sc.ENI {
		sd.t.Fatalf("seed: the Elastic IP is not on the appliance's ENI %s: %+v", sd.sc.ENI, addrs.Addresses)
	}
}

// flowLog creates the log group and the flow log on the datacenter VPC.
func (sd *seeder) flowLog() {
	ctx := sd.ctx
	_, err := sd.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(LogGroup)})
	sd.check("CreateLogGroup", err)
	out, err := sd.ec2.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{sd.sc.DatacenterVPC}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType: ec2types.TrafficTypeAll, LogDestinationType: ec2types.LogDestinationTypeCloudWatchLogs,
		LogGroupName: aws.String(LogGroup), DeliverLogsPermissionArn: aws.String(FlowLogRoleARN),
		MaxAggregationInterval: aws.Int32(60), LogFormat: aws.String(LogFormat),
		TagSpecifications: tags(ec2types.ResourceTypeVpcFlowLog, "datacenter")})
	sd.check("CreateFlowLogs", err)
	if len(out.Unsuccessful) > 0 || len(out.FlowLogIds) != 1 {
		sd.t.Fatalf("seed: CreateFlowLogs: ids %v, unsuccessful %+v", out.FlowLogIds, out.Unsuccessful)
	}
	sd.sc.FlowLog = out.FlowLogIds[0]
	d, err := sd.ec2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{FlowLogIds: out.FlowLogIds})
	sd.check("DescribeFlowLogs", err)
	if len(d.FlowLogs) != 1 {
		sd.t.Fatalf("seed: DescribeFlowLogs %s returned %d flow logs", sd.sc.FlowLog, len(d.FlowLogs))
	}
	fl := d.FlowLogs[0]
	if got := aws.ToString(fl.LogFormat); got != LogFormat {
		sd.t.Fatalf("seed: moto kept LogFormat %q, want %q", got, LogFormat)
	}
	if got := aws.ToInt32(fl.MaxAggregationInterval); got != 60 {
		sd.t.Fatalf("seed: moto kept MaxAggregationInterval %d, want 60", got)
	}
	if fl.LogDestination == nil {
		sd.lack("DescribeFlowLogs: no LogDestination (the log group's ARN) for a CloudWatch Logs flow log")
	}
}

// records writes the flow-log records of the appliance's ENI: traffic every
// minute until the stop, NODATA after it until now.
func (sd *seeder) records(now time.Time) {
	sc := &sd.sc
	sc.LogStream = sc.ENI + "-all"
	_, err := sd.logs.CreateLogStream(sd.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(LogGroup), LogStreamName: aws.String(sc.LogStream)})
	sd.check("CreateLogStream", err)

	// The fields in LogFormat's order.
	rec := func(dir, action, status string, start time.Time, src, sport, dst, dport, proto string, packets, bytes int) string {
		p, b := fmt.Sprint(packets), fmt.Sprint(bytes)
		if status != "OK" {
			p, b = "-", "-"
		}
		return strings.Join([]string{"5", Account, sc.ENI, dir, action, status, fmt.Sprint(start.Unix()), fmt.Sprint(start.Add(time.Minute).Unix()),
			src, sport, dst, dport, proto, p, b}, " ")
	}
	var events []cwltypes.InputLogEvent
	add := func(start time.Time, msg string) {
		events = append(events, cwltypes.InputLogEvent{Timestamp: aws.Int64(start.UnixMilli()), Message: aws.String(msg)})
	}
	for m := sc.FirstRecord; m.Before(sc.Stop); m = m.Add(time.Minute) {
		for _, ip := range sc.TunnelIPs {
			add(m, rec("egress", "ACCEPT", "OK", m, ApplianceIP, "4500", ip, "4500", "17", 12, 1840))
			add(m, rec("ingress", "ACCEPT", "OK", m, ip, "4500", ApplianceIP, "4500", "17", 11, 1720))
			sc.TrafficRecords += 2
		}
		// A datacenter host's session to a workload, routed through the
		// appliance (source/destination check off): across the VPN.
		add(m, rec("ingress", "ACCEPT", "OK", m, DatacenterHost, "51514", WorkloadHost, "443", "6", 40, 5200))
		add(m, rec("egress", "ACCEPT", "OK", m, WorkloadHost, "443", DatacenterHost, "51514", "6", 38, 48100))
		sc.TrafficRecords += 2
	}
	for m := sc.Stop; m.Add(time.Minute).Before(now); m = m.Add(time.Minute) {
		add(m, rec("-", "-", "NODATA", m, "-", "-", "-", "-", "-", 0, 0))
		sc.NoDataRecords++
	}
	sort.SliceStable(events, func(i, j int) bool { return *events[i].Timestamp < *events[j].Timestamp })
	for lo := 0; lo < len(events); lo += 1000 {
		_, err := sd.logs.PutLogEvents(sd.ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(LogGroup),
			LogStreamName: aws.String(sc.LogStream), LogEvents: events[lo:min(lo+1000, len(events))]})
		sd.check("PutLogEvents", err)
	}
}

// metrics writes the VPN's and the appliance's metrics, one datapoint a
// minute: tunnels up and carrying data before the stop, down and idle after
// it; the instance's network metrics stop with it.
func (sd *seeder) metrics(now time.Time) {
	sc := sd.sc
	var data []cwtypes.MetricDatum
	put := func(ns, name string, at time.Time, v float64, unit cwtypes.StandardUnit, dims ...string) {
		d := cwtypes.MetricDatum{MetricName: aws.String(name), Timestamp: aws.Time(at), Value: aws.Float64(v), Unit: unit}
		for i := 0; i+1 < len(dims); i += 2 {
			d.Dimensions = append(d.Dimensions, cwtypes.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
		}
		data = append(data, d)
		if len(data) == 500 {
			sd.flushMetrics(ns, data)
			data = nil
		}
	}
	last := now.Truncate(time.Minute)
	sd.sc.LastDatapoint = last
	for _, ns := range []string{"AWS/VPN", "AWS/EC2"} {
		for m := sc.FirstRecord; !m.After(last); m = m.Add(time.Minute) {
			up := m.Before(sc.Stop)
			state, in, out := 0.0, 0.0, 0.0
			if up {
				state, in, out = 1, 52000, 61000
			}
			switch ns {
			case "AWS/VPN":
				put(ns, "TunnelState", m, state, cwtypes.StandardUnitNone, "VpnId", sc.VPN)
				put(ns, "TunnelDataIn", m, 2*in, cwtypes.StandardUnitBytes, "VpnId", sc.VPN)
				put(ns, "TunnelDataOut", m, 2*out, cwtypes.StandardUnitBytes, "VpnId", sc.VPN)
				for _, ip := range sc.TunnelIPs {
					put(ns, "TunnelState", m, state, cwtypes.StandardUnitNone, "TunnelIpAddress", ip)
					put(ns, "TunnelDataIn", m, in, cwtypes.StandardUnitBytes, "TunnelIpAddress", ip)
					put(ns, "TunnelDataOut", m, out, cwtypes.StandardUnitBytes, "TunnelIpAddress", ip)
				}
			case "AWS/EC2":
				if up {
					put(ns, "NetworkIn", m, 3*in, cwtypes.StandardUnitBytes, "InstanceId", sc.Instance)
					put(ns, "NetworkOut", m, 3*out, cwtypes.StandardUnitBytes, "InstanceId", sc.Instance)
				}
			}
		}
		if len(data) > 0 {
			sd.flushMetrics(ns, data)
			data = nil
		}
	}
}

func (sd *seeder) flushMetrics(ns string, data []cwtypes.MetricDatum) {
	_, err := sd.cw.PutMetricData(sd.ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data})
	sd.check("PutMetricData "+ns, err)
}

// cwTime is CloudWatch's timestamp form in StateReasonData.
const cwTime = "2006-01-02T15:04:05.000-0700"

// alarm creates VPN-Down and puts it in ALARM with the StateReasonData
// CloudWatch writes, its evaluated datapoint the first at 0.
func (sd *seeder) alarm() {
	ctx := sd.ctx
	sc := &sd.sc
	_, err := sd.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(AlarmName), AlarmDescription: aws.String("Both tunnels of the datacenter VPN are down"),
		Namespace: aws.String("AWS/VPN"), MetricName: aws.String("TunnelState"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("VpnId"), Value: aws.String(sc.VPN)}},
		Statistic:  cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), DatapointsToAlarm: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
	})
	sd.check("PutMetricAlarm", err)

	// In CloudWatch's own member order and number forms.
	query := time.Now().UTC()
	data := fmt.Sprintf(`{"version":"1.0","queryDate":%q,"startDate":%q,"statistic":"Maximum","period":60,`+
		`"recentDatapoints":[0.0],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":%q,"sampleCount":1.0,"value":0.0}]}`,
		query.Format(cwTime), sc.Stop.Format(cwTime), sc.Stop.Format(cwTime))
	if !json.Valid([]byte(data)) {
		sd.t.Fatalf("seed: StateReasonData is not JSON: %s", data)
	}
	reason := fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [0.0 (%s)] was less than the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",
		sc.Stop.Format("02/01/06 15:04:05"))
	_, err = sd.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(AlarmName), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String(reason), StateReasonData: aws.String(data)})
	sd.check("SetAlarmState", err)

	out, err := sd.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{AlarmName}})
	sd.check("DescribeAlarms", err)
	if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm {
		sd.t.Fatalf("seed: %s is not in ALARM after SetAlarmState: %+v", AlarmName, out.MetricAlarms)
	}
	a := out.MetricAlarms[0]
	sc.AlarmTime = aws.ToTime(a.StateUpdatedTimestamp).UTC()
	if a.StateTransitionedTimestamp == nil {
		sd.lack("DescribeAlarms: no StateTransitionedTimestamp (StateUpdatedTimestamp is the SetAlarmState time)")
	}
	if aws.ToString(a.StateReasonData) != data {
		sd.lack("DescribeAlarms: StateReasonData not returned as set")
	}
	if _, err := sd.trail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)}); err != nil {
		sd.lack("CloudTrail LookupEvents fails (%s)", failure(err))
	}
	if _, err := sd.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String(AlarmName)}); err != nil {
		sd.lack("CloudWatch DescribeAlarmHistory fails (%s)", failure(err))
	}
}

// stop stops the appliance.
func (sd *seeder) stop() {
	ctx := sd.ctx
	_, err := sd.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{sd.sc.Instance}})
	sd.check("StopInstances", err)
	out, err := sd.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{sd.sc.Instance}})
	sd.check("DescribeInstances", err)
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		sd.t.Fatalf("seed: DescribeInstances %s: %+v", sd.sc.Instance, out.Reservations)
	}
	if st := out.Reservations[0].Instances[0].State; st == nil || st.Name != ec2types.InstanceStateNameStopped {
		sd.t.Fatalf("seed: %s is %+v after StopInstances, want stopped", sd.sc.Instance, st)
	}
}

// failure says how a call failed: its HTTP status, else its error.
func failure(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
