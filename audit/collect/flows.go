package collect

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// maxStreamsPerCall is FilterLogEvents' limit on logStreamNames.
const maxStreamsPerCall = 100

// traffic finds the flow logs covering the path's ENIs and aggregates their
// records over the window, page by page.
func (k *collector) traffic(ctx context.Context) audit.Coverage {
	cov := audit.Coverage{Source: "flow-logs"}
	ifaces := k.flowInterfaces
	if len(ifaces) == 0 {
		cov.Status, cov.Detail = audit.CoverageMissing, "no ENI on the path to read flow logs for"
		return cov
	}
	// A flow log may be on the ENI, its subnet or its VPC.
	resources := map[string]bool{}
	for _, i := range ifaces {
		resources[i.ID] = true
		resources[i.SubnetID] = true
		resources[i.VpcID] = true
	}
	delete(resources, "")
	k.call("ec2", "DescribeFlowLogs")
	out, err := k.c.EC2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{filter("resource-id", sortedKeys(resources)...)}})
	if err != nil {
		cov.Status, cov.Detail = audit.CoverageMissing, fmt.Sprintf("DescribeFlowLogs failed: %s; traffic is unknown", why(err))
		return cov
	}
	agg := audit.NewFlowAggregator(k.ev.Scope, ifaces)
	var logs []audit.FlowLog
	var problems, notes []string
	var fromS3 []audit.Traffic // aggregated apart (S3 objects, Athena), merged below
	covered := map[string]bool{}
	read := 0
	for _, fl := range out.FlowLogs {
		info := audit.FlowLog{
			ID: aws.ToString(fl.FlowLogId), ResourceID: aws.ToString(fl.ResourceId), TrafficType: string(fl.TrafficType),
			DestinationType: string(fl.LogDestinationType), Destination: aws.ToString(fl.LogDestination),
			LogGroup: aws.ToString(fl.LogGroupName), Format: aws.ToString(fl.LogFormat), Interval: int(aws.ToInt32(fl.MaxAggregationInterval)),
		}
		if info.Interval == 0 {
			info.Interval = 600 // the API's default
		}
		if info.DestinationType == "" && info.LogGroup != "" {
			info.DestinationType = "cloud-watch-logs"
		}
		if info.LogGroup == "" {
			info.LogGroup = groupFromARN(info.Destination)
		}
		var enis []string
		for _, i := range ifaces {
			if i.ID == info.ResourceID || i.SubnetID == info.ResourceID || i.VpcID == info.ResourceID {
				enis = append(enis, i.ID)
				agg.SetFlowLog(i.ID, info.ID)
			}
		}
		switch {
		case aws.ToString(fl.FlowLogStatus) != "" && aws.ToString(fl.FlowLogStatus) != "ACTIVE":
			problems = append(problems, fmt.Sprintf("%s is %s", info.ID, aws.ToString(fl.FlowLogStatus)))
		case info.DestinationType == "s3":
			r, err := k.readS3(ctx, fl, info, enis)
			notes, problems = append(notes, r.notes...), append(problems, r.problems...)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s (%s): %s", info.ID, info.Destination, why(err)))
				break
			}
			if r.unread { // no object for the window: not read, its ENIs not covered
				break
			}
			fromS3 = append(fromS3, r.traffic)
			info.Read, info.ReadBy = true, r.readBy
			read++
			for _, e := range enis {
				covered[e] = true
			}
		case info.DestinationType != "cloud-watch-logs":
			problems = append(problems, fmt.Sprintf("%s delivers to %s (%s): not read — vpnaudit reads flow logs from CloudWatch Logs; include the delivered objects in a bundle under s3/", info.ID, info.DestinationType, info.Destination))
		case k.ev.Account != "" && strings.Contains(info.Destination, ":logs:") && !strings.Contains(info.Destination, ":"+k.ev.Account+":"):
			problems = append(problems, fmt.Sprintf("%s delivers to a log group in another account (%s): run vpnaudit with credentials for that account", info.ID, info.Destination))
		default:
			format, err := flowlog.DefaultFormat, error(nil)
			if info.Format != "" {
				format, err = flowlog.ParseFormat(info.Format)
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s has a LogFormat vpnaudit cannot read: %v", info.ID, err))
				break
			}
			r, err := k.readLogGroup(ctx, agg, info, format, enis) // FilterLogEvents, or pushed down to Logs Insights
			notes, problems = append(notes, r.notes...), append(problems, r.problems...)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s (log group %s): %s", info.ID, info.LogGroup, why(err)))
				if !isPaging(err) {
					break
				}
				// Pagination stopped: the records read are aggregated and used.
			}
			info.Read, info.ReadBy = true, "logs:FilterLogEvents"
			if r.insights {
				info.ReadBy = "logs:StartQuery"
			}
			read++
			for _, e := range enis {
				covered[e] = true
			}
		}
		logs = append(logs, info)
	}
	t := mergeTraffic(agg.Traffic(), fromS3...)
	t.FlowLogs = logs
	k.ev.Traffic = t
	// A log group read without one record for the path's ENIs (not even
	// NODATA, which an idle ENI still gets) is not evidence of silence: the
	// streams are elsewhere, the flow log is newer than the window, or
	// delivery lags.
	active := map[string]bool{}
	for _, a := range t.Interfaces {
		active[a.FlowLog] = true
	}
	for _, fl := range logs {
		if fl.Read && fl.DestinationType == "cloud-watch-logs" && !active[fl.ID] && t.MalformedCount == 0 {
			problems = append(problems, fmt.Sprintf("%s (log group %s): no record for the path's ENIs in the window (check the streams <eni>-all, when the flow log was created, or delivery lag)", fl.ID, fl.LogGroup))
		}
	}

	var uncovered []string
	for _, i := range k.ev.Scope.ApplianceInterfaces {
		if !covered[i.ID] {
			uncovered = append(uncovered, i.ID)
		}
	}
	switch {
	case len(out.FlowLogs) == 0:
		cov.Status, cov.Detail = audit.CoverageMissing, "no flow log covers the path's ENIs, subnets or VPCs; traffic is unknown"
		return cov
	case read == 0:
		cov.Status, cov.Detail = audit.CoverageMissing, "no flow log could be read: "+strings.Join(problems, "; ")
		return cov
	}
	cov.Status = audit.CoverageOK
	cov.Detail = fmt.Sprintf("%d records from %d flow logs over %d ENIs (%d NODATA, %d SKIPDATA, %d on ENIs off the path)",
		t.Records, read, len(covered), t.NoData, t.SkipData, t.Unrelated)
	if t.MalformedCount > 0 {
		cov.Status = audit.CoveragePartial
		first := t.Malformed[0]
		cov.Detail += fmt.Sprintf("; %d %s did not parse (first: %s: %s)", t.MalformedCount, plural(t.MalformedCount, "record", "records"), first.Where, first.Reason)
	}
	if len(uncovered) > 0 {
		cov.Status = audit.CoveragePartial
		cov.Detail += "; no flow log read for the appliance's " + strings.Join(uncovered, ", ")
	}
	if len(problems) > 0 {
		cov.Status = audit.CoveragePartial
		cov.Detail += "; " + strings.Join(problems, "; ")
	}
	if len(notes) > 0 {
		cov.Detail += "; " + strings.Join(notes, "; ")
	}
	return cov
}

// groupFromARN returns the log group name of a CloudWatch Logs ARN.
func groupFromARN(arn string) string {
	if i := strings.Index(arn, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(arn[i+len(":log-group:"):], ":*")
	}
	return ""
}

// streamSuffix is the log stream suffix flow logs use for a traffic type.
func streamSuffix(trafficType string) string {
	switch trafficType {
	case "ACCEPT":
		return "-accept"
	case "REJECT":
		return "-reject"
	}
	return "-all"
}

// readGroup pages FilterLogEvents over the ENIs' streams in the window,
// parsing each message with the flow log's own format.
func (k *collector) readGroup(ctx context.Context, agg *audit.FlowAggregator, fl audit.FlowLog, format flowlog.Format, enis []string) error {
	parser := flowlog.NewParser(format)
	var rec flowlog.Record
	w := k.ev.Window
	for lo := 0; lo < len(enis); lo += maxStreamsPerCall {
		var streams []string
		for _, e := range enis[lo:min(lo+maxStreamsPerCall, len(enis))] {
			streams = append(streams, e+streamSuffix(fl.TrafficType))
		}
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:   aws.String(fl.LogGroup),
			LogStreamNames: streams,
			StartTime:      aws.Int64(w.Start.UnixMilli()),
			EndTime:        aws.Int64(w.End.UnixMilli()),
		}
		p := cloudwatchlogs.NewFilterLogEventsPaginator(k.c.Logs, in)
		guard := newPageGuard("CloudWatch Logs", "FilterLogEvents")
		pages := 0
		for p.HasMorePages() {
			k.call("logs", "FilterLogEvents")
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			pages++
			for _, e := range out.Events {
				stream := aws.ToString(e.LogStreamName)
				if err := parser.Parse([]byte(aws.ToString(e.Message)), &rec); err != nil {
					agg.Malformed(fmt.Sprintf("%s/%s event %s", fl.LogGroup, stream, aws.ToString(e.EventId)), err.Error())
					continue
				}
				agg.Add(&rec, stream)
			}
			k.progress("flow-logs", "%s: %d pages", fl.LogGroup, pages)
			if err := guard.check(len(out.Events), out.NextToken); err != nil {
				return err
			}
		}
	}
	return nil
}

// plural picks the word for n.
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
