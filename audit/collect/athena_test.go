package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

var athenaOptions = AthenaOptions{Workgroup: "primary", Database: "vpnaudit", FlowTable: "vpc_flow_logs", TrailTable: "cloudtrail_logs"}

func init() {
	// Recorded polls replay without waiting.
	sleepCtx = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
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
			rows, scanned, err := k.runQuery(context.Background(), "flow-logs", tt.query, nil)
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

// lowerKeys lowercases object member names, as Athena names the members
// of struct columns cast to JSON.
func lowerKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			out[strings.ToLower(k)] = lowerKeys(x)
		}
		return out
	case []any:
		for i := range t {
			t[i] = lowerKeys(t[i])
		}
	}
	return v
}

// The trail table answers with the same changes LookupEvents gives: the
// fixture's write events, as rows of the trail query (in the shapes
// GetQueryResults returns), decode to the same audit.Change values.
func TestTrailPushDown(t *testing.T) {
	src := testenv.Fixture(t, "lab-console-stop")
	dir := toS3Bundle(t, src, true) // any copy of the bundle will do
	// 40 more write events an hour into the window make LookupEvents take
	// two pages: with one, it has answered already and no query runs.
	var more []cttypes.Event
	for i := range 40 {
		more = append(more, trailEvent(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), 100+i))
	}
	raw, _ := json.MarshalIndent(map[string]any{"Output": map[string]any{"Events": more}}, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "cloudtrail", "LookupEvents-950.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	want := collectBundle(t, dir, "VPN-Down", Options{})
	k := &collector{o: Options{Athena: athenaOptions}, ev: &audit.Evidence{Window: want.Window, Region: want.Region}}
	query := k.trailQuery()
	// Events of the last 20 minutes may not be delivered to S3 yet: the
	// table lacks them, LookupEvents' first page has them.
	delivered := want.CollectedAt.Add(-trailFresh)

	// The rows: every recorded write event, as the table holds it.
	var rows []any
	var cols []any
	for _, c := range trailColumns {
		cols = append(cols, map[string]any{"VarCharValue": c})
	}
	rows = append(rows, map[string]any{"Data": cols})
	seen := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "cloudtrail", "LookupEvents*.json"))
	for _, f := range files {
		var doc struct {
			Output struct {
				Events []struct{ CloudTrailEvent string }
			}
		}
		readJSON(t, f, &doc)
		for _, e := range doc.Output.Events {
			var rec map[string]any
			var raw map[string]json.RawMessage // the JSON text string columns hold as logged
			if err := json.Unmarshal([]byte(e.CloudTrailEvent), &rec); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(e.CloudTrailEvent), &raw)
			if fmt.Sprint(rec["readOnly"]) != "false" || seen[fmt.Sprint(rec["eventID"])] {
				continue
			}
			if at, _ := time.Parse(time.RFC3339, fmt.Sprint(rec["eventTime"])); at.After(delivered) {
				continue
			}
			seen[fmt.Sprint(rec["eventID"])] = true
			lower := lowerKeys(rec).(map[string]any)
			var data []any
			for _, c := range trailColumns {
				v, ok := lower[c]
				switch {
				case !ok || v == nil:
					data = append(data, map[string]any{})
				case jsonColumns[c]:
					text, _ := json.Marshal(v)
					if c != "useridentity" && c != "resources" {
						text = raw[map[string]string{"requestparameters": "requestParameters", "responseelements": "responseElements", "additionaleventdata": "additionalEventData"}[c]]
					}
					data = append(data, map[string]any{"VarCharValue": string(text)})
				default:
					data = append(data, map[string]any{"VarCharValue": fmt.Sprint(v)})
				}
			}
			rows = append(rows, map[string]any{"Data": data})
		}
	}
	if len(rows) < 3 {
		t.Fatalf("only %d rows: the fixture has no write events?", len(rows)-1)
	}
	id := "7d0c1e2f-3a4b-4c5d-8e6f-708192a3b4c5"
	files2 := map[string]any{
		"StartQueryExecution-900.json": map[string]any{"Input": map[string]any{"QueryString": query, "QueryExecutionContext": map[string]any{"Database": "vpnaudit"}}, "Output": map[string]any{"QueryExecutionId": id}},
		"GetQueryExecution-900.json": map[string]any{"Input": map[string]any{"QueryExecutionId": id}, "Output": map[string]any{"QueryExecution": map[string]any{
			"QueryExecutionId": id, "StatementType": "DML", "Status": map[string]any{"State": "RUNNING"}}}},
		"GetQueryExecution-901.json": map[string]any{"Input": map[string]any{"QueryExecutionId": id}, "Output": map[string]any{"QueryExecution": map[string]any{
			"QueryExecutionId": id, "StatementType": "DML", "Status": map[string]any{"State": "SUCCEEDED"},
			"Statistics": map[string]any{"DataScannedInBytes": 48234496, "EngineExecutionTimeInMillis": 4211}}}},
		"GetQueryResults-900.json": map[string]any{"Input": map[string]any{"QueryExecutionId": id}, "Output": map[string]any{"ResultSet": map[string]any{"Rows": rows}, "UpdateCount": 0}},
	}
	os.MkdirAll(filepath.Join(dir, "athena"), 0o755)
	for name, doc := range files2 {
		raw, _ := json.MarshalIndent(doc, "", " ")
		if err := os.WriteFile(filepath.Join(dir, "athena", name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	got := collectBundle(t, dir, "VPN-Down", Options{PushDown: PushDownAlways, Athena: athenaOptions})
	// LookupEvents' envelope lists its resources first and may name some the
	// record does not (an S3 bucket's name); the trail table holds only the
	// record. So resources compare as sets, the record's within the
	// envelope's; everything else is equal.
	if len(want.Changes) != len(got.Changes) {
		t.Fatalf("%d changes from LookupEvents, %d from the trail table", len(want.Changes), len(got.Changes))
	}
	wantChanges := append([]audit.Change(nil), want.Changes...)
	for i := range wantChanges {
		var kept []string
		for _, r := range wantChanges[i].Resources {
			if slices.Contains(got.Changes[i].Resources, r) {
				kept = append(kept, r)
			}
		}
		if len(kept) != len(got.Changes[i].Resources) {
			t.Errorf("%s: resources %v from the trail table, not all among LookupEvents' %v", got.Changes[i].EventID, got.Changes[i].Resources, wantChanges[i].Resources)
		}
		wantChanges[i].Resources = kept
		got.Changes[i].Resources = slices.Clone(got.Changes[i].Resources)
		slices.Sort(wantChanges[i].Resources)
		slices.Sort(got.Changes[i].Resources)
	}
	if diff := cmp.Diff(wantChanges, got.Changes); diff != "" {
		t.Errorf("changes, LookupEvents (-want) vs trail table (+got):\n%s", diff)
	}
	cov := coverageOf(got, "cloudtrail")
	if cov.Status != audit.CoverageOK || !strings.Contains(cov.Detail, "pushed down to Athena (table cloudtrail_logs") || !strings.Contains(cov.Detail, "Athena scanned 46.0 MiB") ||
		!strings.Contains(cov.Detail, "the newest events were read with LookupEvents too (1 pages, 4 changes not yet in the table)") {
		t.Errorf("coverage %s: %s", cov.Status, cov.Detail)
	}
	// Under auto the first page of this small window suffices: no query.
	auto := collectBundle(t, dir, "VPN-Down", Options{Athena: athenaOptions})
	if cov := coverageOf(auto, "cloudtrail"); strings.Contains(cov.Detail, "Athena") {
		t.Errorf("auto pushed a small window down: %s", cov.Detail)
	}
}
