package collect

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// The replay clients satisfy the S3 and Athena interfaces.
var (
	_ S3API     = (*bundle.S3)(nil)
	_ AthenaAPI = (*bundle.Athena)(nil)
)

// s3Bucket and s3Prefix are where toS3Bundle delivers flow logs.
const (
	s3Bucket = "flow-logs-archive"
	s3Prefix = "vpc"
)

// toS3Bundle copies the bundle src to a new directory, turning every flow
// log delivered to CloudWatch Logs into one delivered to S3: its recorded
// FilterLogEvents events become objects as AWS writes them (a header line
// naming the format's fields, then the records; one object per flow log
// and 5-minute delivery, gzipped when gz), under s3/BUCKET/KEY.
func toS3Bundle(t testing.TB, src string, gz bool) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "logs" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct{ Region, AccountId string }
	readJSON(t, filepath.Join(src, "bundle.json"), &manifest)

	type flowLog struct{ id, header string }
	groups := map[string]flowLog{}
	paths, _ := filepath.Glob(filepath.Join(dst, "ec2", "DescribeFlowLogs*.json"))
	for _, p := range paths {
		var doc map[string]any
		readJSON(t, p, &doc)
		out := doc
		if o, ok := doc["Output"].(map[string]any); ok {
			out = o
		}
		fls, _ := out["FlowLogs"].([]any)
		for _, x := range fls {
			fl := x.(map[string]any)
			if fl["LogDestinationType"] != "cloud-watch-logs" {
				continue
			}
			format, _ := fl["LogFormat"].(string)
			if format == "" {
				format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
			}
			header := strings.NewReplacer("${", "", "}", "").Replace(format)
			groups[fl["LogGroupName"].(string)] = flowLog{fl["FlowLogId"].(string), header}
			fl["LogDestinationType"] = "s3"
			fl["LogDestination"] = "arn:aws:s3:::" + s3Bucket + "/" + s3Prefix
			delete(fl, "LogGroupName")
		}
		raw, _ := json.MarshalIndent(doc, "", " ")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Events of each flow log by delivery time (the end of the 5 minutes
	// after the record's start).
	objects := map[string][]string{}
	logs, _ := filepath.Glob(filepath.Join(src, "logs", "FilterLogEvents*.json"))
	for _, p := range logs {
		var doc struct {
			Input  struct{ LogGroupName string }
			Output struct {
				Events []struct {
					Timestamp int64
					Message   string
				}
			}
		}
		readJSON(t, p, &doc)
		fl, ok := groups[doc.Input.LogGroupName]
		if !ok {
			continue
		}
		for _, e := range doc.Output.Events {
			delivered := time.UnixMilli(e.Timestamp).UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
			key := fmt.Sprintf("%s/AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_%s_%s_%08x.log",
				s3Prefix, manifest.AccountId, manifest.Region, delivered.Format("2006/01/02"),
				manifest.AccountId, manifest.Region, fl.id, delivered.Format("20060102T1504Z"), delivered.Unix())
			if objects[key] == nil {
				objects[key] = []string{fl.header}
			}
			objects[key] = append(objects[key], e.Message)
		}
	}
	for key, lines := range objects {
		body := []byte(strings.Join(lines, "\n") + "\n")
		if gz {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			w.Write(body)
			w.Close()
			body, key = buf.Bytes(), key+".gz"
		}
		p := filepath.Join(dst, "s3", s3Bucket, filepath.FromSlash(key))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// collectBundle runs the collector over the bundle in dir.
func collectBundle(t testing.TB, dir, alarm string, o Options) *audit.Evidence {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	o.Alarm, o.Now, o.Region, o.Account = alarm, b.Manifest.RecordedAt, b.Manifest.Region, b.Manifest.AccountId
	c := BundleClients(b)
	ev, err := Collect(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// comparable drops what differs by design between the CloudWatch Logs and
// S3 paths: where the logs are delivered, and records of ENIs off the path
// (FilterLogEvents reads only the path's streams; an object holds every
// ENI of its flow log).
func comparable(t audit.Traffic) audit.Traffic {
	t.FlowLogs = append([]audit.FlowLog(nil), t.FlowLogs...)
	for i := range t.FlowLogs {
		t.FlowLogs[i].DestinationType, t.FlowLogs[i].Destination, t.FlowLogs[i].LogGroup = "", "", ""
	}
	t.Records -= t.Unrelated
	t.Unrelated = 0
	return t
}

func coverageOf(ev *audit.Evidence, source string) audit.Coverage {
	for _, c := range ev.Coverage {
		if c.Source == source {
			return c
		}
	}
	return audit.Coverage{}
}

// Flow logs read from S3 objects aggregate to the same traffic as the same
// records read from CloudWatch Logs.
func TestS3FlowLogsMatchCloudWatchLogs(t *testing.T) {
	tests := []struct {
		fixture, alarm string
		gz             bool
	}{
		{"lab-console-stop", "VPN-Down", true},
		{"lab-console-stop", "VPN-Down", false},
		{"custom-format-600s", "osa1-dc-tunnels", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/gz=%v", tt.fixture, tt.gz), func(t *testing.T) {
			src := testenv.Fixture(t, tt.fixture)
			want := collectBundle(t, src, tt.alarm, Options{})
			got := collectBundle(t, toS3Bundle(t, src, tt.gz), tt.alarm, Options{PushDown: PushDownNever})
			if len(want.Traffic.Series) == 0 {
				t.Fatal("the CloudWatch Logs path read no traffic: the comparison would prove nothing")
			}
			if diff := cmp.Diff(comparable(withoutReadBy(t, want.Traffic, "logs:FilterLogEvents")), comparable(withoutReadBy(t, got.Traffic, "s3:GetObject"))); diff != "" {
				t.Errorf("traffic, CloudWatch Logs (-want) vs S3 (+got):\n%s", diff)
			}
			cov := coverageOf(got, "flow-logs")
			if cov.Status != audit.CoverageOK || !strings.Contains(cov.Detail, "read from s3://"+s3Bucket) {
				t.Errorf("coverage %s: %s", cov.Status, cov.Detail)
			}
			for _, c := range got.Calls {
				if c.Service == "logs" {
					t.Errorf("the S3 run called %s %s", c.Service, c.Operation)
				}
			}
		})
	}
}

// Lines that do not parse are counted and reported where they are, like
// malformed events on the CloudWatch Logs path; a body cut short is not a
// malformed line but a body error, which readObject retries.
func TestS3ObjectMalformed(t *testing.T) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1793736011 1793736069 ACCEPT OK\n" +
		"2 111122223333 eni-1 not-an-address 10.0.0.2 1 2 6 1 40 1793736011 1793736069 ACCEPT OK\n"))
	w.Close()
	whole := buf.Bytes()
	tests := []struct {
		name          string
		body          []byte
		wantRecords   int64
		wantMalformed []audit.Malformed
		wantErr       string // a *bodyError, to be retried
	}{
		{"a bad line", whole, 1, []audit.Malformed{{Where: "s3://b/k line 3", Reason: `field 4 (srcaddr): "not-an-address": not an IP address`}}, ""},
		{"cut short", whole[:len(whole)-12], 1, []audit.Malformed{
			{Where: "s3://b/k line 3", Reason: `field 4 (srcaddr): "not-an-address": not an IP address`}},
			"broke off after line 3: reading gzip stream: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ifaces := []audit.Interface{{ID: "eni-1"}}
			agg := audit.NewFlowAggregator(audit.Scope{}, ifaces)
			w := audit.Window{Start: time.Unix(1793736000, 0), End: time.Unix(1793746800, 0)}
			_, err := aggregateObject(bytes.NewReader(tt.body), flowlogDefault(), w, agg, nil, "s3://b/k")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !retryRead(err)) {
				t.Fatalf("err = %v, want %q (retried: %v)", err, tt.wantErr, tt.wantErr != "")
			}
			got := agg.Traffic()
			if got.Records != tt.wantRecords {
				t.Errorf("records %d, want %d", got.Records, tt.wantRecords)
			}
			if diff := cmp.Diff(tt.wantMalformed, got.Malformed); diff != "" {
				t.Errorf("malformed (-want +got):\n%s", diff)
			}
		})
	}
}

// mergeTraffic of partial aggregations equals one aggregation of all the
// records, whatever the split.
func TestMergeTraffic(t *testing.T) {
	lines := []string{
		"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1793736011 1793736069 ACCEPT OK",
		"2 1 eni-1 - - - - - - - 1793736100 1793736160 - NODATA",
		"2 1 eni-1 10.0.0.2 10.0.0.1 2 1 6 3 400 1793736030 1793736090 REJECT OK",
		"2 1 eni-1 - - - - - - - 1793736170 1793736230 - NODATA",
		"2 1 eni-2 10.0.0.1 10.0.0.2 1 2 6 1 40 1793736011 1793736069 ACCEPT OK",
		"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 5 90 1793736012 1793736079 ACCEPT OK",
	}
	ifaces := []audit.Interface{{ID: "eni-1", Addresses: []string{"10.0.0.1"}}}
	aggregate := func(ls []string) audit.Traffic {
		agg := audit.NewFlowAggregator(audit.Scope{}, ifaces)
		unrelated, _ := aggregateObject(strings.NewReader(strings.Join(ls, "\n")), flowlogDefault(), audit.Window{Start: time.Unix(0, 0), End: time.Unix(1<<40, 0)}, agg, map[string]bool{"eni-1": true}, "x")
		t := agg.Traffic()
		t.Records += unrelated
		t.Unrelated += unrelated
		return t
	}
	want := aggregate(lines)
	for split := 0; split <= len(lines); split++ {
		got := mergeTraffic(audit.Traffic{}, aggregate(lines[:split]), aggregate(lines[split:]))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("split at %d (-want +got):\n%s", split, diff)
		}
	}
	var keys []string
	for _, s := range want.Series {
		keys = append(keys, s.Key.Interface+"/"+s.Key.Class+"/"+s.Key.Direction+"/"+s.Key.Action)
	}
	if !sort.StringsAreSorted(keys) || len(want.Interfaces) != 1 || len(want.Interfaces[0].NoData) != 1 {
		t.Errorf("unexpected aggregation: %v %+v", keys, want.Interfaces)
	}
}

func TestFlowPrefixes(t *testing.T) {
	from := time.Date(2026, 11, 3, 22, 40, 0, 0, time.UTC)
	to := time.Date(2026, 11, 4, 0, 20, 0, 0, time.UTC)
	tests := []struct {
		name          string
		hive, perHour bool
		want          []string
	}{
		{"daily", false, false, []string{
			"p/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/",
			"p/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/04/"}},
		{"hourly", false, true, []string{
			"p/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/22/",
			"p/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/23/",
			"p/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/04/00/"}},
		{"hive daily", true, false, []string{
			"p/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/",
			"p/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=04/"}},
		{"hive hourly", true, true, []string{
			"p/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/hour=22/",
			"p/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/hour=23/",
			"p/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=04/hour=00/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := flowPrefixes("p/", "111122223333", "eu-central-1", from, to, tt.hive, tt.perHour)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func flowlogDefault() flowlog.Format { return flowlog.DefaultFormat }

// What the coverage says when objects are missing, when the volume calls
// for Athena and it is not configured, and when a bundle has no objects.
func TestS3FlowLogsCoverage(t *testing.T) {
	src := testenv.Fixture(t, "lab-console-stop")
	tests := []struct {
		name       string
		prepare    func(t *testing.T, dir string)
		threshold  int64
		wantStatus string
		wantDetail []string
	}{
		{name: "an object listed but gone", prepare: func(t *testing.T, dir string) {
			// A recorded listing that names one object more than the bundle holds.
			prefix := s3Prefix + "/AWSLogs/444455556666/vpcflowlogs/eu-central-1/2026/11/03/"
			var contents []map[string]any
			files, _ := filepath.Glob(filepath.Join(dir, "s3", s3Bucket, filepath.FromSlash(prefix), "*"))
			for _, f := range files {
				st, _ := os.Stat(f)
				contents = append(contents, map[string]any{"Key": prefix + filepath.Base(f), "Size": st.Size()})
			}
			gone := prefix + "444455556666_vpcflowlogs_eu-central-1_fl-06dcb34173cf09939_20261103T2200Z_00000000.log.gz"
			contents = append(contents, map[string]any{"Key": gone, "Size": 1234})
			raw, _ := json.Marshal(map[string]any{"Input": map[string]any{"Bucket": s3Bucket, "Prefix": prefix}, "Output": map[string]any{"Contents": contents, "IsTruncated": false}})
			os.WriteFile(filepath.Join(dir, "s3", "ListObjectsV2-000.json"), raw, 0o644)
		}, threshold: 1 << 30, wantStatus: audit.CoveragePartial, wantDetail: []string{
			"fl-06dcb34173cf09939: 1 of 35 objects could not be read (first: " + s3Prefix + "/AWSLogs/444455556666/vpcflowlogs/eu-central-1/2026/11/03/444455556666_vpcflowlogs_eu-central-1_fl-06dcb34173cf09939_20261103T2200Z_00000000.log.gz: NoSuchKey: the bundle has no s3/" + s3Bucket + "/",
		}},
		{name: "large, Athena not configured", threshold: 1000, wantStatus: audit.CoverageOK, wantDetail: []string{
			"read here; Athena is not configured (--athena-database, --athena-flow-table) to push this down",
		}},
		{name: "no objects in the bundle", prepare: func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "s3")) },
			threshold: 1 << 30, wantStatus: audit.CoverageMissing, wantDetail: []string{
				"the bundle has no s3/ directory of delivered objects: the bundle has no s3/ListObjectsV2*.json",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := toS3Bundle(t, src, true)
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			old := autoPushDownBytes
			autoPushDownBytes = tt.threshold
			defer func() { autoPushDownBytes = old }()
			ev := collectBundle(t, dir, "VPN-Down", Options{})
			cov := coverageOf(ev, "flow-logs")
			if cov.Status != tt.wantStatus {
				t.Errorf("status %s, want %s (%s)", cov.Status, tt.wantStatus, cov.Detail)
			}
			for _, w := range tt.wantDetail {
				if !strings.Contains(cov.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, cov.Detail)
				}
			}
		})
	}
}
