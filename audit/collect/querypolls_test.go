package collect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// A bundle whose recorded Logs Insights query ends Running (an interrupted
// --record run) replays promptly: the query fails with a NotInBundleError
// saying so, and the flow-log coverage says why it is partial (always) or
// that the records were read here instead (auto).
func TestInsightsRecordingEndsRunning(t *testing.T) {
	const name = "custom-format-600s"
	base, err := bundle.Open(testenv.Fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	const ends = "the recording ends while Logs Insights query 01b6eb42-6af7-b67c-000c-a16bc5b88da4 was Running (the recording run was stopped before it finished)"
	tests := []struct {
		name       string
		pd         PushDown
		wantStatus string
		wantDetail string
	}{
		{"always", PushDownAlways, audit.CoveragePartial, "fl-001560ee44fb97b30 (log group /vpc/flowlogs/osa1-erp): the other query: " + ends},
		{"auto, large group: read here", PushDownAuto, audit.CoverageOK, "/vpc/flowlogs/osa1-erp: Logs Insights failed (the other query: " + ends + "); its records were read here instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := overlay(t, name, false, map[string]string{"logs/DescribeLogGroups.json": describeLogGroups(t, base, 1<<40)})
			// The query's last recorded poll, Complete, was never written.
			if err := os.Remove(filepath.Join(dir, "logs", "GetQueryResults-001.json")); err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			c := clients(b)
			c.Insights = b.Insights()
			ev := collectWith(t, c, b, tt.pd)
			cov := flowCoverage(ev)
			if cov.Status != tt.wantStatus || !strings.Contains(cov.Detail, tt.wantDetail) {
				t.Errorf("flow-logs coverage %s: %q\nwant %s containing %q", cov.Status, cov.Detail, tt.wantStatus, tt.wantDetail)
			}
		})
	}
}

// stuckAthena answers every query with q-1 and its polls from next: the
// bundle's recording, or RUNNING forever.
type stuckAthena struct {
	next func(context.Context, *athena.GetQueryExecutionInput) (*athena.GetQueryExecutionOutput, error)

	mu            sync.Mutex
	starts, polls int
}

func (s *stuckAthena) Replaying() bool { return true }

func (s *stuckAthena) StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, _ ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	s.mu.Lock()
	s.starts++
	s.mu.Unlock()
	return &athena.StartQueryExecutionOutput{QueryExecutionId: aws.String("q-1")}, nil
}

func (s *stuckAthena) GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, _ ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	s.mu.Lock()
	s.polls++
	s.mu.Unlock()
	return s.next(ctx, in)
}

func (s *stuckAthena) GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, _ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	return nil, errors.New("not scripted")
}

func running(context.Context, *athena.GetQueryExecutionInput) (*athena.GetQueryExecutionOutput, error) {
	return &athena.GetQueryExecutionOutput{QueryExecution: &athenatypes.QueryExecution{QueryExecutionId: aws.String("q-1"),
		Status: &athenatypes.QueryExecutionStatus{State: athenatypes.QueryExecutionStateRunning}}}, nil
}

// Athena push-down of flow logs in S3 whose query never finishes: a
// recording that ends QUEUED or RUNNING fails at once, and a source that
// answers RUNNING forever is polled maxQueryPolls times per query; either
// way the run ends, the records are read here instead and the coverage
// says why.
func TestAthenaQueryNeverFinishes(t *testing.T) {
	dir := toS3Bundle(t, testenv.Fixture(t, "lab-console-stop"), true)
	os.MkdirAll(filepath.Join(dir, "athena"), 0o755)
	for name, state := range map[string]string{"GetQueryExecution-000.json": "QUEUED", "GetQueryExecution-001.json": "RUNNING"} {
		doc := `{"Input": {"QueryExecutionId": "q-1"}, "Output": {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": "` + state + `"}}}}`
		if err := os.WriteFile(filepath.Join(dir, "athena", name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tests := []struct {
		name string
		next func(context.Context, *athena.GetQueryExecutionInput) (*athena.GetQueryExecutionOutput, error)
		// wantPolls are the GetQueryExecution calls of so many queries
		// started (all named q-1).
		wantPolls  func(starts int) int
		wantDetail string
	}{
		{"recording ends RUNNING", nil, func(n int) int { return 2 + n }, // QUEUED, RUNNING, then an error each
			"the Athena push-down failed (the recording ends while Athena query execution q-1 was RUNNING (the recording run was stopped before it finished)), so its "},
		{"RUNNING forever", running, func(n int) int { return maxQueryPolls * n },
			"the Athena push-down failed (Athena query q-1 was still running after 1500 polls, so vpnaudit stopped waiting for it; run again later or use --push-down never), so its "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &stuckAthena{next: tt.next}
			if fake.next == nil {
				rec := b.Athena() // one client, so the polls advance through the recording
				fake.next = func(ctx context.Context, in *athena.GetQueryExecutionInput) (*athena.GetQueryExecutionOutput, error) {
					return rec.GetQueryExecution(ctx, in)
				}
			}
			c := BundleClients(b)
			c.Athena = fake
			ev, err := Collect(context.Background(), c, Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt, Region: b.Manifest.Region,
				Account: b.Manifest.AccountId, PushDown: PushDownAlways, Athena: athenaOptions})
			if err != nil {
				t.Fatal(err)
			}
			cov := coverageOf(ev, "flow-logs")
			if cov.Status != audit.CoveragePartial || !strings.Contains(cov.Detail, tt.wantDetail) {
				t.Errorf("flow-logs coverage %s: %q\nwant partial containing %q", cov.Status, cov.Detail, tt.wantDetail)
			}
			if diff := cmp.Diff(tt.wantPolls(fake.starts), fake.polls); diff != "" || fake.starts == 0 {
				t.Errorf("%d queries started; GetQueryExecution calls (-want +got):\n%s", fake.starts, diff)
			}
		})
	}
}

// A Logs Insights query that never leaves Running is polled maxQueryPolls
// times, then fails saying so, with the polls' back-off capped at pollMax.
func TestInsightsPollCap(t *testing.T) {
	lo := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	q := insightsQuery{kind: qStatus, iface: "fl_interface_id", streams: []string{"eni-1-all"}, parse: `parse @message "*" as fl_start`, filter: exprTrue, by: []string{"minute"}, stats: "count(*) as records"}
	tests := []struct {
		name    string
		status  cwltypes.QueryStatus
		wantErr string
	}{
		{"Running", cwltypes.QueryStatusRunning, "Logs Insights query q0 was still Running after 1500 polls, so vpnaudit stopped waiting for it; run again later or use --push-down never"},
		{"Scheduled", cwltypes.QueryStatusScheduled, "Logs Insights query q0 was still Scheduled after 1500 polls, so vpnaudit stopped waiting for it; run again later or use --push-down never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &scripted{answer: func(int, *cloudwatchlogs.StartQueryInput) []*cloudwatchlogs.GetQueryResultsOutput {
				return polls(poll(tt.status, 1))
			}}
			var waited time.Duration
			calls := map[string]int{}
			r := &insightsRunner{api: api, group: "/vpc/flows", call: func(op string) { calls[op]++ }, sleep: func(ctx context.Context, d time.Duration) error {
				waited += d
				return ctx.Err()
			}}
			_, err := r.run(context.Background(), q, lo, lo.Add(4*time.Minute))
			if diff := cmp.Diff(tt.wantErr, fmt.Sprint(errOrNil(err))); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int{"StartQuery": 1, "GetQueryResults": maxQueryPolls}, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			// 0.5 + 1 + 2 + 4 s, then 5 s a poll: about two hours.
			if want := 7500*time.Millisecond + (maxQueryPolls-4)*pollMax; waited != want {
				t.Errorf("waited %v in all, want %v", waited, want)
			}
		})
	}
}
