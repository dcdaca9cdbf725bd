package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tricky are FilterLogEvents events the byte-level scanner must read as
// the general decoder does: escapes, other member cases and orders, values
// of other JSON types, nulls, white space.
var tricky = []string{
	`{"logStreamName": "eni-a-all", "timestamp": 1000, "message": "plain", "ingestionTime": 2000, "eventId": "1"}`,
	`{"logStreamName":"eni-a-all","timestamp":2000,"message":"quote \" and backslash \\ and \\\" and \u00e9","eventId":"2"}`,
	`{ "eventId" : "3" , "message" : "members in another order" , "timestamp" : 3000 , "logStreamName" : "eni-a-all" }`,
	`{"LogStreamName": "eni-a-all", "Timestamp": 4000, "Message": "PascalCase names", "EventId": "4"}`,
	`{"logStreamName": "eni-a-all", "timestamp": "5000", "message": "timestamp as a string", "eventId": 5}`,
	`{"logStreamName": "eni-a-all", "timestamp": 6000.0, "message": "timestamp with a fraction", "eventId": "6"}`,
	`{"logStreamName": "eni-a-all", "timestamp": 7000, "message": null, "ingestionTime": null, "eventId": "7"}`,
	`{"logStreamName": "eni-\u0061-all", "timestamp": 8000, "message": "escaped stream name", "eventId": "8"}`,
	`{"logStreamName": "eni-b-all", "timestamp": 9000, "message": "another stream", "unknown": {"nested": ["x", {"y": "}]"}]}, "eventId": "9"}`,
	`{"logStreamName": "eni-a-all", "timestamp": 10000, "message": "` + strings.Repeat("long ", 300_000) + `", "eventId": "10"}`,
	"{\n\t\"logStreamName\": \"eni-a-all\",\n\t\"timestamp\": 11000,\n\t\"message\": \"tabs and new lines\",\n\t\"eventId\": \"11\"\n}",
}

// refEvents decodes every event of a FilterLogEvents file with
// encoding/json and the general decoder: what the fast path must match.
func refEvents(t *testing.T, path string) []cwltypes.FilteredLogEvent {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	body := top
	for k, v := range top {
		if strings.EqualFold(k, "Output") {
			body = nil
			if err := json.Unmarshal(v, &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out []cwltypes.FilteredLogEvent
	for k, v := range body {
		if !strings.EqualFold(k, "events") {
			continue
		}
		var evs []json.RawMessage
		if err := json.Unmarshal(v, &evs); err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			var ev cwltypes.FilteredLogEvent
			if err := decodeRaw(&ev, e, fmt.Sprint("event ", i)); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// refFilter answers a FilterLogEvents question over files by brute force.
func refFilter(t *testing.T, paths []string, groups []string, in cloudwatchlogs.FilterLogEventsInput) []string {
	t.Helper()
	q, err := newLogQuery(&in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, p := range paths {
		if groups[i] != "" && groups[i] != q.group {
			continue
		}
		for _, ev := range refEvents(t, p) {
			if q.match(&ev) {
				got = append(got, aws.ToString(ev.EventId)+"|"+aws.ToString(ev.Message))
			}
		}
	}
	return got
}

func pages(t *testing.T, l *Logs, in cloudwatchlogs.FilterLogEventsInput) (events []string, tokens []string) {
	t.Helper()
	p := cloudwatchlogs.NewFilterLogEventsPaginator(l, &in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			events = append(events, aws.ToString(e.EventId)+"|"+aws.ToString(e.Message))
		}
		tokens = append(tokens, aws.ToString(out.NextToken))
	}
	return events, tokens
}

func TestFilterLogEventsScanner(t *testing.T) {
	files := map[string]string{
		"logs/FilterLogEvents-0.json": `{"Input": {"logGroupName": "G"}, "Output": {"events": [` + strings.Join(tricky, ",\n") + `], "searchedLogStreams": []}}`,
		// Output before Input; an empty page; a bare dump; another group.
		"logs/FilterLogEvents-1.json": `{"Output": {"nextToken": "x", "events": [` + tricky[0] + `, ` + tricky[2] + `]}, "Input": {"logGroupName": "G"}}`,
		"logs/FilterLogEvents-2.json": `{"Input": {"logGroupName": "G"}, "Output": {"events": []}}`,
		"logs/FilterLogEvents-3.json": `{"events": [` + tricky[1] + `, ` + tricky[8] + `]}`,
		"logs/FilterLogEvents-4.json": `{"Input": {"logGroupName": "Other"}, "Output": {"events": [` + tricky[0] + `]}}`,
	}
	var many []string
	for i := 0; i < 2500; i++ {
		many = append(many, fmt.Sprintf(`{"logStreamName": "eni-%c-all", "timestamp": %d, "message": "m%d", "eventId": "x%d"}`, 'a'+i%3, 1000*i, i, i))
	}
	for f := 5; f < 12; f++ {
		files[fmt.Sprintf("logs/FilterLogEvents-%02d.json", f)] = `{"Input": {"logGroupName": "G"}, "Output": {"events": [` + strings.Join(many[(f-5)*300:(f-5)*300+400], ",") + `]}}`
	}
	b := writeBundle(t, files)
	lfs, err := b.logFiles()
	if err != nil {
		t.Fatal(err)
	}
	var paths, groups []string
	for _, lf := range lfs {
		paths, groups = append(paths, lf.path), append(groups, lf.group)
	}
	tests := []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
	}{
		{"everything", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G")}},
		{"pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-a-all"}, EndTime: aws.Int64(20000), Limit: aws.Int32(1)}},
		{"pages of 7 across files", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-b-all", "eni-c-all"}, Limit: aws.Int32(7)}},
		{"pages of 100, time range", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), StartTime: aws.Int64(500_000), EndTime: aws.Int64(1_500_000), Limit: aws.Int32(100)}},
		{"prefix and terms", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNamePrefix: aws.String("eni-a"), FilterPattern: aws.String(`m1`)}},
		{"the other group", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("Other")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := refFilter(t, paths, groups, tt.in)
			got, _ := pages(t, b.Logs(), tt.in)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}

	// A token works without the parked scan (another Bundle), and a
	// parked scan gives the same pages as a fresh one.
	in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-a-all"}, Limit: aws.Int32(50)}
	want, tokens := pages(t, b.Logs(), in)
	b2, err := Open(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	var got []string
	first, err := b.Logs().FilterLogEvents(context.Background(), &in)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range first.Events {
		got = append(got, aws.ToString(e.EventId)+"|"+aws.ToString(e.Message))
	}
	rest := in
	rest.NextToken = first.NextToken
	more, _ := pages(t, b2.Logs(), rest)
	got = append(got, more...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed on another bundle (-want +got):\n%s", diff)
	}
	if len(tokens) < 3 {
		t.Errorf("%d pages, want several", len(tokens))
	}
}

func TestScannerErrorsNameTheFile(t *testing.T) {
	b := writeBundle(t, map[string]string{
		"logs/FilterLogEvents-0.json":  `{"Input": {"logGroupName": "G"}, "Output": {"events": [` + tricky[0] + `, {"logStreamName": "eni-a-all", "timestamp": 1`,
		"cloudtrail/LookupEvents.json": `{"Output": {"Events": [{"EventId": "a", "EventTime": "2026-10-14T00:00:00Z", "ReadOnly": "false"}, {"EventId": "b", "EventTime": "yesterday", "ReadOnly": "false"}]}}`,
	})
	_, err := b.Logs().FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G")})
	if err == nil || !strings.Contains(err.Error(), "FilterLogEvents-0.json") || !strings.Contains(err.Error(), "event 1") {
		t.Errorf("truncated page: error = %v, want it to name the file and the event", err)
	}
	_, err = b.CloudTrail().LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if err == nil || !strings.Contains(err.Error(), "LookupEvents.json") || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Errorf("bad EventTime: error = %v, want it to name the file and the value", err)
	}
}

// TestLookupEventsPrefilter checks that events the raw prefilter cannot
// judge (values of other JSON types, missing members, epoch times) are
// judged as the API would.
func TestLookupEventsPrefilter(t *testing.T) {
	start := at("2026-10-14T00:00:00Z")
	evs := []string{
		`{"EventId": "bool-false", "ReadOnly": false, "EventName": "StopInstances", "EventTime": "2026-10-14T00:01:00Z"}`,
		`{"EventId": "string-false", "ReadOnly": "false", "EventName": "StopInstances", "EventTime": "2026-10-14T00:02:00+00:00"}`,
		`{"EventId": "epoch", "readonly": "false", "EventName": "StopInstances", "EventTime": 1791936180}`,
		`{"EventId": "no-readonly", "EventName": "StopInstances", "EventTime": "2026-10-14T00:04:00Z"}`,
		`{"EventId": "read", "ReadOnly": "true", "EventName": "DescribeInstances", "EventTime": "2026-10-14T00:05:00Z"}`,
		`{"EventId": "escaped", "ReadOnly": "f\u0061lse", "EventName": "StopInstances", "EventTime": "2026-10-14T00:06:00Z"}`,
		`{"EventId": "late", "ReadOnly": "false", "EventName": "StopInstances", "EventTime": "2026-10-14T02:00:00Z"}`,
		`{"EventId": "offset", "ReadOnly": "false", "EventName": "StopInstances", "EventTime": "2026-10-14T01:07:00+01:00"}`,
	}
	b := writeBundle(t, map[string]string{"cloudtrail/LookupEvents.json": `{"Output": {"Events": [` + strings.Join(evs, ",") + `]}}`})
	attr := func(k cttypes.LookupAttributeKey, v string) []cttypes.LookupAttribute {
		return []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
	}
	tests := []struct {
		name string
		in   cloudtrail.LookupEventsInput
		want []string
	}{
		{"read-only false in the hour", cloudtrail.LookupEventsInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(time.Hour)), LookupAttributes: attr(cttypes.LookupAttributeKeyReadOnly, "false")},
			[]string{"offset", "escaped", "string-false", "epoch", "bool-false"}},
		{"event name", cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "DescribeInstances")}, []string{"read"}},
		{"empty value matches a missing member", cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyUsername, "")}, []string{"late", "escaped", "read", "no-readonly", "epoch", "string-false", "bool-false", "offset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.CloudTrail().LookupEvents(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range out.Events {
				got = append(got, aws.ToString(e.EventId))
			}
			// Ties in time keep file order; compare as sets where times tie.
			if diff := cmp.Diff(tt.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !sort.SliceIsSorted(out.Events, func(i, j int) bool {
				return aws.ToTime(out.Events[i].EventTime).After(aws.ToTime(out.Events[j].EventTime))
			}) {
				t.Error("events are not newest first")
			}
		})
	}
}

// BenchmarkFilterLogEvents reads a group of pages for 2 of 200 streams:
// the scanner's throughput on events it mostly skips.
func BenchmarkFilterLogEvents(b *testing.B) {
	dir := b.TempDir()
	var size int64
	for f := 0; f < 8; f++ {
		var sb strings.Builder
		sb.WriteString(`{"Input": {"logGroupName": "G"}, "Output": {"events": [`)
		for i := 0; i < 10000; i++ {
			if i > 0 {
				sb.WriteString(",\n")
			}
			fmt.Fprintf(&sb, `{"logStreamName": "eni-%017x-all", "timestamp": %d, "message": "2 444455556666 eni-%017x 10.20.100.%d 10.20.1.25 443 51234 6 10 8400 1793736011 1793736069 ACCEPT OK", "ingestionTime": 1793736300677, "eventId": "%056d"}`,
				i%200, 1793736011000+int64(f*10000+i)*100, i%200, i%250, f*10000+i)
		}
		sb.WriteString(`]}}`)
		p := filepath.Join(dir, "logs", fmt.Sprintf("FilterLogEvents-%d.json", f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		size += int64(sb.Len())
	}
	bd, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer bd.Close()
	in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{fmt.Sprintf("eni-%017x-all", 7), fmt.Sprintf("eni-%017x-all", 8)}}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		p := cloudwatchlogs.NewFilterLogEventsPaginator(bd.Logs(), &in)
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			n += len(out.Events)
		}
		if n != 800 {
			b.Fatalf("%d events, want 800", n)
		}
	}
}

// FuzzScanner feeds arbitrary FilterLogEvents files to the scanner: it
// must never panic, and when encoding/json reads the file and every event
// decodes, it must answer as the general decoder does.
func FuzzScanner(f *testing.F) {
	f.Add(`{"Input": {"logGroupName": "G"}, "Output": {"events": [` + strings.Join(tricky[:9], ",") + `]}}`)
	f.Add(`{"events": [` + tricky[1] + `]}`)
	f.Add(`{"Output": {"events": [{"logStreamName": "eni-a-all", "timestamp": 1`)
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "logs", "FilterLogEvents.json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := Open(dir)
		if err != nil {
			return
		}
		defer b.Close()
		in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-a-all"}, StartTime: aws.Int64(0), EndTime: aws.Int64(1e15)}
		out, err := b.Logs().FilterLogEvents(context.Background(), &in)
		want, ok := refAnswer(content, &in)
		if !ok {
			return // invalid JSON or an undecodable event: an error or an answer is fine
		}
		if err != nil {
			t.Fatalf("scanner: %v; encoding/json reads the file", err)
		}
		var got []string
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.EventId)+"|"+aws.ToString(e.Message))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// refAnswer answers a FilterLogEvents question over one file's content
// with encoding/json and the general decoder; false when it cannot.
func refAnswer(content string, in *cloudwatchlogs.FilterLogEventsInput) ([]string, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(content), &top) != nil {
		return nil, false
	}
	body, group := top, ""
	for k, v := range top {
		switch {
		case strings.EqualFold(k, "Output"):
			if json.Unmarshal(v, &body) != nil {
				return nil, false
			}
		}
	}
	if raw, ok := lookupRaw(top, "Input"); ok && string(raw) != "null" {
		var v struct{ LogGroupName, LogGroupIdentifier string }
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil || decodeRaw(&v, raw, "Input") != nil {
			return nil, false
		}
		group = groupName(v.LogGroupName, v.LogGroupIdentifier)
	}
	if len(top) != len(dedupFold(top)) || len(body) != len(dedupFold(body)) {
		return nil, false // member names that differ only in case: undefined
	}
	q, _ := newLogQuery(in)
	if group != "" && group != q.group {
		return nil, true
	}
	raw, ok := lookupRaw(body, "events")
	if !ok || string(raw) == "null" {
		return nil, true
	}
	var evs []json.RawMessage
	if json.Unmarshal(raw, &evs) != nil {
		return nil, false
	}
	var out []string
	for _, e := range evs {
		var ev cwltypes.FilteredLogEvent
		if decodeRaw(&ev, e, "event") != nil {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) == nil && len(m) != len(dedupFold(m)) {
			return nil, false
		}
		if q.match(&ev) {
			out = append(out, aws.ToString(ev.EventId)+"|"+aws.ToString(ev.Message))
		}
	}
	return out, true
}

func lookupRaw(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func dedupFold(m map[string]json.RawMessage) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[strings.ToLower(k)] = true
	}
	return out
}

// TestTruncatedPages cuts a page at every byte: the scanner returns an
// error or an answer, never hangs or panics, and a page cut after its
// last event still answers.
func TestTruncatedPages(t *testing.T) {
	content := `{"Input": {"logGroupName": "G"}, "Output": {"events": [` + strings.Join(tricky[:9], ",") + `], "searchedLogStreams": []}}`
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "FilterLogEvents.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-a-all"}}
	answered := 0
	for n := 0; n <= len(content); n++ {
		if err := os.WriteFile(path, []byte(content[:n]), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := b.Logs().FilterLogEvents(ctx, &in); err == nil {
			answered++
		} else if ctx.Err() != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		cancel()
		b.Close()
	}
	// Only the whole page, and the page cut after its events array (the
	// rest is never read), answer.
	if want := len(`], "searchedLogStreams": []}}`); answered != want {
		t.Errorf("%d cuts answered, want %d", answered, want)
	}
}

// TestGetMetricDataFileShapes reads a series whose file has its Output
// before its Input, next to a bare dump (whose results cannot be told
// apart, so they answer nothing) and a file of other metrics.
func TestGetMetricDataFileShapes(t *testing.T) {
	query := `{"Id": "q", "MetricStat": {"Metric": {"Namespace": "AWS/VPN", "MetricName": "TunnelState", "Dimensions": [{"Name": "VpnId", "Value": "vpn-1"}]}, "Period": 60, "Stat": "Maximum"}}`
	other := strings.ReplaceAll(query, "vpn-1", "vpn-2")
	result := func(id string, v int) string {
		return fmt.Sprintf(`{"Id": %q, "Timestamps": ["2026-10-14T02:01:00Z", "2026-10-14T02:00:00Z"], "Values": [%d, %d], "StatusCode": "Complete"}`, id, v, v)
	}
	b := writeBundle(t, map[string]string{
		"cloudwatch/GetMetricData-0.json": `{"Output": {"Messages": [], "MetricDataResults": [` + result("other", 7) + `, ` + result("q", 0) + `]}, "Input": {"MetricDataQueries": [` + strings.Replace(other, `"q"`, `"other"`, 1) + `, ` + query + `]}}`,
		"cloudwatch/GetMetricData-1.json": `{"MetricDataResults": [` + result("q", 5) + `]}`,
		"cloudwatch/GetMetricData-2.json": `{"Input": {"MetricDataQueries": [` + other + `]}, "Output": {"MetricDataResults": [` + result("q", 9) + `]}}`,
	})
	var q cwtypes.MetricDataQuery
	if err := json.Unmarshal([]byte(query), &q); err != nil {
		t.Fatal(err)
	}
	out, err := b.CloudWatch().GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(at("2026-10-14T00:00:00Z")), EndTime: aws.Time(at("2026-10-14T03:00:00Z")), MetricDataQueries: []cwtypes.MetricDataQuery{q}})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float64
	for _, r := range out.MetricDataResults {
		got = append(got, r.Values)
	}
	if diff := cmp.Diff([][]float64{{0, 0}}, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
