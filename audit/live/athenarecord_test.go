package live_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

// athenaServer answers Athena's JSON 1.1 protocol: one query, polled
// through RUNNING to SUCCEEDED, with two pages of results.
func athenaServer(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		mu.Lock()
		defer mu.Unlock()
		switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonAthena.") {
		case "StartQueryExecution":
			io.WriteString(w, `{"QueryExecutionId":"4f1c2a3b-9d2e-4e55-8a1b-0c7d5e6f7a81"}`)
		case "GetQueryExecution":
			polls++
			state := "RUNNING"
			if polls > 1 {
				state = "SUCCEEDED"
			}
			io.WriteString(w, `{"QueryExecution":{"QueryExecutionId":"4f1c2a3b-9d2e-4e55-8a1b-0c7d5e6f7a81","StatementType":"DML",
				"Status":{"State":"`+state+`","SubmissionDateTime":1.793746201123E9},
				"Statistics":{"DataScannedInBytes":2411724,"EngineExecutionTimeInMillis":2871},"WorkGroup":"primary"}}`)
		case "GetQueryResults":
			if in["NextToken"] == nil {
				io.WriteString(w, `{"ResultSet":{"Rows":[{"Data":[{"VarCharValue":"kind"},{"VarCharValue":"records"}]},{"Data":[{"VarCharValue":"OK"},{"VarCharValue":"12"}]}],
					"ResultSetMetadata":{"ColumnInfo":[{"Name":"kind","Type":"varchar"},{"Name":"records","Type":"bigint"}]}},"NextToken":"page2","UpdateCount":0}`)
			} else {
				io.WriteString(w, `{"ResultSet":{"Rows":[{"Data":[{"VarCharValue":"NODATA"},{}]}]},"UpdateCount":0}`)
			}
		default:
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"InvalidRequestException","Message":"unexpected"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runAthena starts the query, polls it to SUCCEEDED and pages its rows, as
// the collector does.
func runAthena(t *testing.T, c collect.AthenaAPI) (states []string, rows [][]string) {
	t.Helper()
	ctx := context.Background()
	start, err := c.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT kind, count(*) AS records FROM flows GROUP BY kind"),
		WorkGroup: aws.String("primary")})
	if err != nil {
		t.Fatal(err)
	}
	for {
		out, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: start.QueryExecutionId})
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, string(out.QueryExecution.Status.State))
		if out.QueryExecution.Status.State == "SUCCEEDED" {
			break
		}
	}
	p := athena.NewGetQueryResultsPaginator(c, &athena.GetQueryResultsInput{QueryExecutionId: start.QueryExecutionId})
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
	return states, rows
}

// A recorded Athena query replays from the bundle with the same states and
// rows the live run saw.
func TestRecordAthenaQuery(t *testing.T) {
	srv := athenaServer(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := liveClients(t, srv.URL, live.Options{Recorder: rec})
	liveStates, liveRows := runAthena(t, c.Athena)
	if err := rec.Close(mototest.Region, mototest.Account, testNow); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	states, rows := runAthena(t, b.Athena())
	if diff := cmp.Diff(liveStates, states); diff != "" {
		t.Errorf("states, live (-) vs replay (+):\n%s", diff)
	}
	if diff := cmp.Diff(liveRows, rows); diff != "" {
		t.Errorf("rows, live (-) vs replay (+):\n%s", diff)
	}
	if want := [][]string{{"kind", "records"}, {"OK", "12"}, {"NODATA", ""}}; !cmp.Equal(want, liveRows) {
		t.Errorf("live rows %v, want %v", liveRows, want)
	}
}
