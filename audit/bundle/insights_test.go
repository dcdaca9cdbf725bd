package bundle

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"
)

// Recordings as the AWS CLI prints them (aws logs start-query /
// get-query-results / describe-log-groups --output json), with the input
// as --cli-input-json takes it.
var insightsFiles = map[string]string{
	"logs/StartQuery-000.json": `{"Input": {"logGroupName": "/vpc/flows", "startTime": 1790632800, "endTime": 1790640900,
		"queryString": "parse @message \"* *\" as a, b\n| stats count(*) as n by a", "limit": 10000},
		"Output": {"queryId": "q-1"}}`,
	// The same query over another range, and over another group.
	"logs/StartQuery-001.json": `{"Input": {"logGroupName": "/vpc/flows", "startTime": 1790632800, "endTime": 1790636000,
		"queryString": "parse @message \"* *\" as a, b\n| stats count(*) as n by a"}, "Output": {"queryId": "q-2"}}`,
	"logs/StartQuery-002.json": `{"Input": {"logGroupIdentifiers": ["arn:aws:logs:eu-central-1:123456789012:log-group:/vpc/other"], "startTime": 1790632800, "endTime": 1790640900,
		"queryString": "parse @message \"* *\" as a, b\n| stats count(*) as n by a"}, "Output": {"queryId": "q-3"}}`,
	"logs/StartQuery-003.json": `{"Input": {"logGroupName": "/vpc/flows", "startTime": 1790632800, "endTime": 1790640900,
		"queryString": "parse @message \"* *\" as a, b\n| filter a in [\"10.0.0.2\", \"10.0.0.1\"] or isIpInSubnet(b, \"10.9.0.0/16\") or isIpInSubnet(b, \"10.1.0.0/16\")\n| stats count(*) as n by a"},
		"Output": {"queryId": "q-4"}}`,
	"logs/GetQueryResults-000.json": `{"Input": {"queryId": "q-1"}, "Output": {"results": [], "statistics": {"recordsMatched": 0.0, "recordsScanned": 10.0, "bytesScanned": 1000.0}, "status": "Running"}}`,
	"logs/GetQueryResults-001.json": `{"Input": {"queryId": "q-1"}, "Output": {"results": [[{"field": "a", "value": "x"}, {"field": "n", "value": "2"}]],
		"statistics": {"recordsMatched": 2.0, "recordsScanned": 20.0, "bytesScanned": 2000.0}, "status": "Complete"}}`,
	"logs/GetQueryResults-002.json": `{"Input": {"queryId": "q-2"}, "Output": {"results": [], "status": "Failed"}}`,
	"logs/DescribeLogGroups.json": `{"logGroups": [
		{"logGroupName": "/vpc/flows-old", "creationTime": 1700000000000, "storedBytes": 5},
		{"logGroupName": "/vpc/flows", "creationTime": 1780000000000, "retentionInDays": 30, "storedBytes": 1073741824, "arn": "arn:aws:logs:eu-central-1:123456789012:log-group:/vpc/flows:*"},
		{"logGroupName": "/aws/lambda/f", "storedBytes": 7}]}`,
}

const insightsQuery = "parse @message \"* *\" as a, b\n| stats count(*) as n by a"

func TestInsightsStartQuery(t *testing.T) {
	b := writeBundle(t, insightsFiles)
	tests := []struct {
		name    string
		in      cloudwatchlogs.StartQueryInput
		want    string
		wantErr string
	}{
		{name: "group, range and query", in: cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/vpc/flows"), StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790640900), QueryString: aws.String(insightsQuery)}, want: "q-1"},
		{name: "white space does not matter", in: cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/vpc/flows"), StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790640900), QueryString: aws.String("  parse @message \"* *\"   as a, b | stats count(*) as n by a\n")}, want: "q-1"},
		{name: "lists in another order (a redacted bundle)", in: cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/vpc/flows"), StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790640900),
			QueryString: aws.String("parse @message \"* *\" as a, b\n| filter a in [\"10.0.0.1\", \"10.0.0.2\"] or isIpInSubnet(b, \"10.1.0.0/16\") or isIpInSubnet(b, \"10.9.0.0/16\")\n| stats count(*) as n by a")}, want: "q-4"},
		{name: "another range", in: cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/vpc/flows"), StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790636000), QueryString: aws.String(insightsQuery)}, want: "q-2"},
		{name: "a group by name matches one recorded by ARN", in: cloudwatchlogs.StartQueryInput{LogGroupNames: []string{"/vpc/other"}, StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790640900), QueryString: aws.String(insightsQuery)}, want: "q-3"},
		{name: "another query", in: cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/vpc/flows"), StartTime: aws.Int64(1790632800), EndTime: aws.Int64(1790640900), QueryString: aws.String("stats count(*)")},
			wantErr: "the bundle records no StartQuery of this query over /vpc/flows from 2026-09-28T22:00:00Z to 2026-09-29T00:15:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.Insights().StartQuery(context.Background(), &tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !IsNotInBundle(err) {
					t.Fatalf("err = %v, want %q (not in bundle)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, aws.ToString(out.QueryId)); diff != "" {
				t.Errorf("queryId (-want +got):\n%s", diff)
			}
		})
	}
}

// A query's recorded polls are served in order, the last one again once
// they run out; each client serves from the start.
func TestInsightsGetQueryResults(t *testing.T) {
	b := writeBundle(t, insightsFiles)
	c := b.Insights()
	var got []string
	for range 3 {
		out, err := c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q-1")})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s rows=%d scanned=%v", out.Status, len(out.Results), out.Statistics.BytesScanned))
	}
	want := []string{"Running rows=0 scanned=1000", "Complete rows=1 scanned=2000", "Complete rows=1 scanned=2000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("polls (-want +got):\n%s", diff)
	}
	out, err := b.Insights().GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q-1")})
	if err != nil || out.Status != cwltypes.QueryStatusRunning {
		t.Errorf("a new client: %v %v, want the first poll again", out, err)
	}
	row := []cwltypes.ResultField{{Field: aws.String("a"), Value: aws.String("x")}, {Field: aws.String("n"), Value: aws.String("2")}}
	out, _ = c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q-1")})
	if diff := cmp.Diff([][]cwltypes.ResultField{row}, out.Results, cmpOptsResultField); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	_, err = c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q-9")})
	if want := "the bundle records no GetQueryResults of query q-9"; err == nil || err.Error() != want || !IsNotInBundle(err) {
		t.Errorf("unknown query: %v, want %q", err, want)
	}
}

var cmpOptsResultField = cmp.Comparer(func(a, b cwltypes.ResultField) bool {
	return aws.ToString(a.Field) == aws.ToString(b.Field) && aws.ToString(a.Value) == aws.ToString(b.Value)
})

func TestInsightsDescribeLogGroups(t *testing.T) {
	b := writeBundle(t, insightsFiles)
	tests := []struct {
		name string
		in   cloudwatchlogs.DescribeLogGroupsInput
		want []string
	}{
		{"all, by name", cloudwatchlogs.DescribeLogGroupsInput{}, []string{"/aws/lambda/f", "/vpc/flows", "/vpc/flows-old"}},
		{"prefix, limit 1: the exact name first", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/vpc/flows"), Limit: aws.Int32(1)}, []string{"/vpc/flows"}},
		{"pattern", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("LAMBDA")}, []string{"/aws/lambda/f"}},
		{"identifiers", cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"arn:aws:logs:eu-central-1:123456789012:log-group:/vpc/flows-old"}}, []string{"/vpc/flows-old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.Insights().DescribeLogGroups(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range out.LogGroups {
				got = append(got, aws.ToString(g.LogGroupName))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	out, _ := b.Insights().DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/vpc/flows"), Limit: aws.Int32(1)})
	if g := out.LogGroups[0]; aws.ToInt64(g.StoredBytes) != 1<<30 || aws.ToInt32(g.RetentionInDays) != 30 || aws.ToInt64(g.CreationTime) != 1780000000000 {
		t.Errorf("decoded %+v", g)
	}
}

// A bundle without the recordings says so, and a recorded failure is
// replayed as the failure.
func TestInsightsMissing(t *testing.T) {
	b := writeBundle(t, map[string]string{"sts/GetCallerIdentity.json": `{}`})
	c := b.Insights()
	_, err1 := c.StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("g")})
	_, err2 := c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q")})
	_, err3 := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
	for _, err := range []error{err1, err2, err3} {
		if !IsNotInBundle(err) {
			t.Errorf("%v: want a NotInBundleError", err)
		}
	}
	b = writeBundle(t, map[string]string{"bundle.json": `{"FormatVersion": 1, "Failures": [{"Service": "logs", "Operation": "StartQuery", "Error": "access denied: the credentials lack logs:StartQuery"}]}`})
	_, err := b.Insights().StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("g")})
	var rf *RecordedFailure
	if !errors.As(err, &rf) || err.Error() != "access denied: the credentials lack logs:StartQuery" {
		t.Errorf("err = %v, want the recorded failure", err)
	}
}

// A recording that ends on a status that is not final (the recording run
// was interrupted) answers its polls, then fails with a NotInBundleError
// that says so, rather than repeating the last poll forever; a recording
// ending on a final status repeats it.
func TestInsightsRecordingEnds(t *testing.T) {
	poll := func(status string) string {
		return fmt.Sprintf(`{"Input": {"queryId": "q-1"}, "Output": {"results": [], "status": %q}}`, status)
	}
	tests := []struct {
		name     string
		statuses []string
		want     []string // the statuses of four polls, or the error
	}{
		{"ends Running", []string{"Scheduled", "Running"}, []string{"Scheduled", "Running",
			"the recording ends while Logs Insights query q-1 was Running (the recording run was stopped before it finished)",
			"the recording ends while Logs Insights query q-1 was Running (the recording run was stopped before it finished)"}},
		{"ends Scheduled", []string{"Scheduled"}, []string{"Scheduled",
			"the recording ends while Logs Insights query q-1 was Scheduled (the recording run was stopped before it finished)",
			"the recording ends while Logs Insights query q-1 was Scheduled (the recording run was stopped before it finished)",
			"the recording ends while Logs Insights query q-1 was Scheduled (the recording run was stopped before it finished)"}},
		{"ends Complete", []string{"Running", "Complete"}, []string{"Running", "Complete", "Complete", "Complete"}},
		{"ends Timeout", []string{"Timeout"}, []string{"Timeout", "Timeout", "Timeout", "Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for i, s := range tt.statuses {
				files[fmt.Sprintf("logs/GetQueryResults-%03d.json", i)] = poll(s)
			}
			c := writeBundle(t, files).Insights()
			var got []string
			for range 4 {
				out, err := c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q-1")})
				if err != nil {
					if !IsNotInBundle(err) {
						t.Errorf("%v: want a NotInBundleError", err)
					}
					got = append(got, err.Error())
					continue
				}
				got = append(got, string(out.Status))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("polls (-want +got):\n%s", diff)
			}
		})
	}
}
