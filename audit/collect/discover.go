package collect

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// discoveryPages bounds the FilterLogEvents pages read per log group when
// looking for the customer gateway's host.
const discoveryPages = 3

// discovered is an interface found talking IKE to the tunnel endpoints.
type discovered struct {
	iface audit.Interface
	last  time.Time
	via   string
}

// applianceByTraffic looks through the account's flow logs (delivered to
// CloudWatch Logs) for the interface that exchanged IKE, NAT-T or ESP with
// the VPN's tunnel endpoints before the breach. The filter runs server-side
// on a tunnel endpoint's address, so only matching records are read.
func (p *scoper) applianceByTraffic(ctx context.Context) (discovered, bool) {
	k := p.k
	if len(p.s.Tunnels) == 0 || k.c.Logs == nil {
		return discovered{}, false
	}
	endpoints := map[string]bool{}
	for _, t := range p.s.Tunnels {
		endpoints[t.OutsideIP] = true
	}
	k.call("ec2", "DescribeFlowLogs")
	out, err := k.c.EC2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil {
		p.gap("DescribeFlowLogs (looking for the customer gateway's host)", err)
		return discovered{}, false
	}
	type tally struct {
		iface audit.Interface
		n     int
		last  time.Time
		group string
	}
	found := map[string]*tally{}
	seen := map[string]bool{}
	ep := k.ev.Incident.Episode
	for _, fl := range out.FlowLogs {
		group := aws.ToString(fl.LogGroupName)
		if group == "" {
			group = groupFromARN(aws.ToString(fl.LogDestination))
		}
		key := group + "|" + aws.ToString(fl.LogFormat)
		if group == "" || seen[key] || (fl.LogDestinationType != "" && fl.LogDestinationType != "cloud-watch-logs") {
			continue
		}
		seen[key] = true
		format := flowlog.DefaultFormat
		if f := aws.ToString(fl.LogFormat); f != "" {
			if format, err = flowlog.ParseFormat(f); err != nil {
				continue
			}
		}
		parser := flowlog.NewParser(format)
		var rec flowlog.Record
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:  aws.String(group),
			FilterPattern: aws.String(fmt.Sprintf("%q", p.s.Tunnels[0].OutsideIP)),
			StartTime:     aws.Int64(k.ev.Window.Start.UnixMilli()),
			EndTime:       aws.Int64(ep.FiredAt.UnixMilli()),
		}
		pg := cloudwatchlogs.NewFilterLogEventsPaginator(k.c.Logs, in)
		guard := newPageGuard("CloudWatch Logs", "FilterLogEvents")
		for pages := 0; pg.HasMorePages() && pages < discoveryPages; pages++ {
			k.call("logs", "FilterLogEvents")
			res, err := pg.NextPage(ctx)
			if err != nil {
				p.gap("FilterLogEvents "+group, err)
				break
			}
			for _, e := range res.Events {
				if parser.Parse([]byte(aws.ToString(e.Message)), &rec) != nil {
					continue
				}
				src, _ := rec.SrcAddr()
				dst, _ := rec.DstAddr()
				proto, _ := rec.Protocol()
				sport, _ := rec.SrcPort()
				dport, _ := rec.DstPort()
				ike := proto == 50 || proto == 17 && (sport == 500 || sport == 4500 || dport == 500 || dport == 4500)
				if !ike || !endpoints[src.String()] && !endpoints[dst.String()] {
					continue
				}
				eni, ok := rec.InterfaceID()
				if !ok {
					eni = streamENI(aws.ToString(e.LogStreamName))
				}
				if eni == "" {
					continue
				}
				t := found[eni]
				if t == nil {
					t = &tally{iface: audit.Interface{ID: eni}, group: group}
					found[eni] = t
				}
				t.n++
				if v, ok := rec.InstanceID(); ok {
					t.iface.Instance = v
				}
				if v, ok := rec.VpcID(); ok {
					t.iface.VpcID = v
				}
				if v, ok := rec.SubnetID(); ok {
					t.iface.SubnetID = v
				}
				for _, a := range []string{src.String(), dst.String()} {
					if !endpoints[a] {
						t.iface.Addresses = appendUnique(t.iface.Addresses, a)
					}
				}
				if end, ok := rec.End(); ok && end.After(t.last) {
					t.last = end
				}
			}
			if err := guard.check(len(res.Events), res.NextToken); err != nil {
				p.gap("FilterLogEvents "+group, err)
				break
			}
		}
	}
	if len(found) == 0 {
		return discovered{}, false
	}
	var ts []*tally
	for _, t := range found {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].n != ts[j].n {
			return ts[i].n > ts[j].n
		}
		return ts[i].iface.ID < ts[j].iface.ID
	})
	best := ts[0]
	if best.iface.VpcID == "" {
		// A flow log on a VPC names it.
		for _, fl := range out.FlowLogs {
			if aws.ToString(fl.LogGroupName) == best.group && len(aws.ToString(fl.ResourceId)) > 4 && aws.ToString(fl.ResourceId)[:4] == "vpc-" {
				best.iface.VpcID = aws.ToString(fl.ResourceId)
			}
		}
	}
	return discovered{iface: best.iface, last: best.last,
		via: fmt.Sprintf("FilterLogEvents %s for tunnel endpoint %s (%d IKE/NAT-T records)", best.group, p.s.Tunnels[0].OutsideIP, best.n)}, true
}

// streamENI returns the ENI a flow-log stream is named after (eni-…-all).
func streamENI(stream string) string {
	for _, suffix := range []string{"-all", "-accept", "-reject"} {
		if len(stream) > len(suffix) && stream[len(stream)-len(suffix):] == suffix {
			return stream[:len(stream)-len(suffix)]
		}
	}
	return ""
}
