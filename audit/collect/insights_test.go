package collect

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// The replay client satisfies the interface the live client does.
var _ InsightsAPI = (*bundle.Insights)(nil)

func init() {
	// Package-level flag variables of other test files are set before any
	// init runs: define -update only when none did.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./audit/collect -run %s -update writes it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

var goldenClassifier = audit.FlowClassifier{
	Tunnels:  []netip.Addr{netip.MustParseAddr("3.121.204.17"), netip.MustParseAddr("18.156.91.230")},
	Customer: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")},
	AWS:      []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("10.30.0.0/16")},
	Addresses: map[string][]netip.Addr{
		"eni-06cdb096ec3cb4997": {netip.MustParseAddr("192.168.1.10")},
		"eni-0151dabdadb8bb9f3": {netip.MustParseAddr("10.30.2.9"), netip.MustParseAddr("10.30.2.10")},
	},
}

// The queries generated for every LogFormat of the fixtures, and for a
// format with neither interface-id nor flow-direction (the interface comes
// from the stream, "other" splits by the interface's own addresses).
func TestInsightsQueriesGolden(t *testing.T) {
	formats := map[string]bool{"": true, "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}": true}
	paths, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(t), "fixtures", "*", "ec2", "DescribeFlowLogs*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixture flow logs: %v", err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Output struct{ FlowLogs []struct{ LogFormat string } }
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, f := range doc.Output.FlowLogs {
			formats[f.LogFormat] = true
		}
	}
	var keys []string
	for f := range formats {
		keys = append(keys, f)
	}
	sort.Strings(keys)
	lo := time.Date(2026, 11, 3, 19, 53, 0, 0, time.UTC)
	hi := time.Date(2026, 11, 3, 23, 5, 25, 250_000_000, time.UTC)
	var out strings.Builder
	for _, f := range keys {
		format := flowlog.DefaultFormat
		if f != "" {
			if format, err = flowlog.ParseFormat(f); err != nil {
				t.Fatal(err)
			}
		}
		qs, err := planInsights(format, "ALL", []string{"eni-06cdb096ec3cb4997", "eni-0151dabdadb8bb9f3"}, goldenClassifier)
		if err != nil {
			t.Fatalf("%q: %v", f, err)
		}
		fmt.Fprintf(&out, "######## LogFormat %q\n", f)
		for _, q := range qs {
			text := q.text(lo, hi)
			if _, err := compileQuery(text); err != nil {
				t.Errorf("%q %s: the fake Logs Insights cannot read it: %v", f, q.kind, err)
			}
			if len(text) > maxQueryLen {
				t.Errorf("%q %s: %d characters, over Logs Insights' %d", f, q.kind, len(text), maxQueryLen)
			}
			fmt.Fprintf(&out, "#### %s\n%s\n\n", q.kind, text)
		}
	}
	golden(t, "insights/queries.golden", []byte(out.String()))
}

func TestPlanInsightsErrors(t *testing.T) {
	format, err := flowlog.ParseFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${action}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = planInsights(format, "ALL", []string{"eni-1"}, goldenClassifier)
	if diff := cmp.Diff("its LogFormat has no ${start} field to place records in time", fmt.Sprint(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without tunnels, prefixes or the interface's addresses, records can
	// only be of the status and other-ingress classes: no query is sent for
	// the others.
	qs, err := planInsights(flowlog.DefaultFormat, "REJECT", []string{"eni-1"}, audit.FlowClassifier{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, q := range qs {
		kinds = append(kinds, q.kind)
		if diff := cmp.Diff([]string{"eni-1-reject"}, q.streams); diff != "" {
			t.Errorf("streams (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff([]string{qStatus, qOtherIngress}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

// eventsOf reads every FilterLogEvents event of a bundle, per log group.
func eventsOf(t *testing.T, dir string) map[string][]cwltypes.FilteredLogEvent {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "logs", "FilterLogEvents*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]cwltypes.FilteredLogEvent{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Input  struct{ LogGroupName string }
			Output struct{ Events []cwltypes.FilteredLogEvent }
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[doc.Input.LogGroupName] = append(out[doc.Input.LogGroupName], doc.Output.Events...)
	}
	return out
}

// recorder records Logs Insights calls as bundle files, in the AWS CLI's
// JSON (camelCase members, no nulls), numbered by query so that -update
// writes the same files every time.
type recorder struct {
	InsightsAPI
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	op, id string
	seq    int
	in     any
	out    any
}

func (r *recorder) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	out, err := r.InsightsAPI.StartQuery(ctx, in, o...)
	if err == nil {
		r.mu.Lock()
		r.calls = append(r.calls, recordedCall{op: "StartQuery", id: aws.ToString(out.QueryId), in: in, out: out})
		r.mu.Unlock()
	}
	return out, err
}

func (r *recorder) GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	out, err := r.InsightsAPI.GetQueryResults(ctx, in, o...)
	if err == nil {
		r.mu.Lock()
		r.calls = append(r.calls, recordedCall{op: "GetQueryResults", id: aws.ToString(in.QueryId), seq: len(r.calls), in: in, out: out})
		r.mu.Unlock()
	}
	return out, err
}

// write writes the recorded calls under dir/logs.
func (r *recorder) write(t *testing.T, dir string) {
	t.Helper()
	os.RemoveAll(filepath.Join(dir, "logs"))
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	calls := append([]recordedCall(nil), r.calls...)
	sort.SliceStable(calls, func(i, j int) bool {
		a, b := calls[i], calls[j]
		if a.op != b.op {
			return a.op > b.op // StartQuery first
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.seq < b.seq
	})
	n := map[string]int{}
	for _, c := range calls {
		doc := map[string]any{"Input": cliJSON(c.in), "Output": cliJSON(c.out)}
		raw, err := json.MarshalIndent(doc, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%03d.json", c.op, n[c.op])
		n[c.op]++
		if err := os.WriteFile(filepath.Join(dir, "logs", name), append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cliJSON is the AWS CLI's JSON of an SDK value for CloudWatch Logs.
func cliJSON(v any) any {
	raw, _ := json.Marshal(v)
	var g any
	json.Unmarshal(raw, &g)
	var clean func(any) any
	clean = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, x := range t {
				if x == nil || k == "ResultMetadata" {
					continue
				}
				out[strings.ToLower(k[:1])+k[1:]] = clean(x)
			}
			return out
		case []any:
			for i := range t {
				t[i] = clean(t[i])
			}
		}
		return v
	}
	return clean(g)
}

// deterministicIDs gives the fake's queries IDs derived from their input,
// so recordings do not depend on the order concurrent queries start in.
type deterministicIDs struct{ *fakeInsights }

func (d deterministicIDs) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	out, err := d.fakeInsights.StartQuery(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%s", aws.ToString(in.LogGroupName), aws.ToInt64(in.StartTime), aws.ToInt64(in.EndTime), aws.ToString(in.QueryString))))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	d.mu.Lock()
	d.queries[id] = d.queries[aws.ToString(out.QueryId)]
	d.mu.Unlock()
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String(id)}, nil
}

func collectWith(t *testing.T, c Clients, b *bundle.Bundle, pd PushDown) *audit.Evidence {
	t.Helper()
	ev, err := Collect(context.Background(), c, Options{Alarm: alarmOf(t, b), Now: b.Manifest.RecordedAt, Region: b.Manifest.Region, Account: b.Manifest.AccountId, PushDown: pd})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// alarmOf is the alarm the fixture investigates (its first in ALARM).
func alarmOf(t *testing.T, b *bundle.Bundle) string {
	t.Helper()
	out, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) == 0 {
		t.Fatalf("no alarm in the bundle: %v", err)
	}
	for _, a := range out.MetricAlarms {
		if a.StateValue == "ALARM" {
			return aws.ToString(a.AlarmName)
		}
	}
	return aws.ToString(out.MetricAlarms[0].AlarmName)
}

func flowCoverage(ev *audit.Evidence) audit.Coverage {
	for _, c := range ev.Coverage {
		if c.Source == "flow-logs" {
			return c
		}
	}
	return audit.Coverage{}
}

// insightsFixtures are compared pushed down and read here; the first ones
// also have their Logs Insights calls recorded under testdata/insights.
var (
	insightsFixtures = []string{"custom-format-600s", "lab-console-stop"}
	recordedFixtures = insightsFixtures[:1]
)

// Pushed down to (a faithful fake of) Logs Insights, the same records give
// the same traffic evidence as read here with FilterLogEvents. With
// -update, the calls are recorded as the bundle overlays under
// testdata/insights/ that TestInsightsBundleReplay replays.
func TestInsightsMatchesLocal(t *testing.T) {
	for _, name := range insightsFixtures {
		t.Run(name, func(t *testing.T) {
			dir := testenv.Fixture(t, name)
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			local := collectWith(t, clients(b), b, PushDownNever)
			if local.Traffic.Records == 0 {
				t.Fatal("the fixture has no flow-log records")
			}
			fake := &fakeInsights{events: eventsOf(t, dir), running: 1, queries: map[string]*fakeQuery{}}
			rec := &recorder{InsightsAPI: deterministicIDs{fake}}
			c := clients(b)
			c.Insights = rec
			pushed := collectWith(t, c, b, PushDownAlways)
			if diff := cmp.Diff(withoutReadBy(t, local.Traffic, "logs:FilterLogEvents"), withoutReadBy(t, pushed.Traffic, "logs:StartQuery")); diff != "" {
				t.Errorf("traffic, FilterLogEvents vs Logs Insights (-want +got):\n%s", diff)
			}
			cov := flowCoverage(pushed)
			if cov.Status != flowCoverage(local).Status || !strings.Contains(cov.Detail, "aggregated by Logs Insights") {
				t.Errorf("coverage = %+v, want %s and the push-down named", cov, flowCoverage(local).Status)
			}
			if updating() && slices.Contains(recordedFixtures, name) {
				rec.write(t, filepath.Join("testdata", "insights", name))
			}
		})
	}
}

// overlay copies a fixture and adds the files of testdata/insights/NAME
// (unless bare) and extra.
func overlay(t testing.TB, name string, bare bool, extra map[string]string) string {
	t.Helper()
	dst := t.TempDir()
	srcs := []string{testenv.Fixture(t, name), filepath.Join("testdata", "insights", name)}
	if bare {
		srcs = srcs[:1]
	}
	for _, src := range srcs {
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
			return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for p, c := range extra {
		os.MkdirAll(filepath.Join(dst, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dst, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// The recorded Logs Insights calls replay offline to the same traffic and
// the same verdict as FilterLogEvents; auto pushes down only when the log
// group's stored bytes say the window is large.
func TestInsightsBundleReplay(t *testing.T) {
	for _, name := range recordedFixtures {
		t.Run(name, func(t *testing.T) {
			base, err := bundle.Open(testenv.Fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			local := collectWith(t, clients(base), base, PushDownNever)
			want := correlate.Correlate(local)

			tests := []struct {
				name     string
				pd       PushDown
				stored   int64 // bytes in every log group's DescribeLogGroups recording; 0: none recorded
				pushed   bool
				calls    []string // logs calls expected in the evidence, beside FilterLogEvents
				noteWant string
				// bare leaves the Logs Insights recordings out.
				bare bool
			}{
				{name: "always", pd: PushDownAlways, pushed: true, calls: []string{"GetQueryResults", "StartQuery"}},
				{name: "auto, no estimate recorded", pd: PushDownAuto},
				{name: "auto, small group", pd: PushDownAuto, stored: 1 << 30, calls: []string{"DescribeLogGroups"}},
				{name: "auto, large group", pd: PushDownAuto, stored: 1 << 40, pushed: true, calls: []string{"DescribeLogGroups", "GetQueryResults", "StartQuery"}, noteWant: "over the window"},
				{name: "never", pd: PushDownNever, stored: 1 << 40},
				{name: "auto, large group, Logs Insights not recorded: read here", pd: PushDownAuto, stored: 1 << 40, bare: true,
					calls:    []string{"DescribeLogGroups", "StartQuery"},
					noteWant: "/vpc/flowlogs/payments: Logs Insights failed (the status query: the bundle has no logs/StartQuery*.json); its records were read here instead"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					extra := map[string]string{}
					if tt.stored > 0 {
						extra["logs/DescribeLogGroups.json"] = describeLogGroups(t, base, tt.stored)
					}
					b, err := bundle.Open(overlay(t, name, tt.bare, extra))
					if err != nil {
						t.Fatal(err)
					}
					defer b.Close()
					c := clients(b)
					c.Insights = b.Insights()
					ev := collectWith(t, c, b, tt.pd)
					by := "logs:FilterLogEvents"
					if tt.pushed {
						by = "logs:StartQuery"
					}
					if diff := cmp.Diff(withoutReadBy(t, local.Traffic, "logs:FilterLogEvents"), withoutReadBy(t, ev.Traffic, by)); diff != "" {
						t.Errorf("traffic (-want +got):\n%s", diff)
					}
					got := correlate.Correlate(ev)
					if diff := cmp.Diff(want.Verdict, got.Verdict); diff != "" {
						t.Errorf("verdict (-want +got):\n%s", diff)
					}
					var calls []string
					for _, c := range ev.Calls {
						if c.Service == "logs" && c.Operation != "FilterLogEvents" {
							calls = append(calls, c.Operation)
						}
					}
					if diff := cmp.Diff(tt.calls, calls); diff != "" {
						t.Errorf("logs calls (-want +got):\n%s", diff)
					}
					cov := flowCoverage(ev)
					if pushed := strings.Contains(cov.Detail, "aggregated by Logs Insights"); pushed != tt.pushed || !strings.Contains(cov.Detail, tt.noteWant) {
						t.Errorf("coverage detail %q: pushed down %v, want %v (and %q)", cov.Detail, pushed, tt.pushed, tt.noteWant)
					}
				})
			}
		})
	}
}

// A run stopped while its queries still run reports the rows read so far,
// marked partial.
func TestInsightsStopped(t *testing.T) {
	dir := testenv.Fixture(t, "custom-format-600s")
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeInsights{events: eventsOf(t, dir), running: 1 << 30, rowsWhileRunning: true, queries: map[string]*fakeQuery{}}
	c := clients(b)
	c.Insights = &stopAfter{InsightsAPI: fake, polls: 3, cancel: cancel}
	ev, err := Collect(ctx, c, Options{Alarm: alarmOf(t, b), Now: b.Manifest.RecordedAt, PushDown: PushDownAlways})
	if err != nil {
		t.Fatal(err)
	}
	cov := flowCoverage(ev)
	for _, want := range []string{
		"/vpc/flowlogs/payments: a query was still running when the run stopped: its counts are partial",
		"/vpc/flowlogs/payments: 6 of 6 Logs Insights queries had not finished when the run stopped",
		"/vpc/flowlogs/osa1-erp: 5 of 5 Logs Insights queries had not finished when the run stopped",
	} {
		if cov.Status != audit.CoveragePartial || !strings.Contains(cov.Detail, want) {
			t.Errorf("coverage = %+v, want partial, saying %q", cov, want)
		}
	}
	if ev.Interrupted == "" || ev.Traffic.Records == 0 {
		t.Errorf("interrupted %q with %d records, want interrupted with the records read", ev.Interrupted, ev.Traffic.Records)
	}
}

// stopAfter cancels the run when the first status query has been polled
// so many times (it still runs: its rows are partial).
type stopAfter struct {
	InsightsAPI
	mu     sync.Mutex
	status string // the first status query's ID
	polls  int
	cancel context.CancelFunc
}

func (s *stopAfter) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	out, err := s.InsightsAPI.StartQuery(ctx, in, o...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.status == "" && strings.Contains(aws.ToString(in.QueryString), "min(fl_start)") {
		s.status = aws.ToString(out.QueryId)
	}
	return out, err
}

func (s *stopAfter) GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := s.InsightsAPI.GetQueryResults(ctx, in, o...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if aws.ToString(in.QueryId) == s.status {
		if s.polls--; s.polls == 0 {
			s.cancel()
		}
	}
	return out, err
}

func (s *stopAfter) Replaying() bool { return true }

// describeLogGroups is a DescribeLogGroups recording of the bundle's flow
// log groups, each holding stored bytes over 30 days of retention.
func describeLogGroups(t *testing.T, b *bundle.Bundle, stored int64) string {
	t.Helper()
	out, err := b.EC2().DescribeFlowLogs(context.Background(), &ec2.DescribeFlowLogsInput{})
	if err != nil {
		t.Fatal(err)
	}
	created := b.Manifest.RecordedAt.AddDate(0, -6, 0).UnixMilli()
	var groups []string
	for _, fl := range out.FlowLogs {
		if g := aws.ToString(fl.LogGroupName); g != "" {
			groups = append(groups, fmt.Sprintf(`{"logGroupName": %q, "creationTime": %d, "retentionInDays": 30, "storedBytes": %d}`, g, created, stored))
		}
	}
	return `{"logGroups": [` + strings.Join(groups, ", ") + `]}`
}

// scripted is a Logs Insights whose answers a test writes: per query (by
// the order StartQuery was called in) the statuses of successive polls and
// the rows of the last one.
type scripted struct {
	mu     sync.Mutex
	starts []*cloudwatchlogs.StartQueryInput
	// startErrs fail the first StartQuery calls.
	startErrs []error
	// answer returns the polls of the n-th query started.
	answer func(n int, in *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput
	polls  map[string][]*cloudwatchlogs.GetQueryResultsOutput
	calls  []string
}

func (s *scripted) DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return nil, errors.New("not scripted")
}

func (s *scripted) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "StartQuery")
	if len(s.startErrs) > 0 {
		err := s.startErrs[0]
		s.startErrs = s.startErrs[1:]
		return nil, err
	}
	n := len(s.starts)
	s.starts = append(s.starts, in)
	id := fmt.Sprintf("q%d", n)
	if s.polls == nil {
		s.polls = map[string][]*cloudwatchlogs.GetQueryResultsOutput{}
	}
	s.polls[id] = s.answer(n, in)
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String(id)}, nil
}

func (s *scripted) GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "GetQueryResults "+aws.ToString(in.QueryId))
	ps := s.polls[aws.ToString(in.QueryId)]
	out := ps[0]
	if len(ps) > 1 {
		s.polls[aws.ToString(in.QueryId)] = ps[1:]
	}
	return out, nil
}

func poll(status cwltypes.QueryStatus, rows int) *cloudwatchlogs.GetQueryResultsOutput {
	out := &cloudwatchlogs.GetQueryResultsOutput{Status: status, Statistics: &cwltypes.QueryStatistics{BytesScanned: 1000}}
	for i := range rows {
		out.Results = append(out.Results, []cwltypes.ResultField{{Field: aws.String("records"), Value: aws.String(fmt.Sprint(i))}})
	}
	return out
}

func polls(ps ...*cloudwatchlogs.GetQueryResultsOutput) []*cloudwatchlogs.GetQueryResultsOutput {
	return ps
}

type apiErr struct{ code string }

func (e apiErr) Error() string                 { return e.code }
func (e apiErr) ErrorCode() string             { return e.code }
func (e apiErr) ErrorMessage() string          { return e.code }
func (e apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// Polling, failures, the row limit and timeouts, and a run that stops
// while a query runs.
func TestInsightsRunner(t *testing.T) {
	lo := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	hi := lo.Add(4 * time.Minute)
	q := insightsQuery{kind: qStatus, iface: "fl_interface_id", streams: []string{"eni-1-all"}, parse: `parse @message "*" as fl_start`, filter: exprTrue, by: []string{"minute"}, stats: "count(*) as records"}
	full := insightsRowLimit
	tests := []struct {
		name      string
		startErrs []error
		answer    func(n int, in *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput
		// stopAfter ends the context at the n-th sleep (0: never).
		stopAfter int
		lo, hi    time.Time
		wantRows  int
		wantQ     int // queries started
		wantErr   string
		partial   []string
		ranges    [][2]int64 // StartQuery time ranges (epoch seconds)
		sleeps    []time.Duration
	}{
		{name: "running then complete", answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusScheduled, 0), poll(cwltypes.QueryStatusRunning, 2), poll(cwltypes.QueryStatusComplete, 5))
		}, wantRows: 5, wantQ: 1, ranges: [][2]int64{{lo.Unix(), hi.Unix()}},
			sleeps: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{name: "failed", answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusRunning, 0), poll(cwltypes.QueryStatusFailed, 0))
		}, wantQ: 1, wantErr: "query q0 ended Failed in Logs Insights", ranges: [][2]int64{{lo.Unix(), hi.Unix()}}},
		{name: "cancelled", answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusCancelled, 0))
		}, wantQ: 1, wantErr: "query q0 ended Cancelled in Logs Insights", ranges: [][2]int64{{lo.Unix(), hi.Unix()}}},
		{name: "row limit splits the range", answer: func(n int, _ *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			if n == 0 {
				return polls(poll(cwltypes.QueryStatusComplete, full))
			}
			return polls(poll(cwltypes.QueryStatusComplete, 3))
		}, wantRows: 6, wantQ: 3,
			ranges: [][2]int64{{lo.Unix(), hi.Unix()}, {lo.Unix(), lo.Unix() + 120}, {lo.Unix() + 120, hi.Unix()}}},
		{name: "timeout splits the range", answer: func(n int, _ *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			if n == 0 {
				return polls(poll(cwltypes.QueryStatusRunning, 1), poll(cwltypes.QueryStatusTimeout, 0))
			}
			return polls(poll(cwltypes.QueryStatusComplete, 2))
		}, wantRows: 4, wantQ: 3,
			ranges: [][2]int64{{lo.Unix(), hi.Unix()}, {lo.Unix(), lo.Unix() + 120}, {lo.Unix() + 120, hi.Unix()}}},
		{name: "one minute still over the limit is partial", lo: lo, hi: lo.Add(time.Minute), answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusComplete, full))
		}, wantRows: full, wantQ: 1, ranges: [][2]int64{{lo.Unix(), lo.Unix() + 60}},
			partial: []string{"the status query over 20:00:00 still filled Logs Insights' 10000-row limit: its counts are partial"}},
		{name: "one minute timing out fails", lo: lo, hi: lo.Add(time.Minute), answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusTimeout, 0))
		}, wantQ: 1, wantErr: errQueryTimeout.Error(), ranges: [][2]int64{{lo.Unix(), lo.Unix() + 60}}},
		{name: "stopped while running keeps what was read", stopAfter: 3, answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
			return polls(poll(cwltypes.QueryStatusRunning, 1), poll(cwltypes.QueryStatusRunning, 3))
		}, wantRows: 3, wantQ: 1, wantErr: context.Canceled.Error(), ranges: [][2]int64{{lo.Unix(), hi.Unix()}},
			partial: []string{"a query was still running when the run stopped: its counts are partial"}},
		{name: "too many concurrent queries: wait and start again", startErrs: []error{apiErr{"LimitExceededException"}, apiErr{"LimitExceededException"}},
			answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
				return polls(poll(cwltypes.QueryStatusComplete, 1))
			}, wantRows: 1, wantQ: 1, ranges: [][2]int64{{lo.Unix(), hi.Unix()}},
			sleeps: []time.Duration{500 * time.Millisecond, time.Second, 500 * time.Millisecond}},
		{name: "access denied is not retried", startErrs: []error{apiErr{"AccessDeniedException"}}, wantErr: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			api := &scripted{startErrs: tt.startErrs, answer: tt.answer}
			var sleeps []time.Duration
			r := &insightsRunner{api: api, group: "/vpc/flows", call: func(string) {}, sleep: func(ctx context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				if len(sleeps) == tt.stopAfter {
					cancel()
				}
				return ctx.Err()
			}}
			l, h := lo, hi
			if !tt.lo.IsZero() {
				l, h = tt.lo, tt.hi
			}
			out, err := r.run(ctx, q, l, h)
			if diff := cmp.Diff(tt.wantErr, fmt.Sprint(errOrNil(err))); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if len(out.rows) != tt.wantRows || out.queries != tt.wantQ {
				t.Errorf("%d rows from %d queries, want %d from %d", len(out.rows), out.queries, tt.wantRows, tt.wantQ)
			}
			if diff := cmp.Diff(tt.partial, out.partial); diff != "" {
				t.Errorf("partial (-want +got):\n%s", diff)
			}
			var ranges [][2]int64
			for _, in := range api.starts {
				ranges = append(ranges, [2]int64{aws.ToInt64(in.StartTime), aws.ToInt64(in.EndTime)})
				if aws.ToInt32(in.Limit) != insightsRowLimit || aws.ToString(in.LogGroupName) != "/vpc/flows" {
					t.Errorf("StartQuery limit %d group %q", aws.ToInt32(in.Limit), aws.ToString(in.LogGroupName))
				}
			}
			if diff := cmp.Diff(tt.ranges, ranges); diff != "" {
				t.Errorf("time ranges (-want +got):\n%s", diff)
			}
			if tt.sleeps != nil {
				if diff := cmp.Diff(tt.sleeps, sleeps); diff != "" {
					t.Errorf("back-off (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func errOrNil(err error) any {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestWindowShare(t *testing.T) {
	now := time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)
	w := audit.Window{Start: now.Add(-3 * time.Hour), End: now}
	tests := []struct {
		name      string
		stored    int64
		created   time.Time
		retention int32
		want      int64
	}{
		{"retention bounds the span", 240 << 20, now.AddDate(-1, 0, 0), 10, 3 << 20},
		{"a young group spreads over its age", 6 << 20, now.Add(-6 * time.Hour), 30, 3 << 20},
		{"never expires: its age", 8 << 20, now.Add(-24 * time.Hour), 0, 1 << 20},
		{"window longer than the span", 5, now.Add(-time.Hour), 0, 5},
		{"unknown", 0, now.Add(-time.Hour), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := windowShare(tt.stored, tt.created.UnixMilli(), tt.retention, w, now); got != tt.want {
				t.Errorf("windowShare = %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkInsightsReplay compares the traffic of a fixture read here
// (FilterLogEvents, every record parsed and classified) with the same
// traffic replayed from recorded Logs Insights results (rows per minute and
// class), through the whole collection.
func BenchmarkInsightsReplay(b *testing.B) {
	dir := overlay(b, "custom-format-600s", false, nil)
	for _, pd := range []PushDown{PushDownNever, PushDownAlways} {
		b.Run(string(pd), func(b *testing.B) {
			bb, err := bundle.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer bb.Close()
			c := clients(bb)
			o := Options{Alarm: "osa1-dc-tunnels", Now: bb.Manifest.RecordedAt, PushDown: pd}
			b.ReportAllocs()
			for b.Loop() {
				c.Insights = bb.Insights()
				ev, err := Collect(context.Background(), c, o)
				if err != nil || ev.Traffic.Records == 0 {
					b.Fatalf("%v, %d records", err, ev.Traffic.Records)
				}
			}
		})
	}
}
