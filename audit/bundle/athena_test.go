package bundle

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/google/go-cmp/cmp"
)

// Recorded Athena calls in the shapes the API returns them (the AWS CLI's
// --output json of start-query-execution, get-query-execution and
// get-query-results).
var athenaFiles = map[string]string{
	"athena/StartQueryExecution-000.json": `{"Input": {"QueryString": "SELECT kind,\n  count(*) AS records\nFROM \"db\".\"flows\"\nGROUP BY kind",
		"QueryExecutionContext": {"Database": "db"}, "WorkGroup": "primary"},
		"Output": {"QueryExecutionId": "q-1"}}`,
	"athena/StartQueryExecution-001.json": `{"Input": {"QueryString": "SELECT 2"}, "Output": {"QueryExecutionId": "q-2"}}`,
	"athena/GetQueryExecution-000.json": `{"Input": {"QueryExecutionId": "q-1"}, "Output": {"QueryExecution": {"QueryExecutionId": "q-1",
		"Status": {"State": "QUEUED", "SubmissionDateTime": "2026-11-03T22:50:01.123000+00:00"}}}}`,
	"athena/GetQueryExecution-001.json": `{"Input": {"QueryExecutionId": "q-1"}, "Output": {"QueryExecution": {"QueryExecutionId": "q-1",
		"Status": {"State": "RUNNING", "SubmissionDateTime": "2026-11-03T22:50:01.123000+00:00"}}}}`,
	"athena/GetQueryExecution-002.json": `{"Input": {"QueryExecutionId": "q-1"}, "Output": {"QueryExecution": {"QueryExecutionId": "q-1",
		"Status": {"State": "SUCCEEDED", "SubmissionDateTime": "2026-11-03T22:50:01.123000+00:00", "CompletionDateTime": "2026-11-03T22:50:03.456000+00:00"},
		"Statistics": {"EngineExecutionTimeInMillis": 1843, "DataScannedInBytes": 73400320, "TotalExecutionTimeInMillis": 2001}}}}`,
	"athena/GetQueryExecution-q2.json": `{"QueryExecution": {"QueryExecutionId": "q-2", "Status": {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND: line 1:15: Table 'db.flows' does not exist"}}}`,
	"athena/GetQueryResults-000.json": `{"Input": {"QueryExecutionId": "q-1"}, "Output": {"ResultSet": {
		"Rows": [{"Data": [{"VarCharValue": "kind"}, {"VarCharValue": "records"}]}, {"Data": [{"VarCharValue": "OK"}, {"VarCharValue": "1200"}]}],
		"ResultSetMetadata": {"ColumnInfo": [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "kind", "Label": "kind", "Type": "varchar", "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": true},
			{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "records", "Label": "records", "Type": "bigint", "Precision": 19, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": false}]}},
		"NextToken": "AYABeN-page2", "UpdateCount": 0}}`,
	"athena/GetQueryResults-001.json": `{"Input": {"QueryExecutionId": "q-1", "NextToken": "AYABeN-page2"}, "Output": {"ResultSet": {
		"Rows": [{"Data": [{"VarCharValue": "NODATA"}, {"VarCharValue": "3"}]}]}, "UpdateCount": 0}}`,
}

func TestAthenaReplay(t *testing.T) {
	b := s3Bundle(t, athenaFiles)
	c := b.Athena()
	ctx := context.Background()

	start := []struct {
		name, query, wantID string
		wantErr             bool
	}{
		{"same query", "SELECT kind,\n  count(*) AS records\nFROM \"db\".\"flows\"\nGROUP BY kind", "q-1", false},
		{"white space differs", "SELECT kind, count(*) AS records FROM \"db\".\"flows\" GROUP BY kind", "q-1", false},
		{"another recorded query", "SELECT 2", "q-2", false},
		{"not recorded", "SELECT 3", "", true},
	}
	for _, tt := range start {
		t.Run("StartQueryExecution/"+tt.name, func(t *testing.T) {
			out, err := c.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String(tt.query)})
			if tt.wantErr {
				if !IsNotInBundle(err) {
					t.Fatalf("err = %v, want NotInBundle", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantID, aws.ToString(out.QueryExecutionId)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("GetQueryExecution replays the polls in order, then repeats the last", func(t *testing.T) {
		var states []string
		for range 5 {
			out, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("q-1")})
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, string(out.QueryExecution.Status.State))
		}
		if diff := cmp.Diff([]string{"QUEUED", "RUNNING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"}, states); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		out, _ := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("q-1")})
		if got := aws.ToInt64(out.QueryExecution.Statistics.DataScannedInBytes); got != 73400320 {
			t.Errorf("DataScannedInBytes %d", got)
		}
		// A bare dump is matched by the id in its output.
		out, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("q-2")})
		if err != nil || out.QueryExecution.Status.State != "FAILED" {
			t.Errorf("q-2: %v, %v", out, err)
		}
		if _, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("q-9")}); !IsNotInBundle(err) {
			t.Errorf("q-9: err = %v, want NotInBundle", err)
		}
	})

	t.Run("GetQueryResults pages by NextToken", func(t *testing.T) {
		var rows [][]string
		p := athena.NewGetQueryResultsPaginator(c, &athena.GetQueryResultsInput{QueryExecutionId: aws.String("q-1")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.ResultSet.Rows {
				var row []string
				for _, d := range r.Data {
					row = append(row, aws.ToString(d.VarCharValue))
				}
				rows = append(rows, row)
			}
		}
		want := [][]string{{"kind", "records"}, {"OK", "1200"}, {"NODATA", "3"}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String("q-1"), NextToken: aws.String("nope")}); !IsNotInBundle(err) {
			t.Errorf("unknown page: err = %v, want NotInBundle", err)
		}
	})
}

// A recording whose last poll is not final (QUEUED, RUNNING: the recording
// run was interrupted) answers its polls, then fails with a
// NotInBundleError that says so, rather than repeating the last poll
// forever; one ending on a final state repeats it.
func TestAthenaRecordingEnds(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		want   []string // the states of four polls, or the error
	}{
		{"ends RUNNING", []string{"QUEUED", "RUNNING"}, []string{"QUEUED", "RUNNING",
			"the recording ends while Athena query execution q-1 was RUNNING (the recording run was stopped before it finished)",
			"the recording ends while Athena query execution q-1 was RUNNING (the recording run was stopped before it finished)"}},
		{"ends QUEUED", []string{"QUEUED"}, []string{"QUEUED",
			"the recording ends while Athena query execution q-1 was QUEUED (the recording run was stopped before it finished)",
			"the recording ends while Athena query execution q-1 was QUEUED (the recording run was stopped before it finished)",
			"the recording ends while Athena query execution q-1 was QUEUED (the recording run was stopped before it finished)"}},
		{"ends SUCCEEDED", []string{"RUNNING", "SUCCEEDED"}, []string{"RUNNING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"}},
		{"ends FAILED", []string{"FAILED"}, []string{"FAILED", "FAILED", "FAILED", "FAILED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for i, s := range tt.states {
				files[fmt.Sprintf("athena/GetQueryExecution-%03d.json", i)] = fmt.Sprintf(
					`{"Input": {"QueryExecutionId": "q-1"}, "Output": {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": %q}}}}`, s)
			}
			c := s3Bundle(t, files).Athena()
			var got []string
			for range 4 {
				out, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("q-1")})
				if err != nil {
					if !IsNotInBundle(err) {
						t.Errorf("%v: want a NotInBundleError", err)
					}
					got = append(got, err.Error())
					continue
				}
				got = append(got, string(out.QueryExecution.Status.State))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("polls (-want +got):\n%s", diff)
			}
		})
	}
}
