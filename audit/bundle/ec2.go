package bundle

import (
	"context"
	"reflect"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 answers EC2 describe calls from a bundle: by the IDs asked and by
// filters (see filter.go), items deduplicated by ID across files; paged by
// MaxResults where the API pages.
type EC2 struct{ b *Bundle }

// EC2 returns the bundle's EC2 client.
func (b *Bundle) EC2() *EC2 { return &EC2{b} }

// selectItems is the shared body of every describe call: decode each file's
// output, pull the items, keep the first item of each ID that is among ids
// (when given) and passes the filters.
func selectItems[Out, Item any](b *Bundle, op string, items func(*Out) []Item, id func(*Item) *string, ids []string, filters []ec2types.Filter) ([]Item, error) {
	outs, _, err := outputs[Out](b, "ec2", op)
	if err != nil {
		return nil, err
	}
	cf, err := compileFilters(reflect.TypeOf((*Item)(nil)).Elem(), filters)
	if err != nil {
		return nil, err
	}
	var res []Item
	seen := map[string]bool{}
	for _, o := range outs {
		for _, it := range items(o) {
			key := aws.ToString(id(&it))
			if key != "" && seen[key] {
				continue
			}
			if len(ids) > 0 && !slices.Contains(ids, key) {
				continue
			}
			if !match(reflect.ValueOf(it), cf) {
				continue
			}
			seen[key] = true
			res = append(res, it)
		}
	}
	return res, nil
}

func pageAll[T any](items []T, token *string, max *int32) ([]T, *string, error) {
	return paginate(items, token, int(aws.ToInt32(max)), len(items)+1, 1<<30)
}

// DescribeVpnConnections by VpnConnectionIds and Filters.
func (c *EC2) DescribeVpnConnections(ctx context.Context, in *ec2.DescribeVpnConnectionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpnConnectionsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeVpnConnections",
		func(o *ec2.DescribeVpnConnectionsOutput) []ec2types.VpnConnection { return o.VpnConnections },
		func(i *ec2types.VpnConnection) *string { return i.VpnConnectionId }, in.VpnConnectionIds, in.Filters)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpnConnectionsOutput{VpnConnections: items}, nil
}

// DescribeCustomerGateways by CustomerGatewayIds and Filters.
func (c *EC2) DescribeCustomerGateways(ctx context.Context, in *ec2.DescribeCustomerGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeCustomerGatewaysOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeCustomerGateways",
		func(o *ec2.DescribeCustomerGatewaysOutput) []ec2types.CustomerGateway { return o.CustomerGateways },
		func(i *ec2types.CustomerGateway) *string { return i.CustomerGatewayId }, in.CustomerGatewayIds, in.Filters)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeCustomerGatewaysOutput{CustomerGateways: items}, nil
}

// DescribeVpnGateways by VpnGatewayIds and Filters.
func (c *EC2) DescribeVpnGateways(ctx context.Context, in *ec2.DescribeVpnGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpnGatewaysOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeVpnGateways",
		func(o *ec2.DescribeVpnGatewaysOutput) []ec2types.VpnGateway { return o.VpnGateways },
		func(i *ec2types.VpnGateway) *string { return i.VpnGatewayId }, in.VpnGatewayIds, in.Filters)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpnGatewaysOutput{VpnGateways: items}, nil
}

// DescribeAddresses by AllocationIds, PublicIps and Filters.
func (c *EC2) DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeAddresses",
		func(o *ec2.DescribeAddressesOutput) []ec2types.Address { return o.Addresses },
		func(i *ec2types.Address) *string {
			if i.AllocationId != nil {
				return i.AllocationId
			}
			return i.PublicIp
		}, in.AllocationIds, in.Filters)
	if err != nil {
		return nil, err
	}
	if len(in.PublicIps) > 0 {
		var keep []ec2types.Address
		for _, a := range items {
			if slices.Contains(in.PublicIps, aws.ToString(a.PublicIp)) {
				keep = append(keep, a)
			}
		}
		items = keep
	}
	return &ec2.DescribeAddressesOutput{Addresses: items}, nil
}

// DescribeNetworkInterfaces by NetworkInterfaceIds and Filters.
func (c *EC2) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeNetworkInterfaces",
		func(o *ec2.DescribeNetworkInterfacesOutput) []ec2types.NetworkInterface { return o.NetworkInterfaces },
		func(i *ec2types.NetworkInterface) *string { return i.NetworkInterfaceId }, in.NetworkInterfaceIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: page, NextToken: next}, nil
}

// DescribeInstances by InstanceIds and Filters; each matching instance
// comes back in its recorded reservation.
func (c *EC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[ec2.DescribeInstancesOutput](c.b, "ec2", "DescribeInstances")
	if err != nil {
		return nil, err
	}
	cf, err := compileFilters(reflect.TypeOf(ec2types.Instance{}), in.Filters)
	if err != nil {
		return nil, err
	}
	var res []ec2types.Reservation
	seen := map[string]bool{}
	for _, o := range outs {
		for _, r := range o.Reservations {
			var keep []ec2types.Instance
			for _, i := range r.Instances {
				id := aws.ToString(i.InstanceId)
				if seen[id] || len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, id) || !match(reflect.ValueOf(i), cf) {
					continue
				}
				seen[id] = true
				keep = append(keep, i)
			}
			if len(keep) > 0 {
				r.Instances = keep
				res = append(res, r)
			}
		}
	}
	page, next, err := pageAll(res, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeInstancesOutput{Reservations: page, NextToken: next}, nil
}

// DescribeSecurityGroups by GroupIds, GroupNames and Filters.
func (c *EC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeSecurityGroups",
		func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups },
		func(i *ec2types.SecurityGroup) *string { return i.GroupId }, in.GroupIds, in.Filters)
	if err != nil {
		return nil, err
	}
	if len(in.GroupNames) > 0 {
		var keep []ec2types.SecurityGroup
		for _, g := range items {
			if slices.Contains(in.GroupNames, aws.ToString(g.GroupName)) {
				keep = append(keep, g)
			}
		}
		items = keep
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: page, NextToken: next}, nil
}

// DescribeSubnets by SubnetIds and Filters.
func (c *EC2) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeSubnets",
		func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets },
		func(i *ec2types.Subnet) *string { return i.SubnetId }, in.SubnetIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSubnetsOutput{Subnets: page, NextToken: next}, nil
}

// DescribeVpcs by VpcIds and Filters.
func (c *EC2) DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeVpcs",
		func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs },
		func(i *ec2types.Vpc) *string { return i.VpcId }, in.VpcIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcsOutput{Vpcs: page, NextToken: next}, nil
}

// DescribeRouteTables by RouteTableIds and Filters.
func (c *EC2) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeRouteTables",
		func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables },
		func(i *ec2types.RouteTable) *string { return i.RouteTableId }, in.RouteTableIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: page, NextToken: next}, nil
}

// DescribeNetworkAcls by NetworkAclIds and Filters.
func (c *EC2) DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeNetworkAcls",
		func(o *ec2.DescribeNetworkAclsOutput) []ec2types.NetworkAcl { return o.NetworkAcls },
		func(i *ec2types.NetworkAcl) *string { return i.NetworkAclId }, in.NetworkAclIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: page, NextToken: next}, nil
}

// DescribeFlowLogs by FlowLogIds and Filter (the API's singular name).
func (c *EC2) DescribeFlowLogs(ctx context.Context, in *ec2.DescribeFlowLogsInput, _ ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeFlowLogs",
		func(o *ec2.DescribeFlowLogsOutput) []ec2types.FlowLog { return o.FlowLogs },
		func(i *ec2types.FlowLog) *string { return i.FlowLogId }, in.FlowLogIds, in.Filter)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeFlowLogsOutput{FlowLogs: page, NextToken: next}, nil
}

// DescribeTransitGatewayAttachments by TransitGatewayAttachmentIds and Filters.
func (c *EC2) DescribeTransitGatewayAttachments(ctx context.Context, in *ec2.DescribeTransitGatewayAttachmentsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayAttachmentsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeTransitGatewayAttachments",
		func(o *ec2.DescribeTransitGatewayAttachmentsOutput) []ec2types.TransitGatewayAttachment {
			return o.TransitGatewayAttachments
		},
		func(i *ec2types.TransitGatewayAttachment) *string { return i.TransitGatewayAttachmentId },
		in.TransitGatewayAttachmentIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeTransitGatewayAttachmentsOutput{TransitGatewayAttachments: page, NextToken: next}, nil
}

// DescribeTransitGatewayRouteTables by TransitGatewayRouteTableIds and Filters.
func (c *EC2) DescribeTransitGatewayRouteTables(ctx context.Context, in *ec2.DescribeTransitGatewayRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayRouteTablesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeTransitGatewayRouteTables",
		func(o *ec2.DescribeTransitGatewayRouteTablesOutput) []ec2types.TransitGatewayRouteTable {
			return o.TransitGatewayRouteTables
		},
		func(i *ec2types.TransitGatewayRouteTable) *string { return i.TransitGatewayRouteTableId },
		in.TransitGatewayRouteTableIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeTransitGatewayRouteTablesOutput{TransitGatewayRouteTables: page, NextToken: next}, nil
}

// DescribeTransitGateways by TransitGatewayIds and Filters.
func (c *EC2) DescribeTransitGateways(ctx context.Context, in *ec2.DescribeTransitGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewaysOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := selectItems(c.b, "DescribeTransitGateways",
		func(o *ec2.DescribeTransitGatewaysOutput) []ec2types.TransitGateway { return o.TransitGateways },
		func(i *ec2types.TransitGateway) *string { return i.TransitGatewayId }, in.TransitGatewayIds, in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pageAll(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeTransitGatewaysOutput{TransitGateways: page, NextToken: next}, nil
}
