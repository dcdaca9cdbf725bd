package bundle

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STS answers GetCallerIdentity from a bundle.
type STS struct{ b *Bundle }

// STS returns the bundle's STS client.
func (b *Bundle) STS() *STS { return &STS{b} }

// GetCallerIdentity returns the recorded identity (the first file's).
func (c *STS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[sts.GetCallerIdentityOutput](c.b, "sts", "GetCallerIdentity")
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// AutoScaling answers Auto Scaling describe calls from a bundle.
type AutoScaling struct{ b *Bundle }

// AutoScaling returns the bundle's Auto Scaling client.
func (b *Bundle) AutoScaling() *AutoScaling { return &AutoScaling{b} }

// DescribeAutoScalingInstances filters by InstanceIds.
func (c *AutoScaling) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[autoscaling.DescribeAutoScalingInstancesOutput](c.b, "autoscaling", "DescribeAutoScalingInstances")
	if err != nil {
		return nil, err
	}
	res := &autoscaling.DescribeAutoScalingInstancesOutput{}
	seen := map[string]bool{}
	for _, o := range outs {
		for _, i := range o.AutoScalingInstances {
			id := aws.ToString(i.InstanceId)
			if seen[id] || len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, id) {
				continue
			}
			seen[id] = true
			res.AutoScalingInstances = append(res.AutoScalingInstances, i)
		}
	}
	return res, nil
}

// DescribeAutoScalingGroups filters by AutoScalingGroupNames.
func (c *AutoScaling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[autoscaling.DescribeAutoScalingGroupsOutput](c.b, "autoscaling", "DescribeAutoScalingGroups")
	if err != nil {
		return nil, err
	}
	res := &autoscaling.DescribeAutoScalingGroupsOutput{}
	seen := map[string]bool{}
	for _, o := range outs {
		for _, g := range o.AutoScalingGroups {
			name := aws.ToString(g.AutoScalingGroupName)
			if seen[name] || len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, name) {
				continue
			}
			seen[name] = true
			res.AutoScalingGroups = append(res.AutoScalingGroups, g)
		}
	}
	return res, nil
}
