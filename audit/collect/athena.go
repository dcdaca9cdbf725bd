package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
	"github.com/vpnaudit/vpnaudit/audit/trail"
)

// Push-down of flow logs delivered to S3 to Athena.
//
// One SELECT per flow log runs against the flow table (the README gives
// its DDL: one column per field of the flow log's format, "-" replaced by
// "_", partitioned by region and day with partition projection). It
// filters on the partitions of the window's days, on the flow log's own
// objects ("$path" holds its ID), on the path's ENIs and on the window, and
// classifies and counts server-side exactly as audit.FlowAggregator does
// record by record: per minute, ENI, class (ipsec, cross-vpn, other),
// direction, tunnel endpoint and action; NODATA and SKIPDATA per ENI and
// window. The rows come back into the same audit.Traffic, so correlation
// cannot tell the paths apart; only the records of ENIs off the path are
// not counted (they are not read at all).
//
// Queries are polled with GetQueryExecution, backing off from 250 ms to
// 5 s, until SUCCEEDED, FAILED or CANCELLED, the run's context ends or
// maxQueryPolls polls (then the query fails, saying it is still running), and
// their results paged with GetQueryResults (the first row of the first
// page is the header). Every query vpnaudit sends is one SELECT; the live
// clients refuse anything else before it leaves the process.

// Athena polling back-off.
const (
	athenaFirstPoll = 250 * time.Millisecond
	athenaMaxPoll   = 5 * time.Second
)

// runQuery runs one SELECT to completion and returns its rows without the
// header, and the bytes Athena scanned. With each set, the rows are handed
// to it page by page instead and not kept (rows is then nil), so a large
// result is never held whole; an error from each stops the paging. When
// the paging had to be stopped (a *PagingError), the rows of the pages read
// are returned (or were handed to each) with it.
func (k *collector) runQuery(ctx context.Context, source, query string, each func(rows [][]string) error) ([][]string, int64, error) {
	o := k.o.Athena
	in := &athena.StartQueryExecutionInput{
		QueryString:           aws.String(query),
		QueryExecutionContext: &athenatypes.QueryExecutionContext{Database: aws.String(o.Database)},
	}
	if o.Workgroup != "" {
		in.WorkGroup = aws.String(o.Workgroup)
	}
	if o.OutputLocation != "" {
		in.ResultConfiguration = &athenatypes.ResultConfiguration{OutputLocation: aws.String(o.OutputLocation)}
	}
	k.call("athena", "StartQueryExecution")
	start, err := k.c.Athena.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, 0, err
	}
	id := aws.ToString(start.QueryExecutionId)
	var scanned int64
	var state athenatypes.QueryExecutionState
	sleep := pollWait(k.c.Athena) // recorded polls need no waiting
	for polls, wait := 0, athenaFirstPoll; ; polls, wait = polls+1, min(wait*2, athenaMaxPoll) {
		if polls == maxQueryPolls {
			return nil, scanned, fmt.Errorf("Athena query %s was still %s after %d polls, so vpnaudit stopped waiting for it; run again later or use --push-down never", printable(id), strings.ToLower(string(state)), polls)
		}
		k.call("athena", "GetQueryExecution")
		out, err := k.c.Athena.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			return nil, 0, err
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return nil, 0, fmt.Errorf("GetQueryExecution of %s returned no status", id)
		}
		if qe.Statistics != nil {
			scanned = aws.ToInt64(qe.Statistics.DataScannedInBytes)
		}
		state = qe.Status.State
		if state == athenatypes.QueryExecutionStateSucceeded {
			break
		}
		if state == athenatypes.QueryExecutionStateFailed || state == athenatypes.QueryExecutionStateCancelled {
			reason := aws.ToString(qe.Status.StateChangeReason)
			if reason == "" && qe.Status.AthenaError != nil {
				reason = aws.ToString(qe.Status.AthenaError.ErrorMessage)
			}
			return nil, scanned, fmt.Errorf("Athena query %s %s: %s", id, strings.ToLower(string(state)), reason)
		}
		k.progress(source, "Athena query %s %s", id, strings.ToLower(string(state)))
		if err := sleep(ctx, wait); err != nil {
			return nil, scanned, err
		}
	}
	var rows [][]string
	p := athena.NewGetQueryResultsPaginator(k.c.Athena, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	header := true
	guard := newPageGuard("Athena", "GetQueryResults")
	for p.HasMorePages() {
		k.call("athena", "GetQueryResults")
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, scanned, err
		}
		if out.ResultSet == nil {
			if err := guard.check(0, out.NextToken); err != nil {
				return rows, scanned, err
			}
			continue
		}
		page := rows
		if each != nil {
			page = make([][]string, 0, len(out.ResultSet.Rows))
		}
		for _, r := range out.ResultSet.Rows {
			if header {
				header = false
				continue
			}
			row := make([]string, len(r.Data))
			for i, d := range r.Data {
				row[i] = aws.ToString(d.VarCharValue)
			}
			page = append(page, row)
		}
		if each == nil {
			rows = page
		} else if len(page) > 0 {
			if err := each(page); err != nil {
				return nil, scanned, err
			}
		}
		if err := guard.check(len(out.ResultSet.Rows), out.NextToken); err != nil {
			return rows, scanned, err // this page's rows are used
		}
	}
	return rows, scanned, nil
}

// sqlTable names an Athena table: table in database, or database.table.
func sqlTable(database, table string) string {
	if db, tb, ok := strings.Cut(table, "."); ok {
		return sqlIdent(db) + "." + sqlIdent(tb)
	}
	return sqlIdent(database) + "." + sqlIdent(table)
}

// windowDays are the day partitions (yyyy/MM/dd) from..to.
func windowDays(from, to time.Time) []string {
	var days []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(to); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format("2006/01/02"))
	}
	return days
}

// athenaFlows aggregates one flow log's records of the window with Athena.
// When the result's paging had to be stopped, the traffic of the rows read
// is returned with the *PagingError.
func (k *collector) athenaFlows(ctx context.Context, info audit.FlowLog, format flowlog.Format, enis []string) (audit.Traffic, int64, error) {
	q, err := k.flowQuery(info, format, enis)
	if err != nil {
		return audit.Traffic{}, 0, err
	}
	rows, scanned, err := k.runQuery(ctx, "flow-logs", q, nil)
	if err != nil && !isPaging(err) {
		return audit.Traffic{}, scanned, err
	}
	t, ferr := flowRows(rows, info.ID)
	if ferr != nil {
		return t, scanned, ferr
	}
	return t, scanned, err
}

// flowColumns are the result columns of flowQuery, in order.
var flowColumns = []string{"kind", "interface_id", "class", "direction", "peer", "action", "t0", "t1", "records", "packets", "bytes", "first_start", "last_end"}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlIdent quotes s as an SQL identifier.
func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = sqlString(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// inPrefixes is an SQL predicate: column's address is in one of cidrs.
func inPrefixes(column string, cidrs []string) string {
	var ors []string
	for _, c := range normalPrefixes(cidrs) {
		ors = append(ors, fmt.Sprintf("contains(%s, TRY_CAST(%s AS IPADDRESS))", sqlString(c), column))
	}
	if len(ors) == 0 {
		return "false"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// normalPrefixes reads CIDRs and addresses as the aggregator does.
func normalPrefixes(cidrs []string) []string {
	var out []string
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked().String())
		} else if ip, err := netip.ParseAddr(c); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()).String())
		}
	}
	return out
}

// flowQuery builds the SELECT of one flow log (see the file comment).
func (k *collector) flowQuery(info audit.FlowLog, format flowlog.Format, enis []string) (string, error) {
	col := func(field string) string {
		if format.Index(field) < 0 {
			return "NULL"
		}
		return sqlIdent(strings.ReplaceAll(field, "-", "_"))
	}
	if format.Index("interface-id") < 0 || format.Index("start") < 0 {
		return "", errors.New("its format has no interface-id or start field, which the Athena query needs")
	}
	scope := k.ev.Scope
	var tunnels []string
	for _, t := range scope.Tunnels {
		if ip, err := netip.ParseAddr(t.OutsideIP); err == nil {
			tunnels = append(tunnels, ip.String())
		}
	}
	sort.Strings(tunnels)
	src, dst, proto, sport, dport := col("srcaddr"), col("dstaddr"), col("protocol"), col("srcport"), col("dstport")
	status := fmt.Sprintf("%s IN ('NODATA', 'SKIPDATA')", col("log-status"))
	ike := fmt.Sprintf("(%s = 50 OR %s = 17 AND (%s IN (500, 4500) OR %s IN (500, 4500)))", proto, proto, sport, dport)
	ipsecOut, ipsecIn := "false", "false"
	if len(tunnels) > 0 {
		ipsecOut = fmt.Sprintf("%s AND %s IN %s", ike, dst, sqlList(tunnels))
		ipsecIn = fmt.Sprintf("%s AND %s IN %s", ike, src, sqlList(tunnels))
	}
	toAWS := fmt.Sprintf("%s AND %s", inPrefixes(src, scope.CustomerSide), inPrefixes(dst, scope.AWSSide))
	toCustomer := fmt.Sprintf("%s AND %s", inPrefixes(src, scope.AWSSide), inPrefixes(dst, scope.CustomerSide))
	// "other" traffic: the record's flow-direction, else egress when the
	// source is one of the interface's own addresses.
	var own []string
	for _, i := range k.flowInterfaces {
		var addrs []string
		for _, a := range i.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				addrs = append(addrs, ip.String())
			}
		}
		if len(addrs) > 0 {
			own = append(own, fmt.Sprintf("%s = %s AND %s IN %s", col("interface-id"), sqlString(i.ID), src, sqlList(addrs)))
		}
	}
	otherDir := "'ingress'"
	if len(own) > 0 {
		otherDir = fmt.Sprintf("CASE WHEN %s THEN 'egress' ELSE 'ingress' END", strings.Join(own, " OR "))
	}
	if format.Index("flow-direction") >= 0 {
		otherDir = fmt.Sprintf("COALESCE(NULLIF(%s, '-'), %s)", col("flow-direction"), otherDir)
	}

	w := k.ev.Window
	interval := time.Duration(info.Interval) * time.Second
	days := windowDays(w.Start.Add(-5*time.Minute), w.End.Add(interval+objectLateness))
	table := sqlTable(k.o.Athena.Database, k.o.Athena.FlowTable)
	lo, hi := (w.Start.UnixMilli()+999)/1000, w.End.UnixMilli()/1000

	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s,\n", strings.Join(flowColumns[:8], ", "))
	b.WriteString("  count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes, min(s) AS first_start, max(e) AS last_end\n")
	b.WriteString("FROM (\n  SELECT\n")
	fmt.Fprintf(&b, "    CASE WHEN %s THEN %s ELSE 'OK' END AS kind,\n", status, col("log-status"))
	fmt.Fprintf(&b, "    %s AS interface_id,\n", col("interface-id"))
	fmt.Fprintf(&b, "    CASE WHEN %s THEN '' WHEN %s THEN 'ipsec' WHEN %s THEN 'ipsec' WHEN %s THEN 'cross-vpn' WHEN %s THEN 'cross-vpn' ELSE 'other' END AS class,\n",
		status, ipsecOut, ipsecIn, toAWS, toCustomer)
	fmt.Fprintf(&b, "    CASE WHEN %s THEN '' WHEN %s THEN 'egress' WHEN %s THEN 'ingress' WHEN %s THEN 'to-aws' WHEN %s THEN 'to-customer' ELSE %s END AS direction,\n",
		status, ipsecOut, ipsecIn, toAWS, toCustomer, otherDir)
	fmt.Fprintf(&b, "    CASE WHEN %s THEN '' WHEN %s THEN %s WHEN %s THEN %s ELSE '' END AS peer,\n", status, ipsecOut, dst, ipsecIn, src)
	fmt.Fprintf(&b, "    CASE WHEN %s THEN '' ELSE COALESCE(NULLIF(%s, '-'), '') END AS action,\n", status, col("action"))
	fmt.Fprintf(&b, "    CASE WHEN %s THEN %s ELSE %s - %s %% 60 END AS t0,\n", status, col("start"), col("start"), col("start"))
	fmt.Fprintf(&b, "    CASE WHEN %s THEN %s ELSE 0 END AS t1,\n", status, col("end"))
	fmt.Fprintf(&b, "    %s AS packets, %s AS bytes, %s AS s, %s AS e\n", col("packets"), col("bytes"), col("start"), col("end"))
	fmt.Fprintf(&b, "  FROM %s\n", table)
	fmt.Fprintf(&b, "  WHERE region = %s AND day IN %s\n", sqlString(k.ev.Region), sqlList(days))
	fmt.Fprintf(&b, "    AND strpos(\"$path\", %s) > 0\n", sqlString("_"+info.ID+"_"))
	fmt.Fprintf(&b, "    AND %s IN %s\n", col("interface-id"), sqlList(enis))
	fmt.Fprintf(&b, "    AND %s BETWEEN %d AND %d\n", col("start"), lo, hi)
	b.WriteString(")\n")
	fmt.Fprintf(&b, "GROUP BY %s\n", strings.Join(flowColumns[:8], ", "))
	fmt.Fprintf(&b, "ORDER BY %s", strings.Join(flowColumns[:8], ", "))
	return b.String(), nil
}

// flowRows turns flowQuery's rows into traffic.
func flowRows(rows [][]string, flowLogID string) (audit.Traffic, error) {
	var t audit.Traffic
	num := func(s string) (int64, error) {
		if s == "" {
			return 0, nil
		}
		return strconv.ParseInt(s, 10, 64)
	}
	at := func(sec int64) time.Time {
		if sec == 0 {
			return time.Time{}
		}
		return time.Unix(sec, 0).UTC()
	}
	for n, r := range rows {
		if len(r) != len(flowColumns) {
			return t, fmt.Errorf("Athena result row %d has %d columns, want %d (%s)", n+1, len(r), len(flowColumns), strings.Join(flowColumns, ", "))
		}
		var v [5]int64 // t0 t1 records packets bytes
		var first, last int64
		var err error
		for i, s := range r[6:11] {
			if v[i], err = num(s); err != nil {
				return t, fmt.Errorf("Athena result row %d: %s: %w", n+1, flowColumns[6+i], err)
			}
		}
		if first, err = num(r[11]); err == nil {
			last, err = num(r[12])
		}
		if err != nil {
			return t, fmt.Errorf("Athena result row %d: %w", n+1, err)
		}
		kind, eni := r[0], r[1]
		t0, t1, records, packets, bytes := v[0], v[1], v[2], v[3], v[4]
		act := audit.InterfaceActivity{Interface: eni, FlowLog: flowLogID, Records: records, First: at(first), Last: at(last)}
		t.Records += records
		switch kind {
		case "NODATA", "SKIPDATA":
			w := audit.Window{Start: at(t0), End: at(t1)}
			if kind == "NODATA" {
				t.NoData += records
				act.NoData = []audit.Window{w}
			} else {
				t.SkipData += records
				act.SkipData = []audit.Window{w}
			}
		default:
			key := audit.FlowKey{Interface: eni, Class: r[2], Direction: r[3], Peer: r[4], Action: r[5]}
			t.Series = append(t.Series, audit.FlowSeries{Key: key, Buckets: []audit.FlowBucket{
				{Start: at(t0), LastEnd: at(last), Records: records, Packets: packets, Bytes: bytes}}})
		}
		t.Interfaces = append(t.Interfaces, act)
	}
	// Merging into nothing sorts series and joins buckets and windows.
	counts := audit.Traffic{Records: t.Records, NoData: t.NoData, SkipData: t.SkipData}
	t.Records, t.NoData, t.SkipData = 0, 0, 0
	merged := mergeTraffic(audit.Traffic{}, audit.Traffic{Series: t.Series}, audit.Traffic{Interfaces: t.Interfaces})
	merged.Records, merged.NoData, merged.SkipData = counts.Records, counts.NoData, counts.SkipData
	return merged, nil
}

// CloudTrail push-down.
//
// LookupEvents returns 50 events a page at 2 requests a second: a busy
// account's window can take minutes to page. When the first page shows
// that more than autoTrailPages pages would be needed (the window's length
// over the span the first page covered, counted back from the window's
// end), or with --push-down always, and a trail table is configured, the
// window's write management events (readOnly false and eventcategory
// Management: the question LookupEvents asks, which never returns data
// events) are read from the trail's S3 copy with one Athena SELECT
// instead, and each row is decoded as the CloudTrail record it is, by the
// same decoder LookupEvents' CloudTrailEvent goes through. A first page
// without a next token has answered already: no query runs then.
//
// The S3 copy lags LookupEvents by CloudTrail's delivery delay, so the
// newest events may not be in the table yet: LookupEvents' first page, and
// its further pages back to trailFresh before now, are kept and merged
// with the table's rows, de-duplicated by event ID (LookupEvents' copy is
// kept: its envelope names resources the record does not).

// autoTrailPages is the estimated number of LookupEvents pages above which
// --push-down auto queries the trail table: 40 pages take at least 20 s.
const autoTrailPages = 40

// trailDeliveryDelay is how long after an API call its log file may reach
// S3 (CloudTrail documents about 5 minutes on average, not guaranteed; its
// older documentation said within 15): an event near midnight can land in
// the next day's folder, so the day partitions read reach that far past
// the window.
const trailDeliveryDelay = 15 * time.Minute

// trailFresh is how recent an event must be (before the collection's
// clock) for LookupEvents to be read for it even when the trail table
// answers: its log file may not be delivered yet (trailDeliveryDelay and a
// margin).
const trailFresh = 20 * time.Minute

// trailColumns are the trail query's result columns: the record's members
// (lowercase, as Athena names them), JSON text for the nested ones.
var trailColumns = []string{"eventversion", "eventid", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
	"useragent", "errorcode", "errormessage", "requestparameters", "responseelements", "additionaleventdata", "readonly",
	"eventtype", "recipientaccountid", "useridentity", "resources"}

// jsonColumns hold JSON text.
var jsonColumns = map[string]bool{"requestparameters": true, "responseelements": true, "additionaleventdata": true, "useridentity": true, "resources": true}

// trailQuery is the SELECT of the window's write management events.
func (k *collector) trailQuery() string {
	w := k.ev.Window
	cols := make([]string, len(trailColumns))
	for i, c := range trailColumns {
		switch c {
		case "useridentity", "resources":
			cols[i] = fmt.Sprintf("json_format(CAST(%s AS JSON)) AS %s", c, c)
		default:
			cols[i] = c
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s\n", strings.Join(cols, ", "))
	fmt.Fprintf(&b, "FROM %s\n", sqlTable(k.o.Athena.Database, k.o.Athena.TrailTable))
	fmt.Fprintf(&b, "WHERE region = %s AND day IN %s\n", sqlString(k.ev.Region), sqlList(windowDays(w.Start, w.End.Add(trailDeliveryDelay))))
	fmt.Fprintf(&b, "  AND eventtime BETWEEN %s AND %s\n", sqlString(w.Start.UTC().Format("2006-01-02T15:04:05Z")), sqlString(w.End.UTC().Format("2006-01-02T15:04:05Z")))
	b.WriteString("  AND readonly = 'false' AND eventcategory = 'Management' AND eventtype <> 'AwsCloudTrailInsight'\n")
	b.WriteString("ORDER BY eventtime, eventid")
	return b.String()
}

// trailRows decodes the rows as CloudTrail records; before is the number
// of rows of the result decoded already (for the row numbers in errors).
func trailRows(rows [][]string, before int) (changes []audit.Change, undecodable int, err error) {
	for n, r := range rows {
		if len(r) != len(trailColumns) {
			return nil, 0, fmt.Errorf("Athena result row %d has %d columns, want %d (%s)", before+n+1, len(r), len(trailColumns), strings.Join(trailColumns, ", "))
		}
		rec := map[string]any{}
		for i, c := range trailColumns {
			v := r[i]
			if v == "" {
				continue
			}
			if jsonColumns[c] && json.Valid([]byte(v)) {
				rec[c] = json.RawMessage(v)
			} else {
				rec[c] = v
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep the logged text as it is
		if err := enc.Encode(rec); err != nil {
			return nil, 0, err
		}
		c, err := trail.Decode(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			undecodable++
		}
		if c.EventID == "" && c.EventName == "" {
			continue
		}
		changes = append(changes, c)
	}
	return changes, undecodable, nil
}

// trailPushDown decides from LookupEvents' first page whether the trail
// table answers instead and, if so, reads it, pages LookupEvents on (with
// p) only for the events newer than trailFresh before now, and merges the
// two: done says the changes and their coverage are final. When the table
// was not used although the volume called for it, or its query failed,
// note says so (for the LookupEvents coverage detail, "; …").
func (k *collector) trailPushDown(ctx context.Context, first *cloudtrail.LookupEventsOutput, p *cloudtrail.LookupEventsPaginator, note *string) (audit.Coverage, bool) {
	if k.o.PushDown == PushDownNever || aws.ToString(first.NextToken) == "" {
		return audit.Coverage{}, false // one page holds the whole window: nothing to push down
	}
	w := k.ev.Window
	estimate := 1
	if len(first.Events) > 0 {
		oldest := aws.ToTime(first.Events[len(first.Events)-1].EventTime)
		if covered := w.End.Sub(oldest); covered > 0 {
			estimate = int(math.Ceil(float64(w.End.Sub(w.Start)) / float64(covered)))
		} else {
			estimate = math.MaxInt32
		}
	}
	large := estimate > autoTrailPages
	if k.o.PushDown != PushDownAlways && !large {
		return audit.Coverage{}, false
	}
	if k.c.Athena == nil || k.o.Athena.Database == "" || k.o.Athena.TrailTable == "" {
		if large {
			*note = fmt.Sprintf("; about %d pages were needed: set --athena-database and --athena-trail-table to query the trail's S3 copy with Athena instead (see Push-down in the README)", estimate)
		}
		return audit.Coverage{}, false
	}
	var table []audit.Change
	undecodable, decoded := 0, 0
	_, scanned, err := k.runQuery(ctx, "cloudtrail", k.trailQuery(), func(rows [][]string) error {
		cs, bad, err := trailRows(rows, decoded)
		decoded += len(rows)
		undecodable += bad
		table = append(table, cs...)
		return err
	})
	if err != nil {
		*note = fmt.Sprintf("; the Athena query of the trail table failed (%s), so LookupEvents was paged", why(err))
		return audit.Coverage{}, false
	}
	recent, pages, unreadable, lerr := k.recentLookup(ctx, first, p)
	changes, added := mergeChanges(table, recent)
	k.ev.Changes = changes
	detail := fmt.Sprintf("%d changes (readOnly=false, management events) from %s to %s, pushed down to Athena (table %s; LookupEvents would have needed about %d pages; Athena scanned %s)",
		len(changes), w.Start.Format("2006-01-02 15:04"), w.End.Format("15:04 MST"), k.o.Athena.TrailTable, estimate, mb(scanned))
	detail += fmt.Sprintf("; the newest events were read with LookupEvents too (%d pages, %d changes not yet in the table)", pages, added)
	status := audit.CoverageOK
	if lerr != nil {
		status = audit.CoveragePartial
		detail += fmt.Sprintf("; LookupEvents failed on page %d while reading the events of the last %s, which the table may not hold yet: %s", pages+1, span(trailFresh), why(lerr))
	}
	if undecodable > 0 {
		status = audit.CoveragePartial
		detail += fmt.Sprintf("; %d rows could not be read as CloudTrail records", undecodable)
	}
	if unreadable > 0 {
		status = audit.CoveragePartial
		detail += fmt.Sprintf("; %d events had an unreadable CloudTrailEvent and are known only by their summary", unreadable)
	}
	return audit.Coverage{Source: "cloudtrail", Status: status, Detail: detail}, true
}

// recentLookup decodes LookupEvents' first page and pages on while the
// page's oldest event is newer than trailFresh before the collection's
// clock (pages are newest first): the events whose S3 copy may be missing.
// It returns their changes, the pages read, how many events had an
// unreadable CloudTrailEvent, and the error that stopped it early, if any.
func (k *collector) recentLookup(ctx context.Context, first *cloudtrail.LookupEventsOutput, p *cloudtrail.LookupEventsPaginator) ([]audit.Change, int, int, error) {
	var changes []audit.Change
	unreadable, pages := 0, 1
	guard := newPageGuard("CloudTrail", "LookupEvents")
	cutoff := k.o.Now.Add(-trailFresh)
	for page := first; ; pages++ {
		for _, e := range page.Events {
			c, err := trail.FromLookup(envelope(e))
			if err != nil {
				unreadable++
			}
			if c.EventID == "" && c.EventName == "" {
				continue
			}
			changes = append(changes, c)
		}
		if err := guard.check(len(page.Events), page.NextToken); err != nil {
			return changes, pages, unreadable, err
		}
		if k.o.Now.IsZero() || !p.HasMorePages() {
			return changes, pages, unreadable, nil
		}
		if n := len(page.Events); n > 0 && !aws.ToTime(page.Events[n-1].EventTime).After(cutoff) {
			return changes, pages, unreadable, nil
		}
		k.call("cloudtrail", "LookupEvents")
		next, err := p.NextPage(ctx)
		if err != nil {
			return changes, pages, unreadable, err
		}
		page = next
		k.progress("cloudtrail", "%d recent pages, %d changes", pages+1, len(changes))
	}
}

// mergeChanges joins the trail table's changes and LookupEvents' recent
// ones, one per event ID (LookupEvents' copy kept), sorted; added is how
// many of LookupEvents' the table did not have.
func mergeChanges(table, recent []audit.Change) (merged []audit.Change, added int) {
	inTable := make(map[string]bool, len(table))
	for _, c := range table {
		if c.EventID != "" {
			inTable[c.EventID] = true
		}
	}
	fromLookup := make(map[string]bool, len(recent))
	merged = make([]audit.Change, 0, len(table)+len(recent))
	for _, c := range recent {
		if c.EventID != "" {
			if fromLookup[c.EventID] {
				continue
			}
			fromLookup[c.EventID] = true
		}
		if c.EventID == "" || !inTable[c.EventID] {
			added++
		}
		merged = append(merged, c)
	}
	for _, c := range table {
		if c.EventID == "" || !fromLookup[c.EventID] {
			merged = append(merged, c)
		}
	}
	return sortChanges(merged), added
}
