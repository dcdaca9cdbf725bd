package audit

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Counts aggregated elsewhere land where the same records added one by one
// do: the same series, interface activity, windows and totals.
func TestFlowAggregatorPreAggregated(t *testing.T) {
	scope := Scope{Tunnels: []Tunnel{{OutsideIP: "52.2.2.2"}, {OutsideIP: "52.1.1.1"}, {OutsideIP: "not an address"}},
		CustomerSide: []string{"192.168.0.0/16"}, AWSSide: []string{"10.20.0.0/16", "10.30.1.1"}}
	ifaces := []Interface{{ID: "eni-app", Addresses: []string{"192.168.1.10"}}}
	format, err := flowlog.ParseFormat("${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"eni-app 192.168.1.10 52.1.1.1 4500 4500 17 10 1000 1791945000 1791945050 ACCEPT OK",
		"eni-app 192.168.1.10 52.1.1.1 4500 4500 17 5 500 1791945030 1791945059 ACCEPT OK",
		"eni-app - - - - - - - 1791945060 1791945119 - NODATA",
		"eni-app - - - - - - - 1791945120 1791945179 - NODATA",
		"eni-app - - - - - - - 1791945300 1791945359 - SKIPDATA",
		"eni-other 10.9.9.9 10.9.9.8 1 2 6 1 1 1791945000 1791945059 ACCEPT OK",
	}
	byRecord := NewFlowAggregator(scope, ifaces)
	p := flowlog.NewParser(format)
	var rec flowlog.Record
	for _, l := range lines {
		if err := p.Parse([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		byRecord.Add(&rec, "")
	}
	byRecord.Malformed("g", "records that do not match the flow log's LogFormat")
	byRecord.Malformed("g", "records that do not match the flow log's LogFormat")

	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	pre := NewFlowAggregator(scope, ifaces)
	key := FlowKey{Interface: "eni-app", Class: FlowIPsec, Direction: DirEgress, Peer: "52.1.1.1", Action: "ACCEPT"}
	// One bucket in two parts (a time range split across two queries).
	pre.AddBucket(key, FlowBucket{Start: at(1791945000), LastEnd: at(1791945050), Records: 1, Packets: 10, Bytes: 1000})
	pre.AddBucket(key, FlowBucket{Start: at(1791945030), LastEnd: at(1791945059), Records: 1, Packets: 5, Bytes: 500})
	pre.AddBucket(FlowKey{Interface: "eni-other", Class: FlowOther}, FlowBucket{Start: at(1791945000), Records: 1})
	pre.AddBucket(key, FlowBucket{Start: at(1791945000)}) // no records: nothing
	pre.AddActivity("eni-app", FlowStatusOK, 2, at(1791945000), at(1791945059))
	pre.AddActivity("eni-app", FlowStatusNoData, 1, at(1791945060), at(1791945119))
	pre.AddActivity("eni-app", FlowStatusNoData, 1, at(1791945120), at(1791945179))
	pre.AddActivity("eni-app", FlowStatusSkipData, 1, at(1791945300), at(1791945359))
	pre.AddActivity("eni-other", FlowStatusOK, 1, at(1791945000), at(1791945059))
	pre.AddActivity("eni-app", FlowStatusOK, 0, at(1), at(2)) // no records: nothing
	pre.MalformedN("g", "records that do not match the flow log's LogFormat", 2)
	pre.SetFlowLog("eni-app", "fl-1")
	byRecord.SetFlowLog("eni-app", "fl-1")

	want, got := byRecord.Traffic(), pre.Traffic()
	// One entry stands for the pre-aggregated malformed records.
	want.Malformed = want.Malformed[:1]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pre-aggregated vs record by record (-want +got):\n%s", diff)
	}

	c := pre.Classifier()
	wantC := FlowClassifier{
		Tunnels:   []netip.Addr{netip.MustParseAddr("52.1.1.1"), netip.MustParseAddr("52.2.2.2")},
		Customer:  []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")},
		AWS:       []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("10.30.1.1/32")},
		Addresses: map[string][]netip.Addr{"eni-app": {netip.MustParseAddr("192.168.1.10")}},
	}
	if diff := cmp.Diff(wantC, c, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("classifier (-want +got):\n%s", diff)
	}
}
