package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Push-down of flow-log aggregation to CloudWatch Logs Insights.
//
// With --push-down auto (the default) a flow log's records are aggregated
// server-side when its log group holds more than pushDownBytes over the
// window, estimated from DescribeLogGroups: storedBytes spread evenly over
// the retained span (the retention period, or the group's age when
// younger). That is an upper bound of what FilterLogEvents would page
// through for the path's ENIs (their streams are a part of the group) and
// the amount a Logs Insights query scans. Without the estimate (no
// permission, or a bundle without the recording) the records are read here,
// as before. --push-down always forces Logs Insights, never forces
// FilterLogEvents. When Logs Insights fails under auto, the records are read
// here instead; nothing is counted twice, because query results are only
// aggregated once every query has finished.

// pushDownBytes is the estimated volume of a log group over the window
// above which auto pushes the aggregation down: 256 MiB is about 256
// FilterLogEvents pages of at most 1 MB (at the API's 5 requests per second
// and the transfer, a minute or more of paging), while a Logs Insights
// query over it takes seconds and costs about a tenth of a cent.
const pushDownBytes = 256 << 20

// Logs Insights limits and vpnaudit's use of them.
const (
	// insightsRowLimit is the rows asked of one query (StartQuery's limit;
	// one GetQueryResults page holds at most 10 000). A query that returns
	// this many may have been cut: its time range is split in two.
	insightsRowLimit = 10000
	// insightsMinSpan is the shortest time range a query is split to; a
	// one-minute query that still fills the row limit is reported partial.
	insightsMinSpan = time.Minute
	// insightsConcurrency bounds the queries running at once (Logs Insights
	// allows 30 concurrent queries per account and region, shared with
	// everyone else's).
	insightsConcurrency = 4
	// insightsENIsPerQuery bounds the streams one query names, keeping the
	// query string under Logs Insights' 10 000 characters.
	insightsENIsPerQuery = 20
	// insightsStartAttempts bounds StartQuery attempts when the account
	// already runs as many queries as it may (LimitExceededException).
	insightsStartAttempts = 5
	// Polling back-off: GetQueryResults after pollFirst, doubling up to
	// pollMax.
	pollFirst = 500 * time.Millisecond
	pollMax   = 5 * time.Second
)

// logRead is what reading one flow log's log group adds to the coverage.
type logRead struct {
	notes    []string // how it was read
	problems []string // what makes the traffic partial
	insights bool     // aggregated by Logs Insights
}

// readLogGroup reads the records of one flow log delivered to CloudWatch
// Logs into agg: aggregated by Logs Insights or read here with
// FilterLogEvents, as Options.PushDown and the estimated volume say.
func (k *collector) readLogGroup(ctx context.Context, agg *audit.FlowAggregator, fl audit.FlowLog, format flowlog.Format, enis []string) (logRead, error) {
	switch {
	case k.o.PushDown == PushDownNever:
		return logRead{}, k.readGroup(ctx, agg, fl, format, enis)
	case k.o.PushDown == PushDownAlways:
		if k.c.Insights == nil {
			return logRead{}, errors.New("--push-down always needs CloudWatch Logs Insights, which this source does not offer; use --push-down auto or never")
		}
		return k.readInsights(ctx, agg, fl, format, enis)
	case k.c.Insights == nil:
		return logRead{}, k.readGroup(ctx, agg, fl, format, enis)
	}
	est, estNote := k.estimateGroupVolume(ctx, fl.LogGroup)
	if est < pushDownBytes {
		r := logRead{}
		if estNote != "" {
			r.notes = append(r.notes, estNote)
		}
		return r, k.readGroup(ctx, agg, fl, format, enis)
	}
	r, err := k.readInsights(ctx, agg, fl, format, enis)
	if err == nil {
		r.notes = append([]string{fmt.Sprintf("%s holds about %s over the window", fl.LogGroup, humanBytes(est))}, r.notes...)
		return r, nil
	}
	if ctx.Err() != nil {
		return r, err
	}
	r = logRead{notes: []string{fmt.Sprintf("%s: Logs Insights failed (%s); its records were read here instead", fl.LogGroup, why(err))}}
	return r, k.readGroup(ctx, agg, fl, format, enis)
}

// estimateGroupVolume estimates the bytes a log group holds over the
// window from its storedBytes and retained span; 0 when unknown, with a
// note saying why when that is worth telling (not for a bundle that lacks
// the recording: the recorded run did not ask).
func (k *collector) estimateGroupVolume(ctx context.Context, group string) (int64, string) {
	out, err := k.c.Insights.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group), Limit: aws.Int32(1)})
	if bundle.IsNotInBundle(err) {
		return 0, ""
	}
	k.call("logs", "DescribeLogGroups")
	if err != nil {
		return 0, fmt.Sprintf("the volume of %s was not estimated (%s), so its records were read here", group, why(err))
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) != group {
			continue
		}
		return windowShare(aws.ToInt64(g.StoredBytes), aws.ToInt64(g.CreationTime), aws.ToInt32(g.RetentionInDays), k.ev.Window, k.ev.CollectedAt), ""
	}
	return 0, ""
}

// windowShare spreads stored bytes evenly over the span a log group
// retains (its retention, or its age when younger) and returns the share
// of the window.
func windowShare(stored, createdMillis int64, retentionDays int32, w audit.Window, now time.Time) int64 {
	if stored <= 0 || createdMillis <= 0 || now.IsZero() {
		return 0
	}
	span := now.Sub(time.UnixMilli(createdMillis))
	if r := time.Duration(retentionDays) * 24 * time.Hour; retentionDays > 0 && r < span {
		span = r
	}
	if span <= 0 {
		return 0
	}
	win := w.End.Sub(w.Start)
	if win >= span {
		return stored
	}
	return int64(float64(stored) * float64(win) / float64(span))
}

// readInsights aggregates a flow log's records of the ENIs with Logs
// Insights queries (see planInsights) over the window. Results are added to
// agg only when every query has finished, or when ctx ends (then what was
// read, marked partial): a failed query leaves agg untouched.
func (k *collector) readInsights(ctx context.Context, agg *audit.FlowAggregator, fl audit.FlowLog, format flowlog.Format, enis []string) (logRead, error) {
	cls := agg.Classifier()
	var plan []insightsQuery
	for size := insightsENIsPerQuery; ; size = (size + 1) / 2 {
		plan = plan[:0]
		fits := true
		for lo := 0; lo < len(enis); lo += size {
			qs, err := planInsights(format, fl.TrafficType, enis[lo:min(lo+size, len(enis))], cls)
			if err != nil {
				return logRead{}, err
			}
			for _, q := range qs {
				fits = fits && len(q.text(k.ev.Window.Start, k.ev.Window.End)) <= maxQueryLen
			}
			plan = append(plan, qs...)
		}
		if fits || size == 1 {
			break
		}
	}
	r := &insightsRunner{api: k.c.Insights, group: fl.LogGroup, call: func(op string) { k.call("logs", op) }, sleep: pollWait(k.c.Insights)}
	outs := make([]queryOutcome, len(plan))
	errs := make([]error, len(plan))
	sem := make(chan struct{}, insightsConcurrency)
	var wg sync.WaitGroup
	var done sync.Mutex
	finished := 0
	for i, q := range plan {
		// Queries start in plan order (the status query first), so a run
		// stopped early has what matters most.
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outs[i], errs[i] = r.run(ctx, q, k.ev.Window.Start, k.ev.Window.End)
			done.Lock()
			finished++
			k.progress("flow-logs", "%s: Logs Insights %d/%d queries", fl.LogGroup, finished, len(plan))
			done.Unlock()
		}()
	}
	wg.Wait()
	res := logRead{insights: true}
	queries, scanned := 0, 0.0
	for i := range plan {
		if errs[i] != nil && ctx.Err() == nil {
			return logRead{}, fmt.Errorf("the %s query: %w", plan[i].kind, errs[i])
		}
		queries += outs[i].queries
		scanned += outs[i].scanned
	}
	unfinished := 0
	for i, q := range plan {
		feedInsights(agg, q, outs[i].rows, cls, fl)
		for _, p := range outs[i].partial {
			res.problems = appendNew(res.problems, fmt.Sprintf("%s: %s", fl.LogGroup, p))
		}
		if errs[i] != nil {
			unfinished++
		}
	}
	if unfinished > 0 {
		res.problems = append(res.problems, fmt.Sprintf("%s: %d of %d Logs Insights queries had not finished when the run stopped", fl.LogGroup, unfinished, len(plan)))
	}
	if queries > 0 {
		res.notes = append(res.notes, fmt.Sprintf("%s was aggregated by Logs Insights (%d queries, %s scanned)", fl.LogGroup, queries, humanBytes(int64(scanned))))
	}
	return res, nil
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// maxQueryPolls bounds the polls of one query, Logs Insights or Athena, so
// that no source (a recording cut short, a service that never finishes)
// can keep a run polling forever. Polls back off to one every 5 seconds
// (pollMax, athenaMaxPoll), so 1 500 polls are about two hours: twice Logs
// Insights' 60-minute query timeout (after which it answers Timeout) and
// four times Athena's default 30-minute DML query timeout. A query still
// running after that many polls fails, saying so.
const maxQueryPolls = 1500

// sleepCtx waits d or until ctx ends (then returning its cause); tests
// polling fakes that do not say Replaying replace it.
var sleepCtx = func(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// replaying reports whether api answers from a recording: it has a method
// Replaying() bool that returns true (see InsightsAPI).
func replaying(api any) bool {
	rp, ok := api.(interface{ Replaying() bool })
	return ok && rp.Replaying()
}

// pollWait returns how to wait between polls of api: sleepCtx, or not at
// all when api replays a recording (only ctx's end is checked).
func pollWait(api any) func(context.Context, time.Duration) error {
	if replaying(api) {
		return func(ctx context.Context, _ time.Duration) error { return context.Cause(ctx) }
	}
	return sleepCtx
}

// insightsRunner runs one log group's queries: StartQuery, GetQueryResults
// polled with back-off until a final status, a time range split in two
// when its result may have been cut by the row limit or the query timed
// out.
type insightsRunner struct {
	api   InsightsAPI
	group string
	// call counts an API call; sleep waits between polls (returning early
	// with ctx's error).
	call  func(op string)
	sleep func(context.Context, time.Duration) error
}

// queryOutcome is what one query (with its splits) returned.
type queryOutcome struct {
	rows    [][]cwltypes.ResultField
	queries int
	scanned float64 // bytes, from the statistics
	partial []string
}

func (o *queryOutcome) merge(p queryOutcome) {
	o.rows = append(o.rows, p.rows...)
	o.queries += p.queries
	o.scanned += p.scanned
	for _, x := range p.partial {
		o.partial = appendNew(o.partial, x)
	}
}

// errQueryTimeout is a query that Logs Insights stopped at its time limit.
var errQueryTimeout = errors.New("the query timed out in Logs Insights (60 minutes)")

// run runs q over [lo, hi], splitting the range while a result may be cut.
// When ctx ends while a query runs, run returns the rows read so far
// (Logs Insights returns partial results while running) with ctx's error.
func (r *insightsRunner) run(ctx context.Context, q insightsQuery, lo, hi time.Time) (queryOutcome, error) {
	out, err := r.once(ctx, q.text(lo, hi), lo, hi)
	full := err == nil && len(out.rows) >= insightsRowLimit
	if !full && !errors.Is(err, errQueryTimeout) {
		return out, err
	}
	if hi.Sub(lo) <= insightsMinSpan {
		if err != nil {
			return out, err
		}
		out.partial = append(out.partial, fmt.Sprintf("the %s query over %s still filled Logs Insights' %d-row limit: its counts are partial",
			q.kind, lo.UTC().Format("15:04:05"), insightsRowLimit))
		return out, nil
	}
	mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
	if !mid.After(lo) {
		mid = lo.Add(hi.Sub(lo) / 2)
	}
	split := queryOutcome{queries: out.queries, scanned: out.scanned}
	for _, part := range [][2]time.Time{{lo, mid}, {mid.Add(time.Millisecond), hi}} {
		p, err := r.run(ctx, q, part[0], part[1])
		split.merge(p)
		if err != nil {
			return split, err
		}
	}
	return split, nil
}

// once runs one query to a final status.
func (r *insightsRunner) once(ctx context.Context, text string, lo, hi time.Time) (queryOutcome, error) {
	in := &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(r.group),
		StartTime:    aws.Int64(lo.Unix()),
		EndTime:      aws.Int64((hi.UnixMilli() + 999) / 1000),
		QueryString:  aws.String(text),
		Limit:        aws.Int32(insightsRowLimit),
	}
	var out queryOutcome
	var start *cloudwatchlogs.StartQueryOutput
	delay := pollFirst
	for attempt := 1; ; attempt++ {
		r.call("StartQuery")
		var err error
		start, err = r.api.StartQuery(ctx, in)
		if err == nil {
			break
		}
		var ae smithy.APIError
		if attempt >= insightsStartAttempts || !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" {
			return out, err
		}
		// The account runs as many queries as it may: wait for a slot.
		if err := r.sleep(ctx, delay); err != nil {
			return out, err
		}
		delay = min(delay*2, pollMax)
	}
	out.queries = 1
	id := aws.ToString(start.QueryId)
	delay = pollFirst
	var status cwltypes.QueryStatus
	for polls := 0; ; polls++ {
		if polls == maxQueryPolls {
			return queryOutcome{queries: 1, scanned: out.scanned}, fmt.Errorf("Logs Insights query %s was still %s after %d polls, so vpnaudit stopped waiting for it; run again later or use --push-down never", printable(id), printable(string(status)), polls)
		}
		if err := r.sleep(ctx, delay); err != nil {
			return r.stopped(out, err)
		}
		delay = min(delay*2, pollMax)
		r.call("GetQueryResults")
		res, err := r.api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				return r.stopped(out, ctx.Err())
			}
			return out, err
		}
		out.rows = res.Results
		if res.Statistics != nil {
			out.scanned = res.Statistics.BytesScanned
		}
		status = res.Status
		switch res.Status {
		case cwltypes.QueryStatusComplete:
			return out, nil
		case cwltypes.QueryStatusTimeout:
			out.rows = nil
			return out, errQueryTimeout
		case cwltypes.QueryStatusFailed, cwltypes.QueryStatusCancelled:
			return queryOutcome{queries: 1, scanned: out.scanned}, fmt.Errorf("query %s ended %s in Logs Insights", id, res.Status)
		}
	}
}

// stopped is the outcome of a query still running when ctx ended: the
// partial rows of the last poll.
func (r *insightsRunner) stopped(out queryOutcome, err error) (queryOutcome, error) {
	if len(out.rows) > 0 {
		out.partial = append(out.partial, "a query was still running when the run stopped: its counts are partial")
	}
	return out, err
}

// feedInsights adds one query's rows to agg. Rows of the status query are
// added oldest first, so NODATA/SKIPDATA windows merge as they do record by
// record.
func feedInsights(agg *audit.FlowAggregator, q insightsQuery, rows [][]cwltypes.ResultField, cls audit.FlowClassifier, fl audit.FlowLog) {
	type row = map[string]string
	var rs []row
	for _, fields := range rows {
		m := row{}
		for _, f := range fields {
			m[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		rs = append(rs, m)
	}
	num := func(m row, k string) (int64, bool) {
		f, err := strconv.ParseFloat(m[k], 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return int64(math.Round(f)), true
	}
	stamp := func(m row, k string) time.Time {
		if v, ok := num(m, k); ok {
			return time.Unix(v, 0).UTC()
		}
		return time.Time{}
	}
	eni := func(m row) string {
		v := m[q.iface]
		if q.iface == "@logStream" {
			v, _, _ = strings.Cut(v, "-all")
			v = strings.TrimSuffix(strings.TrimSuffix(v, "-accept"), "-reject")
		}
		return v
	}
	statusField := insightsField("log-status")
	if q.kind == qStatus {
		sort.SliceStable(rs, func(i, j int) bool {
			a, _ := num(rs[i], "minute")
			b, _ := num(rs[j], "minute")
			return a < b
		})
		for _, m := range rs {
			n, _ := num(m, "records")
			_, hasStatus := m[statusField]
			if eni(m) == "" || q.iface == "@logStream" && strings.Contains(q.parse, statusField) && !hasStatus {
				agg.MalformedN(fmt.Sprintf("%s (Logs Insights)", fl.LogGroup), "records that do not match the flow log's LogFormat", n)
				continue
			}
			agg.AddActivity(eni(m), audit.FlowStatus(m[statusField]), n, stamp(m, "first"), stamp(m, "last_end"))
		}
		return
	}
	tunnel := func(s string) (string, bool) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		return ip.String(), slices.Contains(cls.Tunnels, ip)
	}
	for _, m := range rs {
		minute := stamp(m, "minute")
		if minute.IsZero() {
			continue // records without a start are in no series
		}
		key := audit.FlowKey{Interface: eni(m), Action: m[insightsField("action")]}
		if key.Action == "-" {
			key.Action = ""
		}
		switch q.kind {
		case qIPsec:
			if dst, ok := tunnel(m[insightsField("dstaddr")]); ok {
				key.Class, key.Direction, key.Peer = audit.FlowIPsec, audit.DirEgress, dst
			} else {
				src, _ := tunnel(m[insightsField("srcaddr")])
				key.Class, key.Direction, key.Peer = audit.FlowIPsec, audit.DirIngress, src
			}
		case qToAWS:
			key.Class, key.Direction = audit.FlowCrossVPN, audit.DirToAWS
		case qToCustomer:
			key.Class, key.Direction = audit.FlowCrossVPN, audit.DirToCustomer
		case qOther:
			key.Class, key.Direction = audit.FlowOther, m[insightsField("flow-direction")]
			if key.Direction == "" || key.Direction == "-" {
				key.Direction = audit.DirIngress
			}
		case qOtherEgress:
			key.Class, key.Direction = audit.FlowOther, audit.DirEgress
		case qOtherIngress:
			key.Class, key.Direction = audit.FlowOther, audit.DirIngress
		}
		b := audit.FlowBucket{Start: minute, LastEnd: stamp(m, "last_end")}
		b.Records, _ = num(m, "records")
		b.Packets, _ = num(m, "packets")
		b.Bytes, _ = num(m, "bytes")
		agg.AddBucket(key, b)
	}
}

// humanBytes writes a byte count for people (1.5 GB, 310 MB, 12 kB).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n), []string{"kB", "MB", "GB", "TB", "PB"}
	i := -1
	for f >= unit && i < len(suffix)-1 {
		f /= unit
		i++
	}
	if f >= 100 {
		return fmt.Sprintf("%.0f %s", f, suffix[i])
	}
	return fmt.Sprintf("%.1f %s", f, suffix[i])
}
