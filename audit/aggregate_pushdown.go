package audit

import (
	"net/netip"
	"slices"
	"time"
)

// This file is the FlowAggregator's entry point for counts aggregated
// elsewhere (pushed down to CloudWatch Logs Insights): they land in the same
// series, interface activity and totals as records added one by one, so the
// correlation cannot tell the two paths apart.

// FlowClassifier is what the aggregator classifies records against: the
// VPN's tunnel endpoints, the customer-side and AWS-side prefixes, and the
// addresses of each interface of interest. A push-down query builds its
// server-side classification from it, so both paths classify alike.
type FlowClassifier struct {
	Tunnels  []netip.Addr
	Customer []netip.Prefix
	AWS      []netip.Prefix
	// Addresses are each interface's own addresses (which make a record of
	// the "other" class egress when the format has no flow-direction).
	Addresses map[string][]netip.Addr
}

// Classifier returns the classification inputs, sorted.
func (a *FlowAggregator) Classifier() FlowClassifier {
	c := FlowClassifier{Customer: slices.Clone(a.customer), AWS: slices.Clone(a.aws), Addresses: map[string][]netip.Addr{}}
	for ip := range a.tunnels {
		c.Tunnels = append(c.Tunnels, ip)
	}
	slices.SortFunc(c.Tunnels, func(x, y netip.Addr) int { return x.Compare(y) })
	for id, st := range a.ifaces {
		c.Addresses[id] = slices.Clone(st.addrs)
	}
	return c
}

// AddBucket merges pre-aggregated counts into the series of key: b holds
// the records, packets and bytes whose start falls in the minute b.Start
// (truncated to the minute here) and the latest end among them. Counts of
// an interface outside the scope are ignored (AddActivity counts them as
// unrelated).
func (a *FlowAggregator) AddBucket(key FlowKey, b FlowBucket) {
	if a.ifaces[key.Interface] == nil || b.Records == 0 {
		return
	}
	buckets := a.series[key]
	if buckets == nil {
		buckets = map[int64]*FlowBucket{}
		a.series[key] = buckets
	}
	minute := b.Start.UTC().Truncate(time.Minute)
	cur := buckets[minute.Unix()]
	if cur == nil {
		cur = &FlowBucket{Start: minute}
		buckets[minute.Unix()] = cur
	}
	if b.LastEnd.After(cur.LastEnd) {
		cur.LastEnd = b.LastEnd.UTC()
	}
	cur.Records += b.Records
	cur.Packets += b.Packets
	cur.Bytes += b.Bytes
}

// FlowStatus is a log-status group of pre-aggregated records.
type FlowStatus string

// The log statuses AddActivity tells apart; any other value counts as
// records with traffic.
const (
	FlowStatusOK       FlowStatus = "OK"
	FlowStatusNoData   FlowStatus = "NODATA"
	FlowStatusSkipData FlowStatus = "SKIPDATA"
)

// AddActivity merges pre-aggregated record counts of one interface: n
// records of the given log status whose earliest start is first and latest
// end is last (either may be zero when unknown). For NODATA and SKIPDATA the
// span [first, last] is added to the interface's windows, so counts should
// come per interface, status and start minute, oldest first, for the
// windows to merge as they do record by record. Records of an interface
// outside the scope count as unrelated.
func (a *FlowAggregator) AddActivity(eni string, status FlowStatus, n int64, first, last time.Time) {
	if n <= 0 {
		return
	}
	a.t.Records += n
	st := a.ifaces[eni]
	if st == nil {
		a.t.Unrelated += n
		return
	}
	act := &st.activity
	act.Records += n
	if !first.IsZero() && (act.First.IsZero() || first.Before(act.First)) {
		act.First = first.UTC()
	}
	if last.After(act.Last) {
		act.Last = last.UTC()
	}
	switch status {
	case FlowStatusNoData:
		a.t.NoData += n
		if !first.IsZero() && !last.IsZero() {
			act.NoData = addWindow(act.NoData, Window{Start: first.UTC(), End: last.UTC()})
		}
	case FlowStatusSkipData:
		a.t.SkipData += n
		if !first.IsZero() && !last.IsZero() {
			act.SkipData = addWindow(act.SkipData, Window{Start: first.UTC(), End: last.UTC()})
		}
	}
}

// MalformedN counts n records that did not parse, keeping one entry for
// them (pre-aggregated records have no position of their own).
func (a *FlowAggregator) MalformedN(where, reason string, n int64) {
	if n <= 0 {
		return
	}
	a.t.MalformedCount += n
	if len(a.t.Malformed) < maxMalformedKept {
		a.t.Malformed = append(a.t.Malformed, Malformed{Where: where, Reason: reason})
	}
}
