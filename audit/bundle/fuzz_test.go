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
	"strings"
	"testing"

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
}

// seedFixtures are the fixtures whose files seed FuzzBundle. Their other
// files (the VPN, its customer gateway, the appliance, …) are the context a
// fuzzed bundle holds unchanged, chosen by the target's last argument, so
// the fuzzed files meet a path to investigate.
var seedFixtures = []string{"lab-console-stop", "custom-format-600s", "fired-twice", "hostile-strings", "no-flow-logs", "alarm-metric-only", "asg-scale-to-zero"}

// FuzzBundle opens a bundle built from fuzzed bundle.json, DescribeAlarms,
// DescribeAlarmHistory, LookupEvents, DescribeFlowLogs, FilterLogEvents,
// GetMetricData, DescribeVpnConnections and DescribeInstances files (the other files from a fixture) and runs what
// `vpnaudit why --from` runs on it: the
// collector over the replay clients, the correlation and every renderer.
// Errors are fine; a panic, a hang (go test's -timeout) or an invalid JSON
// report is not.
func FuzzBundle(f *testing.F) {
	root := testenv.ModuleRoot(f)
	var contexts []map[string][]byte
	for i, name := range seedFixtures {
		dir := filepath.Join(root, "fixtures", name)
		contexts = append(contexts, contextFiles(f, dir))
		addSeed(f, seedArgs(f, dir), uint8(i))
	}
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

	f.Fuzz(func(t *testing.T, manifest, alarms, history, trail, flowLogs, logs, metrics, vpns, instances []byte, fixture uint8) {
		dir := t.TempDir()
		for name, content := range contexts[int(fixture)%len(contexts)] {
			write(t, dir, name, content)
		}
		for i, content := range [][]byte{manifest, alarms, history, trail, flowLogs, logs, metrics, vpns, instances} {
			if len(content) > 0 {
				write(t, dir, fuzzFiles[i], content)
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
		ev, err := collect.Collect(context.Background(), collect.BundleClients(b),
			collect.Options{Alarm: alarmName(alarms), Now: b.Manifest.RecordedAt, Region: b.Manifest.Region, Account: b.Manifest.AccountId})
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
	f.Add(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], context)
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
