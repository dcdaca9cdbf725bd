package collect

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
)

// fakeTrail answers LookupEvents with fixed pages, the token of page i+1
// being "p<i+1>".
type fakeTrail struct {
	pages []*cloudtrail.LookupEventsOutput
}

func (f *fakeTrail) LookupEvents(_ context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	i := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "p%d", &i)
	}
	if i >= len(f.pages) {
		return nil, fmt.Errorf("no page %d", i)
	}
	return f.pages[i], nil
}

// fakeAthena succeeds at once and returns results in the given pages (the
// header row first); it counts the queries started.
type fakeAthena struct {
	pages   [][][]string
	started int
}

func (f *fakeAthena) StartQueryExecution(context.Context, *athena.StartQueryExecutionInput, ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	f.started++
	return &athena.StartQueryExecutionOutput{QueryExecutionId: aws.String("q-1")}, nil
}

func (f *fakeAthena) GetQueryExecution(context.Context, *athena.GetQueryExecutionInput, ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	return &athena.GetQueryExecutionOutput{QueryExecution: &athenatypes.QueryExecution{
		Status:     &athenatypes.QueryExecutionStatus{State: athenatypes.QueryExecutionStateSucceeded},
		Statistics: &athenatypes.QueryExecutionStatistics{DataScannedInBytes: aws.Int64(1 << 20)}}}, nil
}

func (f *fakeAthena) GetQueryResults(_ context.Context, in *athena.GetQueryResultsInput, _ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	i := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "r%d", &i)
	}
	out := &athena.GetQueryResultsOutput{ResultSet: &athenatypes.ResultSet{}}
	for _, r := range f.pages[i] {
		var row athenatypes.Row
		for _, v := range r {
			row.Data = append(row.Data, athenatypes.Datum{VarCharValue: aws.String(v)})
		}
		out.ResultSet.Rows = append(out.ResultSet.Rows, row)
	}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(fmt.Sprintf("r%d", i+1))
	}
	return out, nil
}

var trailNow = time.Date(2026, 11, 3, 22, 50, 0, 0, time.UTC)

// trailEvent is a write event at minute min before trailNow, as
// LookupEvents returns it.
func trailEvent(id string, min int) cttypes.Event {
	at := trailNow.Add(-time.Duration(min) * time.Minute)
	rec := fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"eu-central-1","readOnly":false,"eventType":"AwsApiCall","eventCategory":"Management"}`,
		id, at.Format(time.RFC3339))
	return cttypes.Event{EventId: aws.String(id), EventName: aws.String("StopInstances"), ReadOnly: aws.String("false"),
		EventTime: aws.Time(at), EventSource: aws.String("ec2.amazonaws.com"), CloudTrailEvent: aws.String(rec)}
}

// trailRow is the same event as a row of the trail query.
func trailRow(id string, min int) []string {
	r := make([]string, len(trailColumns))
	for i, c := range trailColumns {
		switch c {
		case "eventversion":
			r[i] = "1.08"
		case "eventid":
			r[i] = id
		case "eventtime":
			r[i] = trailNow.Add(-time.Duration(min) * time.Minute).Format(time.RFC3339)
		case "eventsource":
			r[i] = "ec2.amazonaws.com"
		case "eventname":
			r[i] = "StopInstances"
		case "awsregion":
			r[i] = "eu-central-1"
		case "readonly":
			r[i] = "false"
		case "eventtype":
			r[i] = "AwsApiCall"
		}
	}
	return r
}

func lookupPage(next string, ids map[string]int, order ...string) *cloudtrail.LookupEventsOutput {
	out := &cloudtrail.LookupEventsOutput{}
	for _, id := range order {
		out.Events = append(out.Events, trailEvent(id, ids[id]))
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out
}

// The push-down asks LookupEvents' question and keeps what LookupEvents
// alone knows: no query when one page holds the window; the newest
// events (not yet delivered to S3) come from LookupEvents, paged back to
// 20 minutes before now, merged with the table's rows by event ID; the
// table's rows are decoded page by page, row numbers counting on.
func TestTrailPushDownMerge(t *testing.T) {
	header := trailColumns
	// Minutes before now of each event: e1..e3 are newer than now-20m.
	mins := map[string]int{"e1": 1, "e2": 5, "e3": 19, "e4": 25, "e5": 40, "e6": 90, "e7": 130}
	tests := []struct {
		name        string
		pushDown    PushDown
		lookup      []*cloudtrail.LookupEventsOutput
		table       [][][]string
		wantDone    bool
		wantQueries int
		wantIDs     []string
		wantCalls   int // LookupEvents calls after the first page
		wantDetail  []string
		wantStatus  string
	}{
		{name: "one page: no query even under always", pushDown: PushDownAlways,
			lookup:      []*cloudtrail.LookupEventsOutput{lookupPage("", mins, "e1", "e2")},
			table:       [][][]string{{header, trailRow("e1", 1)}},
			wantQueries: 0},
		{name: "never", pushDown: PushDownNever,
			lookup: []*cloudtrail.LookupEventsOutput{lookupPage("p1", mins, "e1", "e2"), lookupPage("", mins, "e4")},
			table:  [][][]string{{header}}},
		{name: "newest pages merged, table rows in two result pages", pushDown: PushDownAlways,
			lookup: []*cloudtrail.LookupEventsOutput{
				lookupPage("p1", mins, "e1", "e2"), // all newer than now-20m: page on
				lookupPage("p2", mins, "e3", "e4"), // reaches back past now-20m: stop
				lookupPage("", mins, "e5", "e6", "e7")},
			// The table lacks e1..e3 (not delivered yet) and has e4 twice over.
			table:       [][][]string{{header, trailRow("e7", 130), trailRow("e6", 90)}, {trailRow("e5", 40), trailRow("e4", 25)}},
			wantDone:    true,
			wantQueries: 1,
			wantIDs:     []string{"e7", "e6", "e5", "e4", "e3", "e2", "e1"},
			wantCalls:   1,
			wantDetail:  []string{"7 changes (readOnly=false, management events)", "pushed down to Athena (table cloudtrail_logs", "(2 pages, 3 changes not yet in the table)"},
			wantStatus:  audit.CoverageOK},
		{name: "first page old enough: no more pages", pushDown: PushDownAlways,
			lookup:      []*cloudtrail.LookupEventsOutput{lookupPage("p1", mins, "e2", "e4"), lookupPage("", mins, "e6")},
			table:       [][][]string{{header, trailRow("e6", 90), trailRow("e4", 25)}},
			wantDone:    true,
			wantQueries: 1,
			wantIDs:     []string{"e6", "e4", "e2"},
			wantDetail:  []string{"(1 pages, 1 changes not yet in the table)"},
			wantStatus:  audit.CoverageOK},
		{name: "bad row on the second result page: LookupEvents is paged", pushDown: PushDownAlways,
			lookup:      []*cloudtrail.LookupEventsOutput{lookupPage("p1", mins, "e1"), lookupPage("", mins, "e6")},
			table:       [][][]string{{header, trailRow("e6", 90), trailRow("e5", 40)}, {{"x"}}},
			wantQueries: 1,
			wantDetail:  []string{"; the Athena query of the trail table failed (Athena result row 3 has 1 columns, want 18"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, at := &fakeTrail{pages: tt.lookup}, &fakeAthena{pages: tt.table}
			k := &collector{c: Clients{CloudTrail: ct, Athena: at}, tally: map[[2]string]int{},
				o:  Options{PushDown: tt.pushDown, Now: trailNow, Athena: athenaOptions},
				ev: &audit.Evidence{Region: "eu-central-1", Window: audit.Window{Start: trailNow.Add(-3 * time.Hour), End: trailNow}}}
			p := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(50)})
			first, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			note := ""
			cov, done := k.trailPushDown(context.Background(), first, p, &note)
			if done != tt.wantDone || at.started != tt.wantQueries {
				t.Fatalf("done %v after %d queries, want %v after %d (note %q)", done, at.started, tt.wantDone, tt.wantQueries, note)
			}
			if got := k.tally[[2]string{"cloudtrail", "LookupEvents"}]; got != tt.wantCalls {
				t.Errorf("%d more LookupEvents calls, want %d", got, tt.wantCalls)
			}
			var ids []string
			for _, c := range k.ev.Changes {
				ids = append(ids, c.EventID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			text := cov.Detail + note
			for _, want := range tt.wantDetail {
				if !strings.Contains(text, want) {
					t.Errorf("detail lacks %q: %s", want, text)
				}
			}
			if cov.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", cov.Status, tt.wantStatus)
			}
		})
	}
}

// runQuery with a callback hands over each result page without the header
// and keeps no rows.
func TestRunQueryPages(t *testing.T) {
	at := &fakeAthena{pages: [][][]string{{{"h"}, {"a"}, {"b"}}, {{"c"}}, {}, {{"d"}, {"e"}}}}
	k := &collector{c: Clients{Athena: at}, tally: map[[2]string]int{}, o: Options{Athena: athenaOptions}}
	var got [][]string
	rows, _, err := k.runQuery(context.Background(), "cloudtrail", "SELECT 1", func(page [][]string) error {
		var p []string
		for _, r := range page {
			p = append(p, r[0])
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"a", "b"}, {"c"}, {"d", "e"}}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if rows != nil {
		t.Errorf("rows kept: %v", rows)
	}
}

// The trail query filters on management events and reads the day
// partitions up to CloudTrail's delivery delay past the window.
func TestTrailQuery(t *testing.T) {
	tests := []struct {
		name     string
		start    time.Time
		end      time.Time
		wantDays string
	}{
		{name: "midday", start: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), end: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC),
			wantDays: "day IN ('2026/11/03')"},
		{name: "ends near midnight", start: time.Date(2026, 11, 3, 21, 0, 0, 0, time.UTC), end: time.Date(2026, 11, 3, 23, 50, 0, 0, time.UTC),
			wantDays: "day IN ('2026/11/03', '2026/11/04')"},
		{name: "ends 16 minutes before midnight", start: time.Date(2026, 11, 3, 21, 0, 0, 0, time.UTC), end: time.Date(2026, 11, 3, 23, 44, 0, 0, time.UTC),
			wantDays: "day IN ('2026/11/03')"},
		{name: "spans midnight", start: time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC), end: time.Date(2026, 11, 4, 1, 0, 0, 0, time.UTC),
			wantDays: "day IN ('2026/11/03', '2026/11/04')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &collector{o: Options{Athena: athenaOptions}, ev: &audit.Evidence{Region: "eu-central-1", Window: audit.Window{Start: tt.start, End: tt.end}}}
			q := k.trailQuery()
			for _, want := range []string{tt.wantDays, "readonly = 'false'", "eventcategory = 'Management'", `FROM "vpnaudit"."cloudtrail_logs"`} {
				if !strings.Contains(q, want) {
					t.Errorf("query lacks %s:\n%s", want, q)
				}
			}
			if strings.Contains(q, ";") || !strings.HasPrefix(q, "SELECT ") {
				t.Errorf("not a single SELECT:\n%s", q)
			}
		})
	}
}
