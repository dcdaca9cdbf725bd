package audit

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// maxMalformedKept bounds how many malformed records are kept with their
// position and reason; all of them are counted.
const maxMalformedKept = 100

// FlowAggregator turns flow-log records into per-minute series while they
// stream past. Records are classified against the scope:
//
//   - IPsec: UDP 500/4500 or ESP between an interface and one of the VPN's
//     tunnel endpoints, kept per tunnel endpoint and direction;
//   - cross-VPN: between an address on the customer side and one on the
//     AWS side, kept per interface and direction;
//   - other: the rest of a scoped interface's traffic, kept per interface,
//     direction and action.
//
// Records of interfaces outside the scope are counted as unrelated and
// dropped. A FlowAggregator is not safe for concurrent use.
type FlowAggregator struct {
	tunnels  map[netip.Addr]bool
	customer []netip.Prefix
	aws      []netip.Prefix
	ifaces   map[string]*ifaceState
	series   map[FlowKey]map[int64]*FlowBucket
	t        Traffic
}

type ifaceState struct {
	addrs    []netip.Addr
	activity InterfaceActivity
}

// NewFlowAggregator prepares aggregation for the interfaces of interest.
func NewFlowAggregator(scope Scope, interfaces []Interface) *FlowAggregator {
	a := &FlowAggregator{tunnels: map[netip.Addr]bool{}, ifaces: map[string]*ifaceState{}, series: map[FlowKey]map[int64]*FlowBucket{}}
	for _, t := range scope.Tunnels {
		if ip, err := netip.ParseAddr(t.OutsideIP); err == nil {
			a.tunnels[ip] = true
		}
	}
	a.customer = prefixes(scope.CustomerSide)
	a.aws = prefixes(scope.AWSSide)
	for _, i := range interfaces {
		st := &ifaceState{activity: InterfaceActivity{Interface: i.ID}}
		for _, s := range i.Addresses {
			if ip, err := netip.ParseAddr(s); err == nil {
				st.addrs = append(st.addrs, ip)
			}
		}
		a.ifaces[i.ID] = st
	}
	return a
}

func prefixes(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		} else if ip, err := netip.ParseAddr(c); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return out
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Interested reports whether an interface is of interest.
func (a *FlowAggregator) Interested(eni string) bool { return a.ifaces[eni] != nil }

// SetFlowLog records which flow log an interface's records come from.
func (a *FlowAggregator) SetFlowLog(eni, flowLog string) {
	if st := a.ifaces[eni]; st != nil && st.activity.FlowLog == "" {
		st.activity.FlowLog = flowLog
	}
}

// Add aggregates one parsed record. stream is the log stream it came from
// (`eni-…-all`), which names the interface when the format has no
// interface-id field.
func (a *FlowAggregator) Add(rec *flowlog.Record, stream string) {
	a.t.Records++
	eni, ok := rec.InterfaceID()
	if !ok {
		eni, _, _ = strings.Cut(stream, "-all")
		eni = strings.TrimSuffix(strings.TrimSuffix(eni, "-accept"), "-reject")
	}
	st := a.ifaces[eni]
	if st == nil {
		a.t.Unrelated++
		return
	}
	start, okStart := rec.Start()
	end, okEnd := rec.End()
	act := &st.activity
	act.Records++
	if okStart && (act.First.IsZero() || start.Before(act.First)) {
		act.First = start
	}
	if okEnd && end.After(act.Last) {
		act.Last = end
	}
	status, _ := rec.LogStatus()
	switch status {
	case flowlog.LogStatusNoData:
		a.t.NoData++
		if okStart && okEnd {
			act.NoData = addWindow(act.NoData, Window{Start: start, End: end})
		}
		return
	case flowlog.LogStatusSkipData:
		a.t.SkipData++
		if okStart && okEnd {
			act.SkipData = addWindow(act.SkipData, Window{Start: start, End: end})
		}
		return
	}
	if !okStart {
		return
	}
	src, _ := rec.SrcAddr()
	dst, _ := rec.DstAddr()
	proto, _ := rec.Protocol()
	sport, _ := rec.SrcPort()
	dport, _ := rec.DstPort()
	action, _ := rec.Action()
	key := FlowKey{Interface: eni, Action: string(action)}
	ike := proto == 50 || proto == 17 && (sport == 500 || sport == 4500 || dport == 500 || dport == 4500)
	switch {
	case ike && a.tunnels[dst]:
		key.Class, key.Direction, key.Peer = FlowIPsec, DirEgress, dst.String()
	case ike && a.tunnels[src]:
		key.Class, key.Direction, key.Peer = FlowIPsec, DirIngress, src.String()
	case inAny(src, a.customer) && inAny(dst, a.aws):
		key.Class, key.Direction = FlowCrossVPN, DirToAWS
	case inAny(src, a.aws) && inAny(dst, a.customer):
		key.Class, key.Direction = FlowCrossVPN, DirToCustomer
	default:
		key.Class = FlowOther
		key.Direction = DirIngress
		if d, ok := rec.FlowDirection(); ok {
			key.Direction = string(d)
		} else {
			for _, ip := range st.addrs {
				if ip == src {
					key.Direction = DirEgress
					break
				}
			}
		}
	}
	buckets := a.series[key]
	if buckets == nil {
		buckets = map[int64]*FlowBucket{}
		a.series[key] = buckets
	}
	minute := start.Truncate(time.Minute)
	b := buckets[minute.Unix()]
	if b == nil {
		b = &FlowBucket{Start: minute}
		buckets[minute.Unix()] = b
	}
	packets, _ := rec.Packets()
	bytes, _ := rec.Bytes()
	if okEnd && end.After(b.LastEnd) {
		b.LastEnd = end
	}
	b.Records++
	b.Packets += packets
	b.Bytes += bytes
}

// addWindow merges w into ws (kept sorted), joining windows that touch or
// overlap within a minute.
func addWindow(ws []Window, w Window) []Window {
	for i := range ws {
		if !w.Start.After(ws[i].End.Add(time.Minute)) && !w.End.Before(ws[i].Start.Add(-time.Minute)) {
			if w.Start.Before(ws[i].Start) {
				ws[i].Start = w.Start
			}
			if w.End.After(ws[i].End) {
				ws[i].End = w.End
			}
			return ws
		}
	}
	ws = append(ws, w)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Start.Before(ws[j].Start) })
	return ws
}

// Malformed counts a record that did not parse, keeping the first ones.
func (a *FlowAggregator) Malformed(where, reason string) {
	a.t.MalformedCount++
	if len(a.t.Malformed) < maxMalformedKept {
		a.t.Malformed = append(a.t.Malformed, Malformed{Where: where, Reason: reason})
	}
}

// Traffic returns the aggregated evidence, deterministically ordered. The
// caller sets FlowLogs.
func (a *FlowAggregator) Traffic() Traffic {
	t := a.t
	t.Series = nil
	for k, bs := range a.series {
		s := FlowSeries{Key: k}
		for _, b := range bs {
			s.Buckets = append(s.Buckets, *b)
		}
		sort.Slice(s.Buckets, func(i, j int) bool { return s.Buckets[i].Start.Before(s.Buckets[j].Start) })
		t.Series = append(t.Series, s)
	}
	sort.Slice(t.Series, func(i, j int) bool { return LessFlowKey(t.Series[i].Key, t.Series[j].Key) })
	t.Interfaces = nil
	for _, st := range a.ifaces {
		if st.activity.Records > 0 {
			t.Interfaces = append(t.Interfaces, st.activity)
		}
	}
	sort.Slice(t.Interfaces, func(i, j int) bool { return t.Interfaces[i].Interface < t.Interfaces[j].Interface })
	return t
}

// LessFlowKey is the order of traffic series: by interface, class,
// direction, peer and action.
func LessFlowKey(a, b FlowKey) bool {
	switch {
	case a.Interface != b.Interface:
		return a.Interface < b.Interface
	case a.Class != b.Class:
		return a.Class < b.Class
	case a.Direction != b.Direction:
		return a.Direction < b.Direction
	case a.Peer != b.Peer:
		return a.Peer < b.Peer
	}
	return a.Action < b.Action
}
