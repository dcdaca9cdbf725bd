package collect

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"
)

// fakeInsights is a small Logs Insights for tests: it runs the query
// strings vpnaudit generates (the subset of Logs Insights QL they use,
// parsed from the text, so the test checks what would be sent) over log
// events held in memory. moto's Logs Insights ignores parse, filter and
// stats, so this is what the push-down is tested against.
type fakeInsights struct {
	events map[string][]cwltypes.FilteredLogEvent // by log group
	// running is how many GetQueryResults answer Running before Complete.
	running int
	// rowLimit, when set, caps the rows of a result (else the query's limit).
	rowLimit int
	// rowsWhileRunning returns the rows while running too (a query's
	// partial results).
	rowsWhileRunning bool

	mu      sync.Mutex
	queries map[string]*fakeQuery
	started []string // query strings, in order
}

type fakeQuery struct {
	rows    [][]cwltypes.ResultField
	scanned float64
	polls   int
}

func (f *fakeInsights) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return &cloudwatchlogs.DescribeLogGroupsOutput{}, nil
}

func (f *fakeInsights) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // as the SDK does before sending
	}
	q := &fakeQuery{}
	prog, err := compileQuery(aws.ToString(in.QueryString))
	if err != nil {
		return nil, fmt.Errorf("MalformedQueryException: %v", err)
	}
	lo, hi := aws.ToInt64(in.StartTime)*1000, aws.ToInt64(in.EndTime)*1000+999
	var evs []cwltypes.FilteredLogEvent
	for _, e := range f.events[aws.ToString(in.LogGroupName)] {
		if ts := aws.ToInt64(e.Timestamp); ts >= lo && ts <= hi {
			evs = append(evs, e)
			q.scanned += float64(len(aws.ToString(e.Message)))
		}
	}
	q.rows = prog.run(evs)
	limit := int(aws.ToInt32(in.Limit))
	if f.rowLimit > 0 {
		limit = f.rowLimit
	}
	if limit > 0 && len(q.rows) > limit {
		q.rows = q.rows[:limit]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queries == nil {
		f.queries = map[string]*fakeQuery{}
	}
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", len(f.started)+1, len(f.started)+1)
	f.queries[id] = q
	f.started = append(f.started, aws.ToString(in.QueryString))
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String(id)}, nil
}

func (f *fakeInsights) GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queries[aws.ToString(in.QueryId)]
	if q == nil {
		return nil, fmt.Errorf("ResourceNotFoundException: no query %s", aws.ToString(in.QueryId))
	}
	q.polls++
	stats := &cwltypes.QueryStatistics{BytesScanned: q.scanned, RecordsMatched: float64(len(q.rows))}
	if q.polls <= f.running {
		rows := [][]cwltypes.ResultField{}
		if f.rowsWhileRunning {
			rows = q.rows
		}
		return &cloudwatchlogs.GetQueryResultsOutput{Status: cwltypes.QueryStatusRunning, Results: rows, Statistics: stats}, nil
	}
	return &cloudwatchlogs.GetQueryResultsOutput{Status: cwltypes.QueryStatusComplete, Results: q.rows, Statistics: stats}, nil
}

// A compiled query: parse, filters, one fields computation, stats.
type fakeProgram struct {
	parseNames []string
	filters    []fakeExpr
	minuteOf   string // fields floor(<minuteOf> / 60) * 60 as <minuteAs>
	minuteAs   string
	aggs       []fakeAgg
	by         []string
}

type fakeAgg struct{ fn, field, as string }

var (
	parseRE  = regexp.MustCompile(`^parse @message "([* ]+)" as ([\w, ]+)$`)
	fieldsRE = regexp.MustCompile(`^fields floor\((\w+) / 60\) \* 60 as (\w+)$`)
	aggRE    = regexp.MustCompile(`^(count|sum|min|max)\(([\w*]+)\) as (\w+)$`)
)

func compileQuery(text string) (*fakeProgram, error) {
	p := &fakeProgram{}
	for i, cmd := range strings.Split(text, "\n") {
		if i > 0 {
			var ok bool
			if cmd, ok = strings.CutPrefix(cmd, "| "); !ok {
				return nil, fmt.Errorf("line %d does not start with |: %q", i+1, cmd)
			}
		}
		verb, rest, _ := strings.Cut(cmd, " ")
		switch verb {
		case "parse":
			m := parseRE.FindStringSubmatch(cmd)
			if m == nil {
				return nil, fmt.Errorf("unsupported parse: %q", cmd)
			}
			p.parseNames = strings.Split(m[2], ", ")
			if n := strings.Count(m[1], "*"); n != len(p.parseNames) {
				return nil, fmt.Errorf("parse has %d globs for %d names", n, len(p.parseNames))
			}
		case "filter":
			x, err := parseFakeExpr(rest)
			if err != nil {
				return nil, fmt.Errorf("filter %q: %v", rest, err)
			}
			p.filters = append(p.filters, x)
		case "fields":
			m := fieldsRE.FindStringSubmatch(cmd)
			if m == nil {
				return nil, fmt.Errorf("unsupported fields: %q", cmd)
			}
			p.minuteOf, p.minuteAs = m[1], m[2]
		case "stats":
			aggs, by, ok := strings.Cut(rest, " by ")
			if !ok {
				return nil, fmt.Errorf("stats without by: %q", cmd)
			}
			for _, a := range strings.Split(aggs, ", ") {
				m := aggRE.FindStringSubmatch(a)
				if m == nil || (m[1] == "count") != (m[2] == "*") {
					return nil, fmt.Errorf("unsupported aggregation %q", a)
				}
				p.aggs = append(p.aggs, fakeAgg{m[1], m[2], m[3]})
			}
			p.by = strings.Split(by, ", ")
		default:
			return nil, fmt.Errorf("unsupported command %q", verb)
		}
	}
	if p.parseNames == nil || p.aggs == nil {
		return nil, fmt.Errorf("want parse and stats")
	}
	return p, nil
}

type fakeGroup struct {
	key  []string
	has  []bool
	aggs []float64
	seen []bool
}

func (p *fakeProgram) run(evs []cwltypes.FilteredLogEvent) [][]cwltypes.ResultField {
	groups := map[string]*fakeGroup{}
	for _, e := range evs {
		rec := map[string]string{"@logStream": aws.ToString(e.LogStreamName), "@timestamp": strconv.FormatInt(aws.ToInt64(e.Timestamp), 10)}
		// parse "* * …": each glob up to the next space, the last the rest.
		if parts := strings.SplitN(aws.ToString(e.Message), " ", len(p.parseNames)); len(parts) == len(p.parseNames) {
			for i, n := range p.parseNames {
				rec[n] = parts[i]
			}
		}
		keep := true
		for _, x := range p.filters {
			keep = keep && x.eval(rec)
		}
		if !keep {
			continue
		}
		if f, err := strconv.ParseFloat(rec[p.minuteOf], 64); err == nil && p.minuteAs != "" {
			rec[p.minuteAs] = strconv.FormatInt(int64(f)/60*60, 10)
		}
		g := &fakeGroup{}
		for _, b := range p.by {
			v, ok := rec[b]
			g.key, g.has = append(g.key, v), append(g.has, ok)
		}
		id := fmt.Sprint(g.key, g.has)
		if old := groups[id]; old != nil {
			g = old
		} else {
			g.aggs, g.seen = make([]float64, len(p.aggs)), make([]bool, len(p.aggs))
			groups[id] = g
		}
		for i, a := range p.aggs {
			if a.fn == "count" {
				g.aggs[i]++
				g.seen[i] = true
				continue
			}
			f, err := strconv.ParseFloat(rec[a.field], 64)
			if err != nil {
				continue // "-" and missing values are not numbers
			}
			switch {
			case !g.seen[i]:
				g.aggs[i] = f
			case a.fn == "sum":
				g.aggs[i] += f
			case a.fn == "min" && f < g.aggs[i], a.fn == "max" && f > g.aggs[i]:
				g.aggs[i] = f
			}
			g.seen[i] = true
		}
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var rows [][]cwltypes.ResultField
	for _, id := range ids {
		g := groups[id]
		var row []cwltypes.ResultField
		for i, b := range p.by {
			if g.has[i] {
				row = append(row, cwltypes.ResultField{Field: aws.String(b), Value: aws.String(g.key[i])})
			}
		}
		for i, a := range p.aggs {
			if g.seen[i] {
				row = append(row, cwltypes.ResultField{Field: aws.String(a.as), Value: aws.String(strconv.FormatFloat(g.aggs[i], 'f', -1, 64))})
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Expressions of the filter command.
type fakeExpr interface {
	eval(rec map[string]string) bool
}

type (
	fakeAnd []fakeExpr
	fakeOr  []fakeExpr
	fakeNot struct{ x fakeExpr }
	fakeCmp struct{ op, l, r string } // operands: field names or literals (quoted strings keep their quotes)
	fakeIn  struct {
		field string
		vals  []string
	}
	fakeCIDR struct{ field, cidr string }
)

func (a fakeAnd) eval(r map[string]string) bool {
	for _, x := range a {
		if !x.eval(r) {
			return false
		}
	}
	return true
}

func (o fakeOr) eval(r map[string]string) bool {
	for _, x := range o {
		if x.eval(r) {
			return true
		}
	}
	return false
}

func (n fakeNot) eval(r map[string]string) bool { return !n.x.eval(r) }

// operand resolves a literal or a field; ok is false for a missing field.
func operand(s string, r map[string]string) (string, bool) {
	if strings.HasPrefix(s, `"`) {
		v, err := strconv.Unquote(s)
		return v, err == nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s, true
	}
	if s == "toMillis(@timestamp)" {
		s = "@timestamp"
	}
	v, ok := r[s]
	return v, ok
}

func (c fakeCmp) eval(r map[string]string) bool {
	l, ok1 := operand(c.l, r)
	rv, ok2 := operand(c.r, r)
	if !ok1 || !ok2 {
		return false
	}
	lf, err1 := strconv.ParseFloat(l, 64)
	rf, err2 := strconv.ParseFloat(rv, 64)
	if err1 == nil && err2 == nil {
		switch c.op {
		case "=":
			return lf == rf
		case ">=":
			return lf >= rf
		case "<=":
			return lf <= rf
		}
	}
	return c.op == "=" && l == rv
}

func (i fakeIn) eval(r map[string]string) bool {
	for _, v := range i.vals {
		if (fakeCmp{"=", i.field, v}).eval(r) {
			return true
		}
	}
	return false
}

func (c fakeCIDR) eval(r map[string]string) bool {
	ip, err := netip.ParseAddr(r[c.field])
	p, err2 := netip.ParsePrefix(c.cidr)
	return err == nil && err2 == nil && p.Contains(ip)
}

var tokenRE = regexp.MustCompile(`\s*("(?:[^"\\]|\\.)*"|toMillis\(@timestamp\)|>=|<=|[=()\[\],]|[@\w.:/-]+)`)

func parseFakeExpr(s string) (fakeExpr, error) {
	var toks []string
	for rest := s; strings.TrimSpace(rest) != ""; {
		m := tokenRE.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("cannot read %q", rest)
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	p := &fakeParser{toks: toks}
	x, err := p.or()
	if err == nil && p.i != len(toks) {
		err = fmt.Errorf("unexpected %q", toks[p.i])
	}
	return x, err
}

type fakeParser struct {
	toks []string
	i    int
}

func (p *fakeParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *fakeParser) next() string { t := p.peek(); p.i++; return t }

func (p *fakeParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("want %q, got %q", t, got)
	}
	return nil
}

func (p *fakeParser) or() (fakeExpr, error) {
	var xs fakeOr
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if p.peek() != "or" {
			break
		}
		p.next()
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return xs, nil
}

func (p *fakeParser) and() (fakeExpr, error) {
	var xs fakeAnd
	for {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if p.peek() != "and" {
			break
		}
		p.next()
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return xs, nil
}

func (p *fakeParser) unary() (fakeExpr, error) {
	switch t := p.peek(); t {
	case "not":
		p.next()
		x, err := p.unary()
		return fakeNot{x}, err
	case "(":
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		return x, p.expect(")")
	case "isIpInSubnet":
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		field := p.next()
		if err := p.expect(","); err != nil {
			return nil, err
		}
		cidr, err := strconv.Unquote(p.next())
		if err != nil {
			return nil, err
		}
		return fakeCIDR{field, cidr}, p.expect(")")
	}
	l := p.next()
	switch op := p.next(); op {
	case "=", ">=", "<=":
		return fakeCmp{op, l, p.next()}, nil
	case "in":
		if err := p.expect("["); err != nil {
			return nil, err
		}
		in := fakeIn{field: l}
		for {
			in.vals = append(in.vals, p.next())
			if t := p.next(); t == "]" {
				return in, nil
			} else if t != "," {
				return nil, fmt.Errorf("want , or ], got %q", t)
			}
		}
	default:
		return nil, fmt.Errorf("want a comparison after %q, got %q", l, op)
	}
}

// TestFakeInsightsReadsQueries checks the fake itself on a hand-computed
// case, so the push-down tests built on it mean something.
func TestFakeInsightsReadsQueries(t *testing.T) {
	evs := []cwltypes.FilteredLogEvent{
		{LogStreamName: aws.String("eni-a-all"), Timestamp: aws.Int64(60_000), Message: aws.String("eni-a 10.0.0.1 52.1.1.1 17 4500 60 119 ACCEPT")},
		{LogStreamName: aws.String("eni-a-all"), Timestamp: aws.Int64(61_000), Message: aws.String("eni-a 10.0.0.1 52.1.1.1 17 4500 61 119 ACCEPT")},
		{LogStreamName: aws.String("eni-a-all"), Timestamp: aws.Int64(62_000), Message: aws.String("eni-a 10.0.0.1 8.8.8.8 6 443 62 130 REJECT")},
		{LogStreamName: aws.String("eni-b-all"), Timestamp: aws.Int64(63_000), Message: aws.String("eni-b 10.0.0.2 52.1.1.1 17 4500 63 119 ACCEPT")},
		{LogStreamName: aws.String("eni-a-all"), Timestamp: aws.Int64(64_000), Message: aws.String("malformed")},
	}
	prog, err := compileQuery(strings.Join([]string{
		`parse @message "* * * * * * * *" as i, s, d, p, port, start, end, act`,
		`| filter @logStream in ["eni-a-all"]`,
		`| filter toMillis(@timestamp) >= 60000 and toMillis(@timestamp) <= 63000`,
		`| filter (p = 17 and port in [500, 4500]) or not (isIpInSubnet(d, "52.0.0.0/8") or act = "ACCEPT")`,
		`| fields floor(start / 60) * 60 as minute`,
		`| stats count(*) as n, sum(port) as ports, max(end) as last by i, minute, act`,
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range prog.run(evs) {
		var parts []string
		for _, f := range row {
			parts = append(parts, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
		}
		got[strings.Join(parts, " ")] = true
	}
	want := map[string]bool{
		"i=eni-a minute=60 act=ACCEPT n=2 ports=9000 last=119": true,
		"i=eni-a minute=60 act=REJECT n=1 ports=443 last=130":  true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// Replaying makes the collector poll the fake without waiting.
func (f *fakeInsights) Replaying() bool { return true }

// Replaying makes the collector poll without waiting.
func (r *recorder) Replaying() bool { return true }
