package bundle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
	"github.com/vpnaudit/vpnaudit/report"
)

// fuzzFiles are the bundle files FuzzBundle fuzzes, in the order of its
// arguments. An empty argument leaves the file out of the bundle.
var fuzzFiles = []string{
	"bundle.json",
	"cloudwatch/DescribeAlarms.json",
	"cloudwatch/DescribeAlarmHistory.json",
	"cloudtrail/LookupEvents-000.json",
	"ec2/DescribeFlowLogs.json",
	"logs/FilterLogEvents-000.json",
	"cloudwatch/GetMetricData-000.json",
	"ec2/DescribeVpnConnections.json",
	"ec2/DescribeInstances.json",
	// Push-down: Logs Insights, Athena and S3 listings (with these, the
	// collector runs with PushDown always and Athena configured).
	"logs/StartQuery-000.json",
	"logs/GetQueryResults-000.json",
	"logs/DescribeLogGroups.json",
	"athena/StartQueryExecution-000.json",
	"athena/GetQueryExecution-000.json",
	"athena/GetQueryResults-000.json",
	"s3/ListObjectsV2-000.json",
}

// pushDownFiles is the index in fuzzFiles of the first push-down file.
const pushDownFiles = 9

// recordedQueries are bundle overlays of recorded push-down calls
// (audit/collect's testdata), by the fixture they extend: their files
// beside the fuzzed ones are context, their first ones seed.
var recordedQueries = map[string]string{
	"custom-format-600s": "audit/collect/testdata/insights/custom-format-600s",
}

// athenaSeed is a recorded Athena query (audit/collect's testdata).
const athenaSeed = "audit/collect/testdata/athena"

// fuzzAthena configures Athena for the collector when the bundle holds
// push-down files.
var fuzzAthena = collect.AthenaOptions{Workgroup: "primary", Database: "vpnaudit", FlowTable: "vpc_flow_logs", TrailTable: "cloudtrail_logs"}

// pollBound bounds the polls and pages FuzzBundle asks of one recorded
// query or listing: more than a bundle records, so a replay still
// answering after that many would make a run spin.
const pollBound = 200

// seedFixtures are the fixtures whose files seed FuzzBundle. Their other
// files (the VPN, its customer gateway, the appliance, …) are the context a
// fuzzed bundle holds unchanged, chosen by the target's last argument, so
// the fuzzed files meet a path to investigate.
var seedFixtures = []string{"lab-console-stop", "custom-format-600s", "fired-twice", "hostile-strings", "no-flow-logs", "alarm-metric-only", "asg-scale-to-zero"}

// FuzzBundle opens a bundle built from fuzzed bundle.json, DescribeAlarms,
// DescribeAlarmHistory, LookupEvents, DescribeFlowLogs, FilterLogEvents,
// GetMetricData, DescribeVpnConnections and DescribeInstances files and
// push-down recordings (StartQuery, GetQueryResults, DescribeLogGroups,
// StartQueryExecution, GetQueryExecution, Athena's GetQueryResults and an
// S3 listing), the other files from a fixture, and runs what
// `vpnaudit why --from` runs on it: the collector over the replay clients
// (with --push-down always when push-down files are present), the
// correlation and every renderer. It then asks the push-down replay
// clients for the calls their recordings hold and polls and pages them as
// the collector does: a replay must end within pollBound calls. Errors are
// fine; a panic, a hang (go test's -timeout), a replay that never ends or
// an invalid JSON report is not.
func FuzzBundle(f *testing.F) {
	root := testenv.ModuleRoot(f)
	var contexts []map[string][]byte
	for i, name := range seedFixtures {
		dir := filepath.Join(root, "fixtures", name)
		files := contextFiles(f, dir)
		args := seedArgs(f, dir)
		if rec, ok := recordedQueries[name]; ok {
			recDir := filepath.Join(root, filepath.FromSlash(rec))
			overlayFiles(f, recDir, files)
			recArgs := seedArgs(f, recDir)
			withRec := append([][]byte(nil), args...)
			for j := pushDownFiles; j < len(withRec); j++ {
				withRec[j] = recArgs[j]
			}
			if withRec[pushDownFiles+2] == nil {
				withRec[pushDownFiles+2] = []byte(`{"Input": {"logGroupNamePrefix": "/vpc/flowlogs/", "limit": 1}, "Output": {"logGroups": [
					{"logGroupName": "/vpc/flowlogs/osa1-erp", "creationTime": 1780000000000, "retentionInDays": 30, "storedBytes": 1099511627776},
					{"logGroupName": "/vpc/flowlogs/payments", "creationTime": 1780000000000, "storedBytes": 7}], "nextToken": "n1"}}`)
			}
			addSeed(f, withRec, uint8(i))
		}
		contexts = append(contexts, files)
		addSeed(f, args, uint8(i))
	}
	// A recorded Athena query (QUEUED first), the same query recorded
	// SUCCEEDED, and an S3 listing.
	athenaArgs := seedArgs(f, filepath.Join(root, filepath.FromSlash(athenaSeed)))
	lab := seedArgs(f, filepath.Join(root, "fixtures", "lab-console-stop"))
	for j := pushDownFiles; j < len(lab); j++ {
		lab[j] = athenaArgs[j]
	}
	addSeed(f, lab, 0)
	succeeded, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(athenaSeed), "athena", "GetQueryExecution-002.json"))
	if err != nil {
		f.Fatal(err)
	}
	lab = append([][]byte(nil), lab...)
	lab[pushDownFiles+4] = succeeded
	lab[pushDownFiles+6] = []byte(`{"Input": {"Bucket": "flow-logs", "Prefix": "AWSLogs/444455556666/vpcflowlogs/eu-central-1/2026/11/03/"},
		"Output": {"Contents": [{"Key": "AWSLogs/444455556666/vpcflowlogs/eu-central-1/2026/11/03/444455556666_vpcflowlogs_eu-central-1_fl-0a1b2c3d_20261103T2150Z_0a1b2c3d.log.gz", "Size": 1234}],
		"KeyCount": 1, "IsTruncated": true, "NextContinuationToken": "t2"}}`)
	addSeed(f, lab, 0)
	if ref := filepath.Join(root, "..", "shared", "examples", "lab-stop-appliance"); exists(ref) {
		addSeed(f, seedArgs(f, ref), 0) // the same lab as lab-console-stop
	} else if testenv.CI() {
		f.Fatalf("%s not found (the shared/ folder beside the repository); CI=true requires it", ref)
	} else {
		f.Logf("SKIP seeds: %s not found (the shared/ folder beside the repository)", ref)
	}
	// Hand-written seeds for the shapes the fixtures lack.
	addSeed(f, [][]byte{[]byte(`{"FormatVersion": 2}`), []byte(`{"MetricAlarms": []}`)}, 0)
	addSeed(f, [][]byte{[]byte(`{"FormatVersion": 1, "RecordedAt": 1}`), []byte(`{"CompositeAlarms": [{"AlarmName": "VPN-Down", "AlarmRule": "ALARM(a)"}]}`)}, 0)
	addSeed(f, [][]byte{[]byte(`{"RecordedAt": "2026-11-03T22:50:00Z", "Failures": [{"Service": "cloudtrail", "Operation": "LookupEvents", "Error": "x"}]}`),
		[]byte(`{"MetricAlarms": [{"AlarmName": "VPN-Down", "Metrics": [{"Id": "e1", "Expression": "m1*2"}], "StateValue": "ALARM"}]}`),
		[]byte(`{"AlarmHistoryItems": [{"Timestamp": "2026-11-03T21:55:26Z", "HistoryItemType": "StateUpdate", "HistoryData": "{"}]}`),
		nil, []byte(`{"FlowLogs": [{"LogFormat": "${version} ${version}", "LogGroupName": "g", "ResourceId": "eni-1"}]}`),
		[]byte(`{"events": [{"timestamp": 1, "message": "\xff\xfe"}]}`),
		[]byte(`{"MetricDataResults": [{"Id": "m0", "Timestamps": ["2026-11-03T21:55:00Z"], "Values": []}]}`)}, 0)

	f.Fuzz(func(t *testing.T, manifest, alarms, history, trail, flowLogs, logs, metrics, vpns, instances,
		startQuery, queryResults, logGroups, startExecution, execution, executionResults, listing []byte, fixture uint8) {
		dir := t.TempDir()
		for name, content := range contexts[int(fixture)%len(contexts)] {
			write(t, dir, name, content)
		}
		pushDown := false
		for i, content := range [][]byte{manifest, alarms, history, trail, flowLogs, logs, metrics, vpns, instances,
			startQuery, queryResults, logGroups, startExecution, execution, executionResults, listing} {
			if len(content) > 0 {
				write(t, dir, fuzzFiles[i], content)
				pushDown = pushDown || i >= pushDownFiles
			}
		}
		b, err := bundle.Open(dir)
		if err != nil {
			t.Logf("Open: %v", err)
			if err.Error() == "" {
				t.Fatal("Open failed with an empty message")
			}
			return
		}
		defer b.Close()
		// No deadline: a hang is caught by go test's -timeout, not by a
		// wall-clock assertion on a shared machine.
		replayQueries(t, b, startQuery, logGroups, startExecution, listing)
		o := collect.Options{Alarm: alarmName(alarms), Now: b.Manifest.RecordedAt, Region: b.Manifest.Region, Account: b.Manifest.AccountId}
		if pushDown {
			o.PushDown, o.Athena = collect.PushDownAlways, fuzzAthena
		}
		ev, err := collect.Collect(context.Background(), collect.BundleClients(b), o)
		if err != nil {
			t.Logf("Collect: %v", err)
			if err.Error() == "" {
				t.Fatal("Collect failed with an empty message")
			}
			return
		}
		res := correlate.Correlate(ev)
		t.Logf("verdict: %s (%s)", res.Verdict.Status, res.Verdict.Summary)
		var js bytes.Buffer
		if err := report.JSON(&js, res); err != nil {
			t.Fatalf("JSON report: %v", err)
		}
		if !json.Valid(js.Bytes()) {
			t.Fatalf("the JSON report is not valid JSON:\n%s", js.Bytes())
		}
		if err := report.Text(io.Discard, res, report.TextOptions{Width: 100}); err != nil {
			t.Fatalf("text report: %v", err)
		}
		if err := report.Markdown(io.Discard, res, report.MarkdownOptions{}); err != nil {
			t.Fatalf("Markdown report: %v", err)
		}
		if err := report.Chart(io.Discard, res, report.ChartOptions{}); err != nil {
			t.Fatalf("chart: %v", err)
		}
	})
}

var alarmNameRE = regexp.MustCompile(`"(?i:AlarmName)"\s*:\s*"([^"\\]+)"`)

// alarmName is the first alarm name in a DescribeAlarms file, so seeds from
// every fixture investigate their own alarm; "VPN-Down" when there is none.
func alarmName(raw []byte) string {
	if m := alarmNameRE.FindSubmatch(raw); m != nil {
		return string(m[1])
	}
	return "VPN-Down"
}

// contextFiles reads every file of the fixture in dir except bundle.json
// and the fuzzed operations, keyed by their path in the bundle.
func contextFiles(f *testing.F, dir string) map[string][]byte {
	fuzzed := map[string]bool{}
	for _, name := range fuzzFiles {
		fuzzed[opOf(name)] = true
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "bundle.json" || fuzzed[opOf(rel)] {
			return nil
		}
		raw, err := os.ReadFile(p)
		files[rel] = raw
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return files
}

// opOf is "service/Operation" of a bundle file name: the name up to the
// first dash or dot after the service.
func opOf(rel string) string {
	service, name, _ := strings.Cut(rel, "/")
	if i := strings.IndexAny(name, "-."); i >= 0 {
		name = name[:i]
	}
	return service + "/" + name
}

// addSeed adds one seed; missing trailing files are empty. context picks
// the fixture whose other files the bundle holds.
func addSeed(f *testing.F, args [][]byte, context uint8) {
	a := make([][]byte, len(fuzzFiles))
	copy(a, args)
	f.Add(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], context)
}

// seedArgs reads the first file of each fuzzed operation from the bundle
// in dir (nil when it has none), with every JSON array cut to a few items
// so the seed stays small enough to mutate.
func seedArgs(f *testing.F, dir string) [][]byte {
	args := make([][]byte, len(fuzzFiles))
	for i, name := range fuzzFiles {
		pattern := filepath.Join(dir, filepath.FromSlash(opOf(name))+"*.json")
		if name == "bundle.json" {
			pattern = filepath.Join(dir, name)
		}
		matches, _ := filepath.Glob(pattern)
		if len(matches) == 0 {
			continue
		}
		if strings.HasPrefix(name, "cloudtrail/") {
			args[i] = changesPage(f, matches)
			continue
		}
		raw, err := os.ReadFile(matches[0])
		if err != nil {
			f.Fatal(err)
		}
		n := 4
		switch {
		case strings.HasPrefix(name, "logs/") || strings.Contains(name, "GetMetricData"):
			n = 60 // enough points and records around the breach to corroborate a cause
		case strings.HasPrefix(name, "ec2/"):
			n = 50 // every instance: the appliance among them
		}
		args[i] = trimJSON(raw, n)
	}
	return args
}

// changesPage gathers the mutating events of every LookupEvents page into
// one small page, so a seed holds the fixture's cause and the fuzzer
// starts from a bundle that reaches a root cause.
func changesPage(f *testing.F, pages []string) []byte {
	var events []any
	for _, p := range pages {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Output struct{ Events []map[string]any }
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for _, e := range doc.Output.Events {
			if e["ReadOnly"] == "false" && len(events) < 12 && !strings.HasPrefix(fmt.Sprint(e["EventName"]), "Update") &&
				!strings.HasPrefix(fmt.Sprint(e["EventName"]), "Put") {
				events = append(events, e)
			}
		}
	}
	out, err := json.Marshal(map[string]any{"Input": map[string]any{}, "Output": map[string]any{"Events": events}})
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// trimJSON cuts every array in raw to at most n items; raw that is not
// JSON is returned as it is.
func trimJSON(raw []byte, n int) []byte {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return raw
	}
	var trim func(any) any
	trim = func(v any) any {
		switch x := v.(type) {
		case []any:
			x = x[:min(len(x), n)]
			for i := range x {
				x[i] = trim(x[i])
			}
			return x
		case map[string]any:
			for k := range x {
				x[k] = trim(x[k])
			}
		}
		return v
	}
	out, err := json.Marshal(trim(v))
	if err != nil {
		return raw
	}
	return out
}

func write(t *testing.T, dir, name string, content []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// overlayFiles adds the files of the bundle overlay in dir to files,
// except those FuzzBundle fuzzes.
func overlayFiles(f *testing.F, dir string, files map[string][]byte) {
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if slices.Contains(fuzzFiles, rel) {
			return nil
		}
		raw, err := os.ReadFile(p)
		files[rel] = raw
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
}

// replayQueries asks the push-down replay clients for the calls their
// fuzzed recordings hold, then polls and pages them as the collector does;
// every poll and listing must end within pollBound calls. Errors are fine.
func replayQueries(t *testing.T, b *bundle.Bundle, startQuery, logGroups, startExecution, listing []byte) {
	ctx := context.Background()
	var in struct {
		Input map[string]json.RawMessage
	}
	inputOf := func(raw []byte, v any) bool {
		in.Input = nil
		if json.Unmarshal(raw, &in) != nil || in.Input == nil {
			return false
		}
		js, _ := json.Marshal(in.Input)
		return json.Unmarshal(js, v) == nil
	}
	var sq struct {
		LogGroupName        *string
		LogGroupNames       []string
		LogGroupIdentifiers []string
		StartTime, EndTime  *int64
		QueryString         *string
	}
	if inputOf(startQuery, &sq) {
		ins := b.Insights()
		out, err := ins.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: sq.LogGroupName, LogGroupNames: sq.LogGroupNames,
			LogGroupIdentifiers: sq.LogGroupIdentifiers, StartTime: sq.StartTime, EndTime: sq.EndTime, QueryString: sq.QueryString})
		if err == nil {
			polled := false
			for range pollBound {
				res, err := ins.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: out.QueryId})
				if err != nil || slices.Contains([]cwltypes.QueryStatus{cwltypes.QueryStatusComplete, cwltypes.QueryStatusFailed,
					cwltypes.QueryStatusCancelled, cwltypes.QueryStatusTimeout}, res.Status) {
					polled = true // an error, or a status the collector stops at
					break
				}
			}
			if !polled {
				t.Fatalf("GetQueryResults of %q answered an unfinished query %d times: a replay must end", aws.ToString(out.QueryId), pollBound)
			}
		}
	}
	var lg struct {
		LogGroupNamePrefix, LogGroupNamePattern *string
		Limit                                   *int32
	}
	if inputOf(logGroups, &lg) || len(logGroups) > 0 {
		p := cloudwatchlogs.NewDescribeLogGroupsPaginator(b.Insights(), &cloudwatchlogs.DescribeLogGroupsInput{
			LogGroupNamePrefix: lg.LogGroupNamePrefix, LogGroupNamePattern: lg.LogGroupNamePattern, Limit: lg.Limit})
		pages(t, "DescribeLogGroups", p.HasMorePages, func() error { _, err := p.NextPage(ctx); return err })
	}
	var se struct{ QueryString *string }
	if inputOf(startExecution, &se) {
		at := b.Athena()
		out, err := at.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: se.QueryString})
		if err == nil {
			state := athenatypes.QueryExecutionStateQueued
			for i := 0; ; i++ {
				if i == pollBound {
					t.Fatalf("GetQueryExecution of %q answered %s %d times: a replay must end", aws.ToString(out.QueryExecutionId), state, pollBound)
				}
				res, err := at.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
				if err != nil {
					break
				}
				if res.QueryExecution == nil || res.QueryExecution.Status == nil {
					break
				}
				if state = res.QueryExecution.Status.State; slices.Contains([]athenatypes.QueryExecutionState{athenatypes.QueryExecutionStateSucceeded,
					athenatypes.QueryExecutionStateFailed, athenatypes.QueryExecutionStateCancelled}, state) {
					break // a state the collector stops at
				}
			}
			if state == athenatypes.QueryExecutionStateSucceeded {
				p := athena.NewGetQueryResultsPaginator(at, &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId})
				pages(t, "Athena GetQueryResults", p.HasMorePages, func() error { _, err := p.NextPage(ctx); return err })
			}
		}
	}
	var lo struct{ Bucket, Prefix, StartAfter *string }
	if inputOf(listing, &lo) {
		p := s3.NewListObjectsV2Paginator(b.S3(), &s3.ListObjectsV2Input{Bucket: lo.Bucket, Prefix: lo.Prefix, StartAfter: lo.StartAfter})
		pages(t, "ListObjectsV2", p.HasMorePages, func() error { _, err := p.NextPage(ctx); return err })
	}
}

// pages pages a paginator until it ends or fails; more than pollBound
// pages is a listing that never ends, unless the tokens repeat (which the
// collector's page guard catches; the SDK paginators stop on a repeated
// token only when asked).
func pages(t *testing.T, what string, more func() bool, next func() error) {
	for i := 0; more(); i++ {
		if i == pollBound {
			t.Logf("%s: still paging after %d pages", what, pollBound)
			return
		}
		if next() != nil {
			return
		}
	}
}
