package collect

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Logs Insights queries that aggregate flow logs server-side.
//
// Every query parses @message with the flow log's own LogFormat into fields
// named fl_<field> (fl_srcaddr, fl_log_status, …: prefixed so they never
// meet the fields Logs Insights discovers in default-format flow logs),
// keeps the ENIs' streams and the window (to the millisecond), and counts
// per interface and start minute. The classification the FlowAggregator
// makes record by record is made by filters, one query per class, because
// Logs Insights has no conditional expression to compute a class in one
// pass:
//
//	status         every record: count, min(start), max(end) per log-status
//	ipsec          IKE/NAT-T/ESP with a tunnel endpoint, per srcaddr/dstaddr
//	to-aws         customer side → AWS side, not IPsec
//	to-customer    AWS side → customer side, not IPsec nor to-aws
//	other          the rest, per flow-direction when the format has it;
//	other-egress   else split by whether srcaddr is the interface's own
//	other-ingress  address (two queries)
//
// Only documented Logs Insights QL is used: parse with a glob pattern,
// filter with and/or/not, in [...], =, isIpInSubnet and toMillis(@timestamp),
// fields with floor and arithmetic, stats count(*)/sum/min/max by fields.
// Each query's rows are bounded by interfaces × minutes × a few keys.

// Query kinds, one per class (see above).
const (
	qStatus       = "status"
	qIPsec        = "ipsec"
	qToAWS        = "to-aws"
	qToCustomer   = "to-customer"
	qOther        = "other"
	qOtherEgress  = "other-egress"
	qOtherIngress = "other-ingress"
)

// maxQueryLen is Logs Insights' limit on a query string.
const maxQueryLen = 10000

// expr is a Logs Insights boolean expression, rendered fully parenthesised
// so nothing depends on operator precedence. exprFalse and exprTrue are
// folded away when building.
type expr interface{ render() string }

type (
	exprConst bool
	exprAnd   []expr
	exprOr    []expr
	exprNot   struct{ x expr }
	// exprIn is `field in ["a", "b"]` (strings) or `field in [1, 2]`.
	exprIn struct {
		field  string
		values []string
		num    bool
	}
	// exprEq is `field = "v"` or `field = 1`.
	exprEq struct {
		field, value string
		num          bool
	}
	// exprSubnet is isIpInSubnet(field, "cidr").
	exprSubnet struct{ field, cidr string }
)

const (
	exprFalse = exprConst(false)
	exprTrue  = exprConst(true)
)

func (c exprConst) render() string {
	if c {
		return "1 = 1"
	}
	return "1 = 0"
}

func (a exprAnd) render() string { return join(a, " and ") }
func (o exprOr) render() string  { return join(o, " or ") }
func (n exprNot) render() string { return "not (" + n.x.render() + ")" }
func (i exprIn) render() string {
	vals := make([]string, len(i.values))
	for k, v := range i.values {
		vals[k] = lit(v, i.num)
	}
	return i.field + " in [" + strings.Join(vals, ", ") + "]"
}
func (e exprEq) render() string { return e.field + " = " + lit(e.value, e.num) }
func (s exprSubnet) render() string {
	return "isIpInSubnet(" + s.field + ", " + strconv.Quote(s.cidr) + ")"
}

func lit(v string, num bool) string {
	if num {
		return v
	}
	return strconv.Quote(v)
}

func paren(x expr) string {
	switch x.(type) {
	case exprAnd, exprOr:
		return "(" + x.render() + ")"
	}
	return x.render()
}

func join(xs []expr, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = paren(x)
	}
	return strings.Join(parts, sep)
}

// and builds a conjunction, folding constants.
func and(xs ...expr) expr {
	var out exprAnd
	for _, x := range xs {
		switch x {
		case exprTrue:
			continue
		case exprFalse:
			return exprFalse
		}
		out = append(out, x)
	}
	switch len(out) {
	case 0:
		return exprTrue
	case 1:
		return out[0]
	}
	return out
}

// or builds a disjunction, folding constants.
func or(xs ...expr) expr {
	var out exprOr
	for _, x := range xs {
		switch x {
		case exprFalse:
			continue
		case exprTrue:
			return exprTrue
		}
		out = append(out, x)
	}
	switch len(out) {
	case 0:
		return exprFalse
	case 1:
		return out[0]
	}
	return out
}

func not(x expr) expr {
	switch x {
	case exprTrue:
		return exprFalse
	case exprFalse:
		return exprTrue
	}
	return exprNot{x}
}

// insightsQuery is one class's query over a group of ENIs' streams; text
// renders it for a time range.
type insightsQuery struct {
	kind string
	// iface is the field naming the interface: fl_interface_id, or
	// @logStream when the format has no interface-id.
	iface   string
	streams []string
	parse   string
	filter  expr // the class filter; exprTrue for status
	by      []string
	stats   string
}

// text is the query string for records stamped in [lo, hi] (milliseconds,
// both inclusive, as FilterLogEvents reads them).
func (q insightsQuery) text(lo, hi time.Time) string {
	quoted := make([]string, len(q.streams))
	for i, s := range q.streams {
		quoted[i] = strconv.Quote(s)
	}
	lines := []string{
		q.parse,
		"| filter @logStream in [" + strings.Join(quoted, ", ") + "]",
		fmt.Sprintf("| filter toMillis(@timestamp) >= %d and toMillis(@timestamp) <= %d", lo.UnixMilli(), hi.UnixMilli()),
	}
	if q.filter != exprTrue {
		lines = append(lines, "| filter "+q.filter.render())
	}
	lines = append(lines,
		"| fields floor(fl_start / 60) * 60 as minute",
		"| stats "+q.stats+" by "+strings.Join(q.by, ", "))
	return strings.Join(lines, "\n")
}

// insightsField is the Logs Insights name vpnaudit parses a flow-log field
// into.
func insightsField(name string) string { return "fl_" + strings.ReplaceAll(name, "-", "_") }

// planInsights builds the queries that aggregate a flow log's records of
// the ENIs (streams suffixed per the traffic type) the way agg classifies
// them. It fails when the format lacks what the aggregation needs.
func planInsights(format flowlog.Format, trafficType string, enis []string, c audit.FlowClassifier) ([]insightsQuery, error) {
	names := format.Fields()
	has := func(n string) bool { return slices.Contains(names, n) }
	if !has("start") {
		return nil, fmt.Errorf("its LogFormat has no ${start} field to place records in time")
	}
	fields := make([]string, len(names))
	for i, n := range names {
		fields[i] = insightsField(n)
	}
	parse := `parse @message "` + strings.TrimSpace(strings.Repeat("* ", len(names))) + `" as ` + strings.Join(fields, ", ")
	iface := "@logStream"
	if has("interface-id") {
		iface = insightsField("interface-id")
	}
	var streams []string
	ifaceValue := map[string]string{} // ENI → its value of the iface field
	for _, e := range enis {
		s := e + streamSuffix(trafficType)
		streams = append(streams, s)
		ifaceValue[e] = e
		if iface == "@logStream" {
			ifaceValue[e] = s
		}
	}

	// Atoms; a field the format lacks reads as "-" in every record, which
	// no atom matches.
	in := func(n string, vals []string, num bool) expr {
		if !has(n) || len(vals) == 0 {
			return exprFalse
		}
		if len(vals) == 1 {
			return exprEq{insightsField(n), vals[0], num}
		}
		return exprIn{insightsField(n), vals, num}
	}
	subnets := func(n string, ps []netip.Prefix) expr {
		if !has(n) {
			return exprFalse
		}
		var xs []expr
		for _, p := range ps {
			xs = append(xs, exprSubnet{insightsField(n), p.String()})
		}
		return or(xs...)
	}
	var tunnels []string
	for _, t := range c.Tunnels {
		tunnels = append(tunnels, t.String())
	}
	ikePorts := []string{"500", "4500"}
	ike := or(in("protocol", []string{"50"}, true),
		and(in("protocol", []string{"17"}, true), or(in("srcport", ikePorts, true), in("dstport", ikePorts, true))))
	ipsec := and(ike, or(in("dstaddr", tunnels, false), in("srcaddr", tunnels, false)))
	toAWS := and(subnets("srcaddr", c.Customer), subnets("dstaddr", c.AWS))
	toCustomer := and(subnets("srcaddr", c.AWS), subnets("dstaddr", c.Customer))
	traffic := not(in("log-status", []string{"NODATA", "SKIPDATA"}, false))

	count := "count(*) as records"
	sums := count
	if has("packets") {
		sums += ", sum(fl_packets) as packets"
	}
	if has("bytes") {
		sums += ", sum(fl_bytes) as bytes"
	}
	if has("end") {
		sums += ", max(fl_end) as last_end"
	}
	by := []string{iface, "minute"}
	if has("action") {
		by = append(by, insightsField("action"))
	}

	base := insightsQuery{iface: iface, streams: streams, parse: parse}
	var qs []insightsQuery
	add := func(kind string, filter expr, by []string, stats string) {
		if filter == exprFalse {
			return // no record can be of this class
		}
		q := base
		q.kind, q.filter, q.by, q.stats = kind, filter, by, stats
		qs = append(qs, q)
	}
	statusBy := []string{iface, "minute"}
	if has("log-status") {
		statusBy = append(statusBy, insightsField("log-status"))
	}
	statusStats := count + ", min(fl_start) as first"
	if has("end") {
		statusStats += ", max(fl_end) as last_end"
	}
	add(qStatus, exprTrue, statusBy, statusStats)
	add(qIPsec, and(traffic, ipsec), append(slices.Clone(by), insightsField("srcaddr"), insightsField("dstaddr")), sums)
	add(qToAWS, and(traffic, not(ipsec), toAWS), by, sums)
	add(qToCustomer, and(traffic, not(ipsec), not(toAWS), toCustomer), by, sums)
	other := and(traffic, not(ipsec), not(toAWS), not(toCustomer))
	if has("flow-direction") {
		add(qOther, other, append(slices.Clone(by), insightsField("flow-direction")), sums)
	} else {
		var own []expr
		for _, e := range enis {
			var addrs []string
			for _, a := range c.Addresses[e] {
				addrs = append(addrs, a.String())
			}
			if len(addrs) > 0 {
				own = append(own, and(exprEq{iface, ifaceValue[e], false}, in("srcaddr", addrs, false)))
			}
		}
		egress := or(own...)
		add(qOtherEgress, and(other, egress), by, sums)
		add(qOtherIngress, and(other, not(egress)), by, sums)
	}
	return qs, nil
}
