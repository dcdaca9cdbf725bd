package collect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/vpnaudit/vpnaudit/audit"
)

// maxQueriesPerCall is GetMetricData's limit on queries in one request.
const maxQueriesPerCall = 500

// wanted is a metric series to fetch.
type wanted struct {
	id      audit.MetricID
	subject string
	label   string
}

// getMetrics fetches the series in batches of at most 500 queries, paging
// each batch, and returns them in the order asked (oldest point first).
// When a batch's pagination had to be stopped (a *PagingError), the series
// read so far are returned with the error.
func (k *collector) getMetrics(ctx context.Context, ws []wanted, start, end time.Time) ([]audit.Series, error) {
	var stopped error
	out := make([]audit.Series, len(ws))
	for i, w := range ws {
		out[i] = audit.Series{ID: w.id, Subject: w.subject, Label: w.label}
	}
	for lo := 0; lo < len(ws); lo += maxQueriesPerCall {
		hi := min(lo+maxQueriesPerCall, len(ws))
		in := &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(start.Truncate(time.Minute)),
			EndTime:   aws.Time(end.Truncate(time.Minute).Add(time.Minute)),
			ScanBy:    cwtypes.ScanByTimestampAscending,
		}
		for i := lo; i < hi; i++ {
			in.MetricDataQueries = append(in.MetricDataQueries, query(fmt.Sprintf("m%d", i), ws[i].id))
		}
		p := cloudwatch.NewGetMetricDataPaginator(k.c.CloudWatch, in)
		guard := newPageGuard("CloudWatch", "GetMetricData")
		for p.HasMorePages() {
			k.call("cloudwatch", "GetMetricData")
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, r := range page.MetricDataResults {
				var i int
				if _, err := fmt.Sscanf(aws.ToString(r.Id), "m%d", &i); err != nil || i < lo || i >= hi {
					continue
				}
				for j, t := range r.Timestamps {
					if j < len(r.Values) {
						out[i].Points = append(out[i].Points, audit.Point{Time: t.UTC(), Value: r.Values[j]})
					}
				}
			}
			if err := guard.check(len(page.MetricDataResults), page.NextToken); err != nil {
				stopped = err
				break
			}
		}
	}
	for i := range out {
		pts := out[i].Points
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].Time.Before(pts[b].Time) })
	}
	return out, stopped
}

func query(id string, m audit.MetricID) cwtypes.MetricDataQuery {
	metric := &cwtypes.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name)}
	for _, d := range m.Dimensions {
		metric.Dimensions = append(metric.Dimensions, cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
	}
	period := m.Period
	if period <= 0 {
		period = 60
	}
	return cwtypes.MetricDataQuery{
		Id:         aws.String(id),
		MetricStat: &cwtypes.MetricStat{Metric: metric, Period: aws.Int32(int32(period)), Stat: aws.String(m.Stat)},
		ReturnData: aws.Bool(true),
	}
}

func metricID(ns, name, stat string, dims ...string) audit.MetricID {
	m := audit.MetricID{Namespace: ns, Name: name, Stat: stat, Period: 60}
	for i := 0; i+1 < len(dims); i += 2 {
		m.Dimensions = append(m.Dimensions, audit.Dimension{Name: dims[i], Value: dims[i+1]})
	}
	return m
}

// wantedMetrics lists the series that show each step of the path: the
// VPN's and each tunnel's state and data, the appliance's network and
// status checks, the Transit Gateway's drops and the VPN attachment's bytes.
func (k *collector) wantedMetrics() []wanted {
	var ws []wanted
	sc := k.ev.Scope
	for _, r := range sc.Resources {
		switch r.Type {
		case audit.TypeVPN:
			ws = append(ws,
				wanted{metricID("AWS/VPN", "TunnelState", "Maximum", "VpnId", r.ID), r.ID, "TunnelState of " + r.ID},
				wanted{metricID("AWS/VPN", "TunnelDataIn", "Sum", "VpnId", r.ID), r.ID, "TunnelDataIn of " + r.ID},
				wanted{metricID("AWS/VPN", "TunnelDataOut", "Sum", "VpnId", r.ID), r.ID, "TunnelDataOut of " + r.ID})
		case audit.TypeTunnel:
			ip := r.Attrs["outside-ip"]
			ws = append(ws,
				wanted{metricID("AWS/VPN", "TunnelState", "Maximum", "TunnelIpAddress", ip), ip, "TunnelState of tunnel " + ip},
				wanted{metricID("AWS/VPN", "TunnelDataIn", "Sum", "TunnelIpAddress", ip), ip, "TunnelDataIn of tunnel " + ip},
				wanted{metricID("AWS/VPN", "TunnelDataOut", "Sum", "TunnelIpAddress", ip), ip, "TunnelDataOut of tunnel " + ip})
		case audit.TypeInstance:
			if r.Side != audit.SideCustomer {
				continue
			}
			ws = append(ws,
				wanted{metricID("AWS/EC2", "NetworkIn", "Sum", "InstanceId", r.ID), r.ID, "NetworkIn of " + label(r)},
				wanted{metricID("AWS/EC2", "NetworkOut", "Sum", "InstanceId", r.ID), r.ID, "NetworkOut of " + label(r)},
				wanted{metricID("AWS/EC2", "StatusCheckFailed", "Maximum", "InstanceId", r.ID), r.ID, "StatusCheckFailed of " + label(r)})
		case audit.TypeTGW:
			ws = append(ws,
				wanted{metricID("AWS/TransitGateway", "PacketDropCountNoRoute", "Sum", "TransitGateway", r.ID), r.ID, "PacketDropCountNoRoute of " + r.ID},
				wanted{metricID("AWS/TransitGateway", "PacketDropCountBlackhole", "Sum", "TransitGateway", r.ID), r.ID, "PacketDropCountBlackhole of " + r.ID},
				wanted{metricID("AWS/TransitGateway", "BytesIn", "Sum", "TransitGateway", r.ID), r.ID, "BytesIn of " + r.ID},
				wanted{metricID("AWS/TransitGateway", "BytesOut", "Sum", "TransitGateway", r.ID), r.ID, "BytesOut of " + r.ID})
		}
	}
	// The alarm's own series is read again over the whole window (the
	// incident read it only up to the alarm); it replaces the first read.
	a := k.ev.Incident.Alarm
	out := []wanted{{id: a.Metric, subject: alarmSubject(a), label: a.Metric.Name + " (the alarm's metric)"}}
	for _, w := range ws {
		if !(audit.SameMetric(a.Metric, w.id) && a.Metric.Stat == w.id.Stat) {
			out = append(out, w)
		}
	}
	return out
}

func label(r audit.Resource) string {
	if r.Name != "" {
		return fmt.Sprintf("%s (%s)", r.ID, r.Name)
	}
	return r.ID
}

// metrics fetches the path's series over the window.
func (k *collector) metrics(ctx context.Context) audit.Coverage {
	ws := k.wantedMetrics()
	k.progress("metrics", "fetching %d metric series", len(ws))
	series, err := k.getMetrics(ctx, ws, k.ev.Window.Start, k.ev.Window.End)
	if err != nil && !isPaging(err) {
		return audit.Coverage{Source: "metrics", Status: audit.CoverageMissing,
			Detail: fmt.Sprintf("GetMetricData failed: %s; only the alarm's own metric is known", why(err))}
	}
	empty := 0
	var names []string
	k.ev.Metrics = nil // the alarm's first, shorter read is replaced
	for _, s := range series {
		if len(s.Points) == 0 {
			empty++
			names = append(names, s.ID.String())
			continue
		}
		k.ev.Metrics = append(k.ev.Metrics, s)
	}
	total := len(series)
	if err != nil { // a paging error: what was read is used
		return audit.Coverage{Source: "metrics", Status: audit.CoveragePartial,
			Detail: fmt.Sprintf("%d of %d series have datapoints; %v", total-empty, total, err)}
	}
	if empty == 0 {
		return audit.Coverage{Source: "metrics", Status: audit.CoverageOK, Detail: fmt.Sprintf("%d series with datapoints", total)}
	}
	detail := fmt.Sprintf("%d of %d series have datapoints; none for %s", total-empty, total, joinMax(names, 4))
	status := audit.CoveragePartial
	if empty == len(series) {
		status = audit.CoverageMissing
		detail = fmt.Sprintf("no datapoints for any of the %d series asked (%s)", len(series), joinMax(names, 4))
	}
	return audit.Coverage{Source: "metrics", Status: status, Detail: detail}
}

func joinMax(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
