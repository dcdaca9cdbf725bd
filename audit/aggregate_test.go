package audit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

func TestFlowAggregator(t *testing.T) {
	scope := Scope{
		Tunnels:      []Tunnel{{OutsideIP: "52.1.1.1"}, {OutsideIP: "52.2.2.2"}},
		CustomerSide: []string{"192.168.0.0/16"},
		AWSSide:      []string{"10.20.0.0/16"},
	}
	ifaces := []Interface{{ID: "eni-app", Addresses: []string{"192.168.1.10"}}, {ID: "eni-web", Addresses: []string{"10.20.1.5"}}}
	format, err := flowlog.ParseFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		// IPsec, both directions, two tunnels, in one minute.
		"5 eni-app 192.168.1.10 52.1.1.1 4500 4500 17 10 1000 1791945000 1791945059 ACCEPT OK",
		"5 eni-app 52.1.1.1 192.168.1.10 4500 4500 17 12 1200 1791945002 1791945059 ACCEPT OK",
		"5 eni-app 192.168.1.10 52.2.2.2 500 500 17 2 200 1791945010 1791945059 ACCEPT OK",
		"5 eni-app 192.168.1.10 52.1.1.1 4500 4500 17 5 500 1791945030 1791945059 ACCEPT OK",
		// Forwarded across the VPN.
		"5 eni-app 192.168.10.50 10.20.1.5 40000 443 6 7 700 1791945000 1791945059 ACCEPT OK",
		"5 eni-web 10.20.1.5 192.168.10.50 443 40000 6 8 800 1791945060 1791945119 ACCEPT OK",
		// Internet scanner rejected.
		"5 eni-app 198.51.100.9 192.168.1.10 51000 22 6 1 60 1791945000 1791945059 REJECT OK",
		// NODATA and an interface outside the scope.
		"5 eni-app - - - - - - - 1791945120 1791945179 - NODATA",
		"5 eni-other 10.9.9.9 10.9.9.8 1 2 6 1 1 1791945000 1791945059 ACCEPT OK",
	}
	agg := NewFlowAggregator(scope, ifaces)
	p := flowlog.NewParser(format)
	var rec flowlog.Record
	for _, l := range lines {
		if err := p.Parse([]byte(l), &rec); err != nil {
			t.Fatalf("parse %q: %v", l, err)
		}
		agg.Add(&rec, "")
	}
	agg.Malformed("g/eni-app-all event 9", "field count")
	got := agg.Traffic()
	m0, m1 := time.Unix(1791945000, 0).UTC().Truncate(time.Minute), time.Unix(1791945060, 0).UTC().Truncate(time.Minute)
	e0, e1 := time.Unix(1791945059, 0).UTC(), time.Unix(1791945119, 0).UTC()
	b := func(start, lastEnd time.Time, records, packets, bytes int64) FlowBucket {
		return FlowBucket{Start: start, LastEnd: lastEnd, Records: records, Packets: packets, Bytes: bytes}
	}
	want := []FlowSeries{
		{Key: FlowKey{Interface: "eni-app", Class: FlowCrossVPN, Direction: DirToAWS, Action: "ACCEPT"}, Buckets: []FlowBucket{b(m0, e0, 1, 7, 700)}},
		{Key: FlowKey{Interface: "eni-app", Class: FlowIPsec, Direction: DirEgress, Peer: "52.1.1.1", Action: "ACCEPT"}, Buckets: []FlowBucket{b(m0, e0, 2, 15, 1500)}},
		{Key: FlowKey{Interface: "eni-app", Class: FlowIPsec, Direction: DirEgress, Peer: "52.2.2.2", Action: "ACCEPT"}, Buckets: []FlowBucket{b(m0, e0, 1, 2, 200)}},
		{Key: FlowKey{Interface: "eni-app", Class: FlowIPsec, Direction: DirIngress, Peer: "52.1.1.1", Action: "ACCEPT"}, Buckets: []FlowBucket{b(m0, e0, 1, 12, 1200)}},
		{Key: FlowKey{Interface: "eni-app", Class: FlowOther, Direction: DirIngress, Action: "REJECT"}, Buckets: []FlowBucket{b(m0, e0, 1, 1, 60)}},
		{Key: FlowKey{Interface: "eni-web", Class: FlowCrossVPN, Direction: DirToCustomer, Action: "ACCEPT"}, Buckets: []FlowBucket{b(m1, e1, 1, 8, 800)}},
	}
	if diff := cmp.Diff(want, got.Series); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	counts := [5]int64{got.Records, got.NoData, got.SkipData, got.Unrelated, got.MalformedCount}
	if diff := cmp.Diff([5]int64{9, 1, 0, 1, 1}, counts); diff != "" {
		t.Errorf("records, NODATA, SKIPDATA, unrelated, malformed (-want +got):\n%s", diff)
	}
	if len(got.Interfaces) != 2 || len(got.Interfaces[0].NoData) != 1 {
		t.Errorf("interfaces = %+v, want eni-app with one NODATA window and eni-web", got.Interfaces)
	}
}
