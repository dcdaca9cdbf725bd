package bundle

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// writeBundle writes files (path → content) into a new bundle directory.
func writeBundle(t *testing.T, files map[string]string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty directory", map[string]string{}, "holds no <service>/<Operation>.json files"},
		{"unknown format version", map[string]string{"bundle.json": `{"FormatVersion": 2}`, "sts/GetCallerIdentity.json": `{}`}, "FormatVersion 2 is not supported"},
		{"manifest not JSON", map[string]string{"bundle.json": `{`, "sts/GetCallerIdentity.json": `{}`}, "bundle.json: not valid JSON"},
		{"manifest wrong type", map[string]string{"bundle.json": `{"RecordedAt": [1]}`, "sts/GetCallerIdentity.json": `{}`}, "open bundle: bundle.json: RecordedAt: "},
		{"the bundle's parent", map[string]string{"vpn-down/bundle.json": `{}`, "vpn-down/sts/GetCallerIdentity.json": `{}`}, "vpn-down looks like a bundle: pass that directory"},
		{"no such directory", nil, "does not exist (a bundle is a directory of <service>/<Operation>.json files)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.files == nil {
				dir = filepath.Join(dir, "missing")
			}
			for p, c := range tt.files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
				os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
			}
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOperationNames(t *testing.T) {
	b := writeBundle(t, map[string]string{
		"cloudwatch/DescribeAlarms-VPN-Down.json":      `{"MetricAlarms": []}`,
		"cloudwatch/DescribeAlarmHistory-000.json":     `{"AlarmHistoryItems": []}`,
		"cloudtrail/LookupEvents.json":                 `{"Events": []}`,
		"ec2/DescribeVpnConnections_extra_suffix.json": `{"VpnConnections": []}`,
		"ec2/NotAnOperation.json":                      `{}`,
		"ec2/notes.txt":                                `hello`,
	})
	want := []string{"cloudtrail/LookupEvents", "cloudwatch/DescribeAlarmHistory", "cloudwatch/DescribeAlarms", "ec2/DescribeVpnConnections"}
	if diff := cmp.Diff(want, b.Operations()); diff != "" {
		t.Errorf("Operations (-want +got):\n%s", diff)
	}
	if len(b.Unknown) != 2 {
		t.Errorf("Unknown = %v, want the two unrecognised files", b.Unknown)
	}
	_, err := b.EC2().DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{})
	if !IsNotInBundle(err) {
		t.Errorf("DescribeRouteTables error = %v, want NotInBundleError", err)
	}
}

func TestDecodeTolerance(t *testing.T) {
	// Member names in any case, timestamps with +0000 offsets, epoch
	// numbers, numbers as strings, a bare dump next to an Input/Output file.
	b := writeBundle(t, map[string]string{
		"cloudwatch/DescribeAlarms-1.json": `{"Input": {"AlarmNames": ["A"]}, "Output": {"metricalarms": [
			{"alarmname": "A", "Threshold": "1.5", "StateUpdatedTimestamp": "2026-10-14T02:34:13.123+0000", "Period": 60, "Dimensions": [{"name": "VpnId", "VALUE": "vpn-1"}]}]}}`,
		"cloudwatch/DescribeAlarms-2.json": `{"MetricAlarms": [{"AlarmName": "B", "StateUpdatedTimestamp": 1791945253, "ActionsEnabled": "true"}]}`,
		"cloudwatch/DescribeAlarms-3.json": `{"MetricAlarms": [{"AlarmName": "C", "StateUpdatedTimestamp": 1791945253000.0, "EvaluationCriteria": {"x": 1}}]}`,
	})
	out, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name      string
		Threshold float64
		Updated   time.Time
		Dim       string
		Enabled   bool
	}
	var got []row
	for _, a := range out.MetricAlarms {
		r := row{Name: aws.ToString(a.AlarmName), Threshold: aws.ToFloat64(a.Threshold), Updated: aws.ToTime(a.StateUpdatedTimestamp), Enabled: aws.ToBool(a.ActionsEnabled)}
		if len(a.Dimensions) > 0 {
			r.Dim = aws.ToString(a.Dimensions[0].Name) + "=" + aws.ToString(a.Dimensions[0].Value)
		}
		got = append(got, r)
	}
	want := []row{
		{Name: "A", Threshold: 1.5, Updated: time.Date(2026, 10, 14, 2, 34, 13, 123e6, time.UTC), Dim: "VpnId=vpn-1"},
		{Name: "B", Updated: at("2026-10-14T02:34:13Z"), Enabled: true},
		{Name: "C", Updated: at("2026-10-14T02:34:13Z")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded alarms (-want +got):\n%s", diff)
	}
}

func TestDecodeErrorsNameTheFile(t *testing.T) {
	b := writeBundle(t, map[string]string{
		"cloudwatch/DescribeAlarms.json": `{"MetricAlarms": [{"AlarmName": "A", "StateUpdatedTimestamp": "yesterday"}]}`,
	})
	_, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
	if err == nil || !strings.Contains(err.Error(), "DescribeAlarms.json") || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Fatalf("error = %v, want it to name the file and the bad value", err)
	}
}

// lookupFile builds a LookupEvents output with n events a minute apart from
// start, alternating read-only and mutating, on resources i-0…i-(n-1).
func lookupFile(start time.Time, n int, first int) string {
	var evs []string
	for i := 0; i < n; i++ {
		ro := "true"
		name := "DescribeInstances"
		if i%2 == 1 {
			ro, name = "false", "StopInstances"
		}
		evs = append(evs, `{"EventId": "e`+itoa(first+i)+`", "EventName": "`+name+`", "ReadOnly": "`+ro+`", "Username": "u`+itoa(i%3)+`",
			"EventTime": "`+start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339)+`", "EventSource": "ec2.amazonaws.com",
			"Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-`+itoa(i)+`"}], "CloudTrailEvent": "{}"}`)
	}
	return `{"Output": {"Events": [` + strings.Join(evs, ",") + `]}}`
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLookupEvents(t *testing.T) {
	start := at("2026-10-14T00:00:00Z")
	b := writeBundle(t, map[string]string{
		// 120 events over two files, one event repeated across them.
		"cloudtrail/LookupEvents-000.json": lookupFile(start, 60, 0),
		"cloudtrail/LookupEvents-001.json": lookupFile(start.Add(59*time.Minute), 61, 59),
	})
	ct := b.CloudTrail()
	ctx := context.Background()
	attr := func(k cttypes.LookupAttributeKey, v string) []cttypes.LookupAttribute {
		return []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
	}
	tests := []struct {
		name      string
		in        cloudtrail.LookupEventsInput
		wantCount int
		wantFirst string // newest first
		wantPages int
	}{
		{"all, pages of 50", cloudtrail.LookupEventsInput{}, 120, "e119", 3},
		{"inclusive time bounds", cloudtrail.LookupEventsInput{StartTime: aws.Time(start.Add(10 * time.Minute)), EndTime: aws.Time(start.Add(20 * time.Minute))}, 11, "e20", 1},
		{"read-only false", cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyReadOnly, "false")}, 60, "e118", 2},
		{"resource name", cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, "i-5")}, 2, "e64", 1},
		{"event name", cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "StopInstances")}, 60, "e118", 2},
		{"small pages", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(7), EndTime: aws.Time(start.Add(13 * time.Minute))}, 14, "e13", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			var ids []string
			pages := 0
			p := cloudtrail.NewLookupEventsPaginator(ct, &in)
			var prev time.Time
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(out.Events) > 50 {
					t.Errorf("page of %d events, the API returns at most 50", len(out.Events))
				}
				for _, e := range out.Events {
					if !prev.IsZero() && aws.ToTime(e.EventTime).After(prev) {
						t.Errorf("event %s is newer than the one before it", aws.ToString(e.EventId))
					}
					prev = aws.ToTime(e.EventTime)
					ids = append(ids, aws.ToString(e.EventId))
				}
			}
			got := struct {
				Count, Pages int
				First        string
			}{len(ids), pages, ""}
			if len(ids) > 0 {
				got.First = ids[0]
			}
			want := struct {
				Count, Pages int
				First        string
			}{tt.wantCount, tt.wantPages, tt.wantFirst}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: append(attr(cttypes.LookupAttributeKeyReadOnly, "false"), attr(cttypes.LookupAttributeKeyEventName, "x")...)})
	if err == nil || !strings.Contains(err.Error(), "at most one lookup attribute") {
		t.Errorf("two attributes: error = %v, want the API's refusal", err)
	}
}

func TestGetMetricData(t *testing.T) {
	b := writeBundle(t, map[string]string{
		"cloudwatch/GetMetricData-0.json": `{"Input": {"MetricDataQueries": [
			{"Id": "m0", "MetricStat": {"Metric": {"Namespace": "AWS/VPN", "MetricName": "TunnelState", "Dimensions": [{"Name": "VpnId", "Value": "vpn-1"}]}, "Period": 60, "Stat": "Maximum"}},
			{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "AWS/VPN", "MetricName": "TunnelState", "Dimensions": [{"Name": "TunnelIpAddress", "Value": "1.2.3.4"}]}, "Period": 60, "Stat": "Maximum"}}]},
			"Output": {"MetricDataResults": [
			{"Id": "m0", "Label": "TunnelState", "Timestamps": ["2026-10-14T02:03:00Z", "2026-10-14T02:02:00Z", "2026-10-14T02:01:00Z", "2026-10-14T02:00:00Z"], "Values": [0, 1, 1, 1], "StatusCode": "Complete"},
			{"Id": "m1", "Label": "TunnelState", "Timestamps": ["2026-10-14T02:00:00Z"], "Values": [1], "StatusCode": "Complete"}]}}`,
	})
	q := func(id, dimName, dimValue, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{Stat: aws.String(stat), Period: aws.Int32(60),
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/VPN"), MetricName: aws.String("TunnelState"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(dimName), Value: aws.String(dimValue)}}}}}
	}
	out, err := b.CloudWatch().GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(at("2026-10-14T02:01:00Z")), EndTime: aws.Time(at("2026-10-14T02:03:00Z")), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{q("a", "VpnId", "vpn-1", "Maximum"), q("b", "VpnId", "vpn-1", "Average"), q("c", "VpnId", "vpn-2", "Maximum")},
	})
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		ID     string
		Times  []time.Time
		Values []float64
	}
	var got []res
	for _, r := range out.MetricDataResults {
		got = append(got, res{aws.ToString(r.Id), r.Timestamps, r.Values})
	}
	want := []res{
		// StartTime inclusive, EndTime exclusive, in the order asked.
		{"a", []time.Time{at("2026-10-14T02:01:00Z"), at("2026-10-14T02:02:00Z")}, []float64{1, 1}},
		{"b", nil, nil}, // another statistic is another series
		{"c", nil, nil}, // another dimension value
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFilterLogEvents(t *testing.T) {
	ev := func(stream string, ts int64, msg string) string {
		return `{"logStreamName": "` + stream + `", "timestamp": ` + itoa(int(ts)) + `, "message": "` + msg + `", "eventId": "x"}`
	}
	var evs []string
	for i := 0; i < 25; i++ {
		evs = append(evs, ev("eni-a-all", int64(1000+i*1000), "a"+itoa(i)), ev("eni-b-all", int64(1000+i*1000), "b"+itoa(i)))
	}
	b := writeBundle(t, map[string]string{
		"logs/FilterLogEvents-000.json": `{"Input": {"logGroupName": "G"}, "Output": {"searchedLogStreams": [], "events": [` + strings.Join(evs, ",") + `]}}`,
		"logs/FilterLogEvents-001.json": `{"Output": {"events": [` + ev("eni-a-all", 90000, "late") + `]}, "Input": {"logGroupIdentifier": "arn:aws:logs:r:1:log-group:G:*"}}`,
		"logs/FilterLogEvents-002.json": `{"Input": {"logGroupName": "Other"}, "Output": {"events": [` + ev("eni-a-all", 2000, "other group") + `]}}`,
	})
	tests := []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want []string
	}{
		{"stream and inclusive time range, small pages",
			cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), LogStreamNames: []string{"eni-a-all"}, StartTime: aws.Int64(3000), EndTime: aws.Int64(7000), Limit: aws.Int32(2)},
			[]string{"a2", "a3", "a4", "a5", "a6"}},
		{"group by ARN identifier, prefix",
			cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:r:1:log-group:G"), LogStreamNamePrefix: aws.String("eni-a"), StartTime: aws.Int64(24000)},
			[]string{"a23", "a24", "late"}},
		{"filter pattern terms",
			cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), FilterPattern: aws.String(`"b1"`), Limit: aws.Int32(3)},
			[]string{"b1", "b10", "b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18", "b19"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			var got []string
			p := cloudwatchlogs.NewFilterLogEventsPaginator(b.Logs(), &in)
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range out.Events {
					got = append(got, aws.ToString(e.Message))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := b.Logs().FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("G"), FilterPattern: aws.String("{ $.x = 1 }")})
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("JSON filter pattern: error = %v, want a clear refusal", err)
	}
}

func TestEC2Filters(t *testing.T) {
	b := writeBundle(t, map[string]string{
		"ec2/DescribeNetworkInterfaces.json": `{"NetworkInterfaces": [
			{"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "Association": {"PublicIp": "54.1.1.1"}, "Attachment": {"InstanceId": "i-1"},
			 "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.1"}], "TagSet": [{"Key": "Name", "Value": "appliance"}]},
			{"NetworkInterfaceId": "eni-2", "VpcId": "vpc-2", "Attachment": {"InstanceId": "i-2"}, "PrivateIpAddresses": [{"PrivateIpAddress": "10.1.0.1"}]}]}`,
		"ec2/DescribeRouteTables.json": `{"RouteTables": [
			{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-1", "Main": false}]},
			{"RouteTableId": "rtb-2", "VpcId": "vpc-1", "Associations": [{"Main": true}]}]}`,
		"ec2/DescribeInstances.json": `{"Reservations": [{"ReservationId": "r-1", "Instances": [
			{"InstanceId": "i-1", "State": {"Name": "stopped"}}, {"InstanceId": "i-2", "State": {"Name": "running"}}]}]}`,
	})
	ctx := context.Background()
	f := func(name string, v ...string) []ec2types.Filter {
		return []ec2types.Filter{{Name: aws.String(name), Values: v}}
	}
	enis := func(fs []ec2types.Filter, ids ...string) []string {
		out, err := b.EC2().DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: fs, NetworkInterfaceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range out.NetworkInterfaces {
			got = append(got, aws.ToString(n.NetworkInterfaceId))
		}
		return got
	}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"association.public-ip", enis(f("association.public-ip", "54.1.1.1")), []string{"eni-1"}},
		{"attachment.instance-id, two values", enis(f("attachment.instance-id", "i-2", "i-9")), []string{"eni-2"}},
		{"addresses.private-ip-address alias", enis(f("addresses.private-ip-address", "10.1.0.1")), []string{"eni-2"}},
		{"wildcard", enis(f("vpc-id", "vpc-*")), []string{"eni-1", "eni-2"}},
		{"tag", enis(f("tag:Name", "appliance")), []string{"eni-1"}},
		{"ids", enis(nil, "eni-2"), []string{"eni-2"}},
		{"ids and filters AND", enis(f("vpc-id", "vpc-1"), "eni-2"), nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	rts, err := b.EC2().DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: append(f("vpc-id", "vpc-1"), f("association.main", "true")...)})
	if err != nil || len(rts.RouteTables) != 1 || aws.ToString(rts.RouteTables[0].RouteTableId) != "rtb-2" {
		t.Errorf("main route table: got %+v, %v; want rtb-2", rts, err)
	}
	inst, err := b.EC2().DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: f("instance-state-name", "stopped")})
	if err != nil || len(inst.Reservations) != 1 || len(inst.Reservations[0].Instances) != 1 || aws.ToString(inst.Reservations[0].Instances[0].InstanceId) != "i-1" {
		t.Errorf("instance-state-name: got %+v, %v; want i-1 only", inst, err)
	}
	_, err = b.EC2().DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: f("no-such-filter", "x")})
	if err == nil || !strings.Contains(err.Error(), `filter "no-such-filter" cannot be evaluated`) {
		t.Errorf("unknown filter: error = %v, want a refusal naming it", err)
	}
}

// Symbolic links are never followed, and an entry named like an
// operation's file that is not a regular file stops Open with a message
// naming it, instead of the operation being answered from the other files.
func TestIrregularEntries(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, outside string)
		want  string // "" when Open succeeds
	}{
		{"file linked out of the bundle", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "sts", "GetCallerIdentity.json"))
		}, "open bundle: sts/GetCallerIdentity.json is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to"},
		{"file linked inside the bundle", func(t *testing.T, dir, outside string) {
			symlink(t, "LookupEvents.json", filepath.Join(dir, "cloudtrail", "LookupEvents-001.json"))
			symlink(t, outside, filepath.Join(dir, "sts", "GetCallerIdentity.json"))
		}, "open bundle: cloudtrail/LookupEvents-001.json is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to (and 1 more entry)"},
		{"service directory linked", func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Dir(outside), filepath.Join(dir, "logs"))
		}, "open bundle: logs/ is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to"},
		{"link with a hostile name", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "sts", "GetCallerIdentity\x1b[2J.json"))
		}, `open bundle: "sts/GetCallerIdentity\x1b[2J.json" is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to`},
		{"directory named like a file", func(t *testing.T, dir, outside string) {
			os.MkdirAll(filepath.Join(dir, "cloudtrail", "LookupEvents-002.json"), 0o755)
		}, "open bundle: cloudtrail/LookupEvents-002.json is a directory, not a file: move its files up into the service directory or remove it"},
		{"manifest linked", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "bundle.json"))
		}, "open bundle: bundle.json is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to"},
		{"manifest a directory", func(t *testing.T, dir, outside string) {
			os.MkdirAll(filepath.Join(dir, "bundle.json"), 0o755)
		}, "open bundle: bundle.json is a directory, not the bundle's manifest file: remove it (bundle.json is optional)"},
		{"link with an unknown name is ignored", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "sts", "notes.json"))
			symlink(t, filepath.Dir(outside), filepath.Join(dir, "unknown-service"))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			outside := filepath.Join(t.TempDir(), "secret.json")
			os.WriteFile(outside, []byte(`{"Account": "999999999999"}`), 0o644)
			os.MkdirAll(filepath.Join(dir, "sts"), 0o755)
			os.MkdirAll(filepath.Join(dir, "cloudtrail"), 0o755)
			os.WriteFile(filepath.Join(dir, "cloudtrail", "LookupEvents.json"), []byte(`{"Events": []}`), 0o644)
			tt.setup(t, dir, outside)
			b, err := Open(dir)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Open error (-want +got):\n%s", diff)
			}
			if b != nil && b.Has("sts", "GetCallerIdentity") {
				t.Errorf("a symlink leading out of the bundle was read")
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("SKIP: symlinks not supported here:", err)
	}
}

// Unreadable files and JSON say which file and what is wrong with it.
func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "read cloudwatch/DescribeAlarms.json: not valid JSON: the file is empty"},
		{"truncated", `{"MetricAlarms": [{"AlarmName": "a"`, "read cloudwatch/DescribeAlarms.json: not valid JSON: the file ends in the middle of a value (truncated?)"},
		{"not JSON", "<html>Rate exceeded</html>", "read cloudwatch/DescribeAlarms.json: not valid JSON at byte 1: invalid character '<' looking for beginning of value"},
		{"an array", `[{"AlarmName": "a"}]`, "read cloudwatch/DescribeAlarms.json: the file holds a JSON array, want an object"},
		{"a number", `95`, "read cloudwatch/DescribeAlarms.json: the file holds a JSON number, want an object"},
		{"two values", `{} {}`, "read cloudwatch/DescribeAlarms.json: not valid JSON: data after the top-level value at byte 4"},
		{"wrong type", `{"MetricAlarms": [{"Threshold": "one"}]}`, `cloudwatch/DescribeAlarms.json: Output.MetricAlarms[0].Threshold: want a number, got "one"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := writeBundle(t, map[string]string{"cloudwatch/DescribeAlarms.json": tt.content})
			_, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("misnamed", func(t *testing.T) {
		b := writeBundle(t, map[string]string{"cloudwatch/describealarms.json": "{}", "cloudwatch/DescribeAlarmHistory.json": "{}"})
		_, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
		if want := "the bundle has no cloudwatch/DescribeAlarms*.json (cloudwatch/describealarms.json is not read: rename it to start with DescribeAlarms exactly, e.g. cloudwatch/DescribeAlarms.json)"; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
	t.Run("name not UTF-8", func(t *testing.T) {
		b := writeBundle(t, map[string]string{"cloudwatch/DescribeAlarms-\xff.json": ""})
		_, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
		if want := `read "cloudwatch/DescribeAlarms-\xff.json": not valid JSON: the file is empty`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
	t.Run("permission", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("SKIP: running as root, which file permissions do not stop")
		}
		b := writeBundle(t, map[string]string{"cloudwatch/DescribeAlarms.json": "{}"})
		os.Chmod(filepath.Join(b.Dir, "cloudwatch", "DescribeAlarms.json"), 0)
		_, err := b.CloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
		if want := "read cloudwatch/DescribeAlarms.json: permission denied: make it readable to the user running vpnaudit"; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}

// A bundle may hold one metric at two periods: each query gets the series
// of its own period.
func TestGetMetricDataPeriods(t *testing.T) {
	file := func(id string, period int, ts []string, vs []float64) string {
		var tss []string
		for _, t := range ts {
			tss = append(tss, `"`+t+`"`)
		}
		var vss []string
		for _, v := range vs {
			vss = append(vss, strconv.FormatFloat(v, 'f', -1, 64))
		}
		return `{"Input": {"MetricDataQueries": [{"Id": "` + id + `", "MetricStat": {"Metric": {"Namespace": "AWS/TransitGateway", "MetricName": "PacketDropCountNoRoute",
			"Dimensions": [{"Name": "TransitGateway", "Value": "tgw-1"}]}, "Period": ` + strconv.Itoa(period) + `, "Stat": "Sum"}}]},
			"Output": {"MetricDataResults": [{"Id": "` + id + `", "Timestamps": [` + strings.Join(tss, ",") + `], "Values": [` + strings.Join(vss, ",") + `]}]}}`
	}
	b := writeBundle(t, map[string]string{
		"cloudwatch/GetMetricData-60.json":  file("a", 60, []string{"2026-10-14T02:00:00Z", "2026-10-14T02:01:00Z", "2026-10-14T02:05:00Z"}, []float64{1, 2, 3}),
		"cloudwatch/GetMetricData-300.json": file("b", 300, []string{"2026-10-14T02:00:00Z", "2026-10-14T02:05:00Z"}, []float64{10, 20}),
	})
	ask := func(period int32) []float64 {
		out, err := b.CloudWatch().GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(at("2026-10-14T02:00:00Z")), EndTime: aws.Time(at("2026-10-14T02:10:00Z")), ScanBy: cwtypes.ScanByTimestampAscending,
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), MetricStat: &cwtypes.MetricStat{Stat: aws.String("Sum"), Period: aws.Int32(period),
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/TransitGateway"), MetricName: aws.String("PacketDropCountNoRoute"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("TransitGateway"), Value: aws.String("tgw-1")}}}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricDataResults[0].Values
	}
	got := [][]float64{ask(60), ask(300), ask(3600)}
	want := [][]float64{{1, 2, 3}, {10, 20}, {10, 20}} // no exact period: the first file's (by name)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values at 60 s, 300 s, 3600 s (-want +got):\n%s", diff)
	}
}
