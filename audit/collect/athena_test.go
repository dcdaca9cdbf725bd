package collect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

func init() {
	// Recorded polls replay without waiting.
	athenaSleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

// A query is polled through QUEUED and RUNNING to SUCCEEDED, its results
// paged (the header row skipped) and turned into the traffic the
// aggregator would have built; a failed query says why. The responses are
// recorded in testdata/athena in the API's shapes.
func TestAthenaQueryReplay(t *testing.T) {
	b, err := bundle.Open("testdata/athena")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	tests := []struct {
		name        string
		query       string
		want        audit.Traffic
		wantScanned int64
		wantErr     string
	}{
		{name: "succeeded",
			query: "SELECT kind, interface_id, class, direction, peer, action, t0, t1, count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes, min(s) AS first_start, max(e) AS last_end FROM (SELECT 1) GROUP BY 1",
			want: audit.Traffic{
				Series: []audit.FlowSeries{
					{Key: audit.FlowKey{Interface: "eni-0a", Class: "ipsec", Direction: "egress", Peer: "3.121.204.17", Action: "ACCEPT"}, Buckets: []audit.FlowBucket{
						{Start: at(1793736120), LastEnd: at(1793736179), Records: 4, Packets: 40, Bytes: 5200},
						{Start: at(1793736180), LastEnd: at(1793736230), Records: 2, Packets: 10, Bytes: 1300}}},
					{Key: audit.FlowKey{Interface: "eni-0a", Class: "other", Direction: "ingress", Action: "REJECT"}, Buckets: []audit.FlowBucket{
						{Start: at(1793736180), LastEnd: at(1793736190), Records: 1, Packets: 1, Bytes: 40}}},
				},
				Interfaces: []audit.InterfaceActivity{
					{Interface: "eni-0a", FlowLog: "fl-1", Records: 9, First: at(1793736000), Last: at(1793736230),
						NoData: []audit.Window{{Start: at(1793736000), End: at(1793736110)}}},
					{Interface: "eni-0b", FlowLog: "fl-1", Records: 3, First: at(1793736300), Last: at(1793736360),
						SkipData: []audit.Window{{Start: at(1793736300), End: at(1793736360)}}},
				},
				Records: 12, NoData: 2, SkipData: 3,
			},
			wantScanned: 2411724},
		{name: "failed", query: "SELECT missing FROM vpc_flow_logs",
			wantErr: "Athena query 0b9e8d7c-6a5b-4c3d-9e2f-1a0b9c8d7e6f failed: COLUMN_NOT_FOUND: line 1:8: Column 'missing' cannot be resolved"},
		{name: "not recorded", query: "SELECT 2", wantErr: "the bundle has no athena/StartQueryExecution*.json for this query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &collector{c: Clients{Athena: b.Athena()}, o: Options{Athena: AthenaOptions{Database: "vpnaudit", Workgroup: "primary"}}, tally: map[[2]string]int{}}
			rows, scanned, err := k.runQuery(context.Background(), tt.query)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := flowRows(rows, "fl-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("traffic (-want +got):\n%s", diff)
			}
			if scanned != tt.wantScanned {
				t.Errorf("scanned %d, want %d", scanned, tt.wantScanned)
			}
			if diff := cmp.Diff(map[[2]string]int{{"athena", "StartQueryExecution"}: 1, {"athena", "GetQueryExecution"}: 3, {"athena", "GetQueryResults"}: 2}, k.tally); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// The flow query is one SELECT that filters on the partitions, the flow
// log's objects, the ENIs and the window.
func TestFlowQuery(t *testing.T) {
	k := &collector{o: Options{Athena: AthenaOptions{Database: "vpnaudit", FlowTable: "vpc_flow_logs"}},
		ev: &audit.Evidence{Region: "eu-central-1", Window: audit.Window{Start: time.Date(2026, 11, 3, 19, 53, 0, 0, time.UTC), End: time.Date(2026, 11, 3, 23, 55, 0, 0, time.UTC)},
			Scope: audit.Scope{Tunnels: []audit.Tunnel{{OutsideIP: "3.121.204.17"}}, CustomerSide: []string{"10.30.0.0/16"}, AWSSide: []string{"192.168.10.7"}}},
		flowInterfaces: []audit.Interface{{ID: "eni-0a", Addresses: []string{"192.168.10.50"}}}}
	q, err := k.flowQuery(audit.FlowLog{ID: "fl-0abc", Interval: 60}, flowlogDefault(), []string{"eni-0a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"SELECT kind, interface_id, class, direction, peer, action, t0, t1,",
		`FROM "vpnaudit"."vpc_flow_logs"`,
		"WHERE region = 'eu-central-1' AND day IN ('2026/11/03', '2026/11/04')",
		`strpos("$path", '_fl-0abc_') > 0`,
		`"interface_id" IN ('eni-0a')`,
		`"start" BETWEEN 1793735580 AND 1793750100`,
		`"dstaddr" IN ('3.121.204.17')`,
		`contains('10.30.0.0/16', TRY_CAST("srcaddr" AS IPADDRESS))`,
		`contains('192.168.10.7/32', TRY_CAST("dstaddr" AS IPADDRESS))`,
		`CASE WHEN "interface_id" = 'eni-0a' AND "srcaddr" IN ('192.168.10.50') THEN 'egress' ELSE 'ingress' END`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s:\n%s", want, q)
		}
	}
	if strings.Contains(q, ";") || !strings.HasPrefix(q, "SELECT ") {
		t.Errorf("not a single SELECT:\n%s", q)
	}
}
