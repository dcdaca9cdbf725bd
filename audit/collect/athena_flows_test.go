package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// evalAthena stands in for Athena, which cannot run here: it answers the
// collector's flow query with the rows a correct evaluation of it returns
// over the bundle's objects, each record classified by the aggregator
// itself, grouped by the query's keys. So the test checks everything but
// Athena's reading of the SQL: what the query selects (flow log, ENIs,
// window, interfaces' own addresses, as parsed back from it), polling,
// paging, and turning the rows into traffic.
type evalAthena struct {
	t     *testing.T
	dir   string
	scope audit.Scope

	mu      sync.Mutex
	results map[string][][]string
	polls   map[string]int
}

var (
	ownClause = regexp.MustCompile(`"interface_id" = '([^']+)' AND "srcaddr" IN \(([^)]*)\)`)
	enisIn    = regexp.MustCompile(`AND "interface_id" IN \(([^)]*)\)`)
	pathOf    = regexp.MustCompile(`strpos\("\$path", '_(fl-[0-9a-f]+)_'\)`)
	startIn   = regexp.MustCompile(`"start" BETWEEN (\d+) AND (\d+)`)
)

func quotedList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(v), "'"))
	}
	return out
}

func (f *evalAthena) StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, _ ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	q := aws.ToString(in.QueryString)
	if !enisIn.MatchString(q) {
		return nil, fmt.Errorf("evalAthena evaluates flow queries only")
	}
	ifaces := map[string]*audit.Interface{}
	for _, m := range ownClause.FindAllStringSubmatch(q, -1) {
		ifaces[m[1]] = &audit.Interface{ID: m[1], Addresses: quotedList(m[2])}
	}
	enis := quotedList(enisIn.FindStringSubmatch(q)[1])
	for _, e := range enis {
		if ifaces[e] == nil {
			ifaces[e] = &audit.Interface{ID: e}
		}
	}
	var list []audit.Interface
	for _, i := range ifaces {
		list = append(list, *i)
	}
	id := pathOf.FindStringSubmatch(q)[1]
	m := startIn.FindStringSubmatch(q)
	lo, _ := strconv.ParseInt(m[1], 10, 64)
	hi, _ := strconv.ParseInt(m[2], 10, 64)

	type group struct{ records, packets, bytes, first, last int64 }
	groups := map[[8]string]*group{}
	paths, _ := filepath.Glob(filepath.Join(f.dir, "s3", "*", "*", "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*_"+id+"_*"))
	if len(paths) == 0 {
		f.t.Fatalf("no object of %s", id)
	}
	for _, p := range paths {
		fh, err := os.Open(p)
		if err != nil {
			f.t.Fatal(err)
		}
		r := flowlog.NewReader(fh, flowlog.ReaderOptions{})
		for r.Next() {
			rec := r.Record()
			eni, _ := rec.InterfaceID()
			start, ok := rec.Start()
			if !ok || start.Unix() < lo || start.Unix() > hi || !containsString(enis, eni) {
				continue
			}
			one := audit.NewFlowAggregator(f.scope, list)
			one.Add(rec, "")
			t := one.Traffic()
			end, _ := rec.End()
			packets, _ := rec.Packets()
			bytes, _ := rec.Bytes()
			var key [8]string
			switch {
			case t.NoData+t.SkipData > 0:
				status, _ := rec.LogStatus()
				key = [8]string{string(status), eni, "", "", "", "", fmt.Sprint(start.Unix()), fmt.Sprint(end.Unix())}
			case len(t.Series) == 1:
				k := t.Series[0].Key
				key = [8]string{"OK", eni, k.Class, k.Direction, k.Peer, k.Action, fmt.Sprint(start.Unix() - start.Unix()%60), "0"}
			default:
				f.t.Fatalf("record %q: not classified", rec.String())
			}
			g := groups[key]
			if g == nil {
				g = &group{first: start.Unix()}
				groups[key] = g
			}
			g.records++
			g.packets += packets
			g.bytes += bytes
			g.first = min(g.first, start.Unix())
			g.last = max(g.last, end.Unix())
		}
		fh.Close()
	}
	var rows [][]string
	for k, g := range groups {
		rows = append(rows, append(k[:], strconv.FormatInt(g.records, 10), strconv.FormatInt(g.packets, 10),
			strconv.FormatInt(g.bytes, 10), strconv.FormatInt(g.first, 10), strconv.FormatInt(g.last, 10)))
	}
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i][:8], "\x00") < strings.Join(rows[j][:8], "\x00") })
	f.mu.Lock()
	defer f.mu.Unlock()
	qid := fmt.Sprintf("q-%s", id)
	f.results[qid] = append([][]string{flowColumns}, rows...)
	return &athena.StartQueryExecutionOutput{QueryExecutionId: aws.String(qid)}, nil
}

func (f *evalAthena) GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, _ ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.QueryExecutionId)
	f.polls[id]++
	state := athenatypes.QueryExecutionStateRunning
	if f.polls[id] > 1 {
		state = athenatypes.QueryExecutionStateSucceeded
	}
	return &athena.GetQueryExecutionOutput{QueryExecution: &athenatypes.QueryExecution{QueryExecutionId: in.QueryExecutionId,
		Status:     &athenatypes.QueryExecutionStatus{State: state},
		Statistics: &athenatypes.QueryExecutionStatistics{DataScannedInBytes: aws.Int64(1 << 20)}}}, nil
}

// GetQueryResults pages the rows 100 at a time.
func (f *evalAthena) GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, _ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.results[aws.ToString(in.QueryExecutionId)]
	off, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(off+100, len(all))
	out := &athena.GetQueryResultsOutput{ResultSet: &athenatypes.ResultSet{}}
	for _, r := range all[off:end] {
		var row athenatypes.Row
		for _, v := range r {
			d := athenatypes.Datum{}
			if v != "" {
				d.VarCharValue = aws.String(v)
			}
			row.Data = append(row.Data, d)
		}
		out.ResultSet.Rows = append(out.ResultSet.Rows, row)
	}
	if end < len(all) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Flow logs pushed down to Athena give the traffic their objects give when
// read here (see evalAthena for what stands in for Athena).
func TestAthenaFlowPushDownMatchesLocal(t *testing.T) {
	for _, tt := range []struct{ fixture, alarm string }{
		{"lab-console-stop", "VPN-Down"},
		{"custom-format-600s", "osa1-dc-tunnels"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			dir := toS3Bundle(t, testenv.Fixture(t, tt.fixture), true)
			want := collectBundle(t, dir, tt.alarm, Options{PushDown: PushDownNever})
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			fake := &evalAthena{t: t, dir: dir, scope: want.Scope, results: map[string][][]string{}, polls: map[string]int{}}
			c := Clients{CloudWatch: b.CloudWatch(), CloudTrail: b.CloudTrail(), Logs: b.Logs(), EC2: b.EC2(), STS: b.STS(),
				AutoScaling: b.AutoScaling(), S3: b.S3(), Athena: fake}
			got, err := Collect(context.Background(), c, Options{Alarm: tt.alarm, Now: b.Manifest.RecordedAt, Region: b.Manifest.Region,
				Account: b.Manifest.AccountId, PushDown: PushDownAlways, Athena: athenaOptions})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(comparable(withoutReadBy(t, want.Traffic, "s3:GetObject")), comparable(withoutReadBy(t, got.Traffic, "athena:StartQueryExecution"))); diff != "" {
				t.Errorf("traffic, read here (-want) vs pushed down (+got):\n%s", diff)
			}
			cov := coverageOf(got, "flow-logs")
			if cov.Status != audit.CoverageOK || !strings.Contains(cov.Detail, "pushed down to Athena") {
				t.Errorf("coverage %s: %s", cov.Status, cov.Detail)
			}
			// LookupEvents' one page holds the window's changes: no trail query
			// runs, even under always.
			if d := coverageOf(got, "cloudtrail").Detail; strings.Contains(d, "Athena") || !strings.Contains(d, "in 1 LookupEvents pages") {
				t.Errorf("cloudtrail coverage: %s", d)
			}
			if diff := cmp.Diff(want.Changes, got.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			for _, call := range got.Calls {
				if call.Service == "s3" && call.Operation == "GetObject" {
					t.Errorf("objects were read although pushed down: %+v", call)
				}
			}
		})
	}
}
