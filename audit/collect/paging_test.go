package collect

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

func TestPageGuard(t *testing.T) {
	type page struct {
		items int
		token string // "" is the last page
	}
	empties := func(n int, prefix string) []page {
		var ps []page
		for i := 0; i < n; i++ {
			ps = append(ps, page{0, fmt.Sprintf("%s%d", prefix, i)})
		}
		return ps
	}
	tests := []struct {
		name  string
		pages []page
		want  *PagingError // nil: the loop ends normally
	}{
		{"one page", []page{{5, ""}}, nil},
		{"fresh tokens", []page{{50, "a"}, {50, "b"}, {3, ""}}, nil},
		{"token twice in a row", []page{{50, "a"}, {50, "a"}}, &PagingError{Service: "S", Operation: "Op", Page: 2}},
		{"token cycle a b a", []page{{50, "a"}, {50, "b"}, {50, "a"}}, &PagingError{Service: "S", Operation: "Op", Page: 3}},
		{"a few empty pages then data", append(empties(maxEmptyPages-1, "e"), page{7, ""}), nil},
		{"empty pages interrupted by data", append(append(empties(maxEmptyPages-1, "e"), page{1, "x"}), empties(maxEmptyPages-1, "f")...), nil},
		{"empty pages for ever", empties(maxEmptyPages+10, "e"), &PagingError{Service: "S", Operation: "Op", Page: maxEmptyPages, Empty: true, Limit: maxEmptyPages}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newPageGuard("S", "Op")
			var got *PagingError
			for _, p := range tt.pages {
				var next *string
				if p.token != "" {
					next = aws.String(p.token)
				}
				if err := g.check(p.items, next); err != nil {
					got = err.(*PagingError)
					break
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// cyclingTrail answers every LookupEvents with the bundle's first page and
// tokens that cycle A → B → A.
type cyclingTrail struct{ b *bundle.CloudTrail }

func (c cyclingTrail) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, o ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	q := *in
	q.NextToken = nil
	out, err := c.b.LookupEvents(ctx, &q, o...)
	if err != nil {
		return nil, err
	}
	next := map[string]string{"": "A", "A": "B", "B": "A"}[aws.ToString(in.NextToken)]
	out.NextToken = aws.String(next)
	return out, nil
}

// endlessLogs answers the bundle's pages, then empty pages with fresh
// tokens for ever.
type endlessLogs struct {
	b     *bundle.Logs
	calls atomic.Int64
}

func (l *endlessLogs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	n := l.calls.Add(1)
	if strings.HasPrefix(aws.ToString(in.NextToken), "empty-") {
		return &cloudwatchlogs.FilterLogEventsOutput{NextToken: aws.String(fmt.Sprintf("empty-%d", n))}, nil
	}
	out, err := l.b.FilterLogEvents(ctx, in, o...)
	if err == nil && out.NextToken == nil {
		out.NextToken = aws.String(fmt.Sprintf("empty-%d", n))
	}
	return out, err
}

// repeatingMetrics answers GetMetricData's first page with a token, and
// the page it points at with the same token again.
type repeatingMetrics struct{ *bundle.CloudWatch }

func (c repeatingMetrics) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, o ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if in.NextToken != nil {
		return &cloudwatch.GetMetricDataOutput{NextToken: in.NextToken}, nil
	}
	out, err := c.CloudWatch.GetMetricData(ctx, in, o...)
	if err == nil {
		out.NextToken = aws.String("same")
	}
	return out, err
}

// A service whose pagination tokens would loop for ever ends the loop with
// a partial source that says why, and the pages read are used.
func TestPaginationThatWouldLoop(t *testing.T) {
	b, err := bundle.Open(testenv.Fixture(t, "lab-console-stop"))
	if err != nil {
		t.Fatal(err)
	}
	c := clients(b)
	c.CloudTrail = cyclingTrail{b.CloudTrail()}
	logs := &endlessLogs{b: b.Logs()}
	c.Logs = logs
	c.CloudWatch = repeatingMetrics{b.CloudWatch()}
	// A safety net only: a guard that fails would otherwise hang the test.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ev, err := Collect(ctx, c, Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt})
	if err != nil {
		t.Fatal(err)
	}
	clean, err := Collect(context.Background(), clients(b), Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]audit.Coverage{}
	for _, cv := range ev.Coverage {
		got[cv.Source] = cv
	}
	changes := len(clean.Changes)
	wantCT := audit.Coverage{Source: "cloudtrail", Status: audit.CoveragePartial,
		Detail: fmt.Sprintf("CloudTrail LookupEvents returned the pagination token it returned before (page 3): stopping; the results so far are used (%d changes read in 3 pages)", 3*changes)}
	if diff := cmp.Diff(wantCT, got["cloudtrail"]); diff != "" {
		t.Errorf("cloudtrail coverage (-want +got):\n%s", diff)
	}
	if len(ev.Changes) != changes {
		t.Errorf("%d changes, want the %d of the first page (repeats dropped)", len(ev.Changes), changes)
	}
	for _, tc := range []struct{ source, want string }{
		{"flow-logs", fmt.Sprintf("CloudWatch Logs FilterLogEvents returned %d empty pages in a row, each with a pagination token", maxEmptyLogPages)},
		{"metrics", "CloudWatch GetMetricData returned the pagination token it returned before (page 2): stopping; the results so far are used"},
	} {
		cv := got[tc.source]
		if cv.Status != audit.CoveragePartial || !strings.Contains(cv.Detail, tc.want) {
			t.Errorf("%s: %s %q, want partial with %q", tc.source, cv.Status, cv.Detail, tc.want)
		}
	}
	// The records and datapoints read before the loop stopped are kept.
	if ev.Traffic.Records != clean.Traffic.Records || ev.Traffic.Records == 0 {
		t.Errorf("%d flow records, want the %d of a clean run", ev.Traffic.Records, clean.Traffic.Records)
	}
	if len(ev.Metrics) != len(clean.Metrics) {
		t.Errorf("%d metric series, want the %d of a clean run", len(ev.Metrics), len(clean.Metrics))
	}
}

// FilterLogEvents scans a large group in slices and answers an empty page
// for each slice without a match: many are followed, not for ever.
func TestPageGuardFilterLogEvents(t *testing.T) {
	g := newPageGuard("CloudWatch Logs", "FilterLogEvents")
	var err error
	for i := 0; i < maxEmptyLogPages && err == nil; i++ {
		tok := fmt.Sprintf("t%d", i)
		err = g.check(0, &tok)
		if i == maxEmptyPages && err != nil {
			t.Fatalf("stopped after %d empty pages: %v", i+1, err)
		}
	}
	want := &PagingError{Service: "CloudWatch Logs", Operation: "FilterLogEvents", Page: maxEmptyLogPages, Empty: true, Limit: maxEmptyLogPages}
	if diff := cmp.Diff(error(want), err); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
