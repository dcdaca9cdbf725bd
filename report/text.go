package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// TextOptions say how the terminal report is laid out.
type TextOptions struct {
	// Width is the number of columns to fit; 0 means 100. Widths below 60
	// are taken as 60.
	Width int
	// Color turns on colours and bold text, with a fixed 256-colour
	// profile so the same result always renders the same bytes. Without
	// it the output holds no escape sequence at all. The caller decides
	// (off when stdout is not a terminal or NO_COLOR is set).
	Color bool
	// TZ, when set and not UTC, adds the local clock time next to UTC
	// times.
	TZ *time.Location
}

const (
	defaultWidth = 100
	minWidth     = 60
)

// Text writes the terminal report: the incident, the verdict in a box, the
// timeline, the ranked candidates, the scope as a tree, and the evidence
// (traffic, metrics, tunnels, coverage, API calls).
func Text(w io.Writer, r *correlate.Result, opt TextOptions) error {
	if r == nil || r.Evidence == nil {
		return errors.New("report: no result to render")
	}
	width := opt.Width
	if width == 0 {
		width = defaultWidth
	}
	width = max(width, minWidth)
	// Without colour the renderer is not even bound to w: lipgloss would
	// otherwise query a terminal for its background colour.
	var rd *lipgloss.Renderer
	if opt.Color {
		rd = lipgloss.NewRenderer(w, termenv.WithProfile(termenv.ANSI256))
		rd.SetColorProfile(termenv.ANSI256)
	} else {
		rd = lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii))
		rd.SetColorProfile(termenv.Ascii)
	}
	t := &textReport{r: r, ev: r.Evidence, st: newStyles(rd), width: width, tz: localZone(opt.TZ)}
	t.header()
	t.verdict()
	t.timeline()
	t.candidates()
	t.scope()
	t.evidence()
	_, err := io.WriteString(w, t.out.String())
	return err
}

type textReport struct {
	out   strings.Builder
	r     *correlate.Result
	ev    *audit.Evidence
	st    *styles
	width int
	tz    *time.Location // nil unless a zone other than UTC was asked for
}

// ---- sections ----

func (t *textReport) header() {
	st := t.st
	inc := t.ev.Incident
	a := inc.Alarm
	t.para("", "", sg(&st.Title, a.Name))
	if a.Description != "" {
		t.para("", "", sg(&st.Muted, a.Description))
	}
	const lw = 11
	kv := func(label string, segs ...seg) {
		t.para("  "+st.Label.Render(padRight(label, lw-2)), strings.Repeat(" ", lw), segs...)
	}
	kv("metric", pl(alarmCondition(a)))
	if acct := joinNonEmpty(" · ", t.ev.Account, t.ev.Region); acct != "" {
		kv("account", pl(acct))
	}
	im := t.r.Impact
	ref := im.BreachStartedAt
	segs := []seg{sg(&st.Bold, fmtStamp(im.BreachStartedAt)), pl(t.zoneNote(im.BreachStartedAt, ref)), pl(" breach → "),
		sg(&st.Bold, t.when(im.FiredAt, ref)), pl(t.zoneNote(im.FiredAt, ref)),
		pl(" alarm, detected after " + fmtDur(im.TimeToDetect) + " → ")}
	switch {
	case im.RecoveredAt != nil:
		segs = append(segs, sg(&st.Bold, t.when(*im.RecoveredAt, ref)), pl(t.zoneNote(*im.RecoveredAt, ref)),
			pl(" recovered, down "+fmtDur(im.Duration)))
	default:
		segs = append(segs, sg(&st.Alert, "ongoing"),
			pl(": down "+fmtDur(im.Duration)+" when the evidence was collected at "+t.when(t.ev.CollectedAt, ref)))
	}
	kv("impact", segs...)
	basis := prefixed("breach start from the ", inc.Episode.BreachBasis)
	if ep := joinNonEmpty("; ", inc.Selection, basis); ep != "" {
		kv("episode", sg(&st.Muted, ep))
	}
	if t.ev.Interrupted != "" {
		kv("partial", sg(&st.Alert, "the run was "+t.ev.Interrupted+" before every source was read"),
			pl(": the verdict rests on the evidence read before then; see Coverage"))
	}
	w := t.ev.Window
	if !w.Start.IsZero() {
		kv("window", sg(&st.Muted, "changes, traffic and metrics read from "+fmtStamp(w.Start)+" to "+t.when(w.End, w.Start)))
	}
}

func (t *textReport) verdict() {
	st := t.st
	v := t.r.Verdict
	inner := t.width - 4 // border and padding
	var b strings.Builder
	lines := func(first, rest string, segs ...seg) {
		for _, l := range layout(inner, first, rest, segs) {
			b.WriteString(t.render(l))
			b.WriteByte('\n')
		}
	}
	status := "INCONCLUSIVE"
	if v.Status == correlate.StatusRootCause {
		status = "ROOT CAUSE"
	} else if v.Status != correlate.StatusInconclusive {
		status = strings.ToUpper(v.Status)
	}
	lines("", "", sg(st.Status(v.Status, v.Confidence), status), sg(&st.Muted, " · "), pl(v.Confidence+" confidence"))
	b.WriteByte('\n')
	lines("", "", pl(v.Summary))
	if c := v.Cause; c != nil {
		b.WriteByte('\n')
		ref := joinNonEmpty(" · ", "CloudTrail event "+c.Change.EventID, c.Change.Actor.ARN,
			prefixed("from ", c.Change.SourceIP), prefixed("user agent ", c.Change.UserAgent))
		lines("", "", sg(&st.Muted, ref))
	}
	if len(v.Chain) > 0 {
		b.WriteByte('\n')
		lines("", "", sg(&st.Heading, "Causal chain"))
		nw := len(strconv.Itoa(len(v.Chain)))
		for i, step := range v.Chain {
			n := fmt.Sprintf("%*d. ", nw+1, i+1)
			lines(st.Muted.Render(n), strings.Repeat(" ", len(n)), pl(step))
		}
	}
	if len(v.ConfidenceWhy) > 0 {
		b.WriteByte('\n')
		lines("", "", sg(&st.Heading, "Confidence"))
		for _, why := range v.ConfidenceWhy {
			lines("  • ", "    ", pl(why))
		}
	}
	box := st.Box(v.Status, v.Confidence).Width(t.width - 2)
	t.blank()
	t.raw(box.Render(strings.TrimSuffix(b.String(), "\n")))
}

func (t *textReport) timeline() {
	st := t.st
	es := t.r.Timeline
	note := "UTC"
	if t.tz != nil && len(es) > 0 {
		note = "UTC and " + zoneAbbrev(es[0].Time, t.tz)
	}
	t.section("Timeline", note)
	if len(es) == 0 {
		t.para("  ", "  ", sg(&st.Muted, "no events"))
		return
	}
	// Columns: time, local time (with TZ), role, kind, what [source].
	head := padRight("UTC", 8) + "  "
	if t.tz != nil {
		head += padRight(zoneAbbrev(es[0].Time, t.tz), 5) + "  "
	}
	head += padRight("ROLE", 7) + "  " + padRight("KIND", 7) + "  WHAT [SOURCE]"
	t.para("", "", sg(&st.Muted, head))
	day := ""
	for _, e := range es {
		if d := e.Time.UTC().Format(time.DateOnly); d != day {
			t.para("", "", sg(&st.Muted, "── "+d+" ──"))
			day = d
		}
		prefix := e.Time.UTC().Format(time.TimeOnly) + "  "
		if t.tz != nil {
			prefix += padRight(e.Time.In(t.tz).Format("15:04"), 5) + "  "
		}
		role := Sanitize(e.Role)
		prefix += st.Role(e.Role).Render(padRight(strings.ToUpper(role), 7)) + "  " +
			st.Kind(e.Kind).Render(padRight(Sanitize(e.Kind), 7)) + "  "
		segs := []seg{pl(e.Summary)}
		if e.Role == correlate.RoleCause {
			segs = []seg{sg(&st.Bold, e.Summary)}
		}
		if e.Source != "" {
			segs = append(segs, sg(&st.Muted, " ["+e.Source+"]"))
		}
		t.para(prefix, strings.Repeat(" ", ansi.StringWidth(prefix)), segs...)
	}
}

func (t *textReport) candidates() {
	st := t.st
	hs := t.r.Hypotheses
	note := fmt.Sprintf("%d ranked", len(hs))
	if t.r.Unrelated > 0 {
		note += fmt.Sprintf("; %d other changes in the window touch nothing on the path", t.r.Unrelated)
	}
	t.section("Candidates", note)
	if len(hs) == 0 {
		t.para("  ", "  ", sg(&st.Muted, "no change in CloudTrail touches the path"))
		return
	}
	causeID := ""
	if c := t.r.Verdict.Cause; c != nil {
		causeID = c.Change.EventID
	}
	ref := t.r.Impact.BreachStartedAt
	for i, h := range hs {
		if i > 0 {
			t.blank()
		}
		c := h.Change
		rank := fmt.Sprintf("#%d", h.Rank)
		first := []seg{sg(&st.Bold, rank), pl(fmt.Sprintf("  %.2f  ", h.Score)), sg(&st.Bold, c.EventName),
			pl("  " + t.when(c.Time, ref)), pl(t.zoneNote(c.Time, ref))}
		if causeID != "" && c.EventID == causeID {
			first = append(first, pl("  "), sg(st.Role(correlate.RoleCause), "← root cause"))
		}
		t.para("  ", "      ", first...)
		const ind = "      "
		actor := "by " + nonEmpty(c.Actor.Name, "an unknown actor")
		if c.Actor.Type != "" {
			actor += " (" + c.Actor.Type + ")"
		}
		t.para(ind, ind, sg(&st.Muted, joinNonEmpty(" · ", actor, c.Via, c.SourceIP, c.EventSource)))
		t.para(ind, ind, sg(&st.Muted, fmt.Sprintf("relation %.2f · timing %.2f · corroboration %.2f · event %s",
			h.Relation, h.Timing, h.Corroboration, c.EventID)))
		if c.Failed() {
			t.para(ind, ind, sg(&st.WhyNot, "failed: "+joinNonEmpty(": ", c.ErrorCode, c.ErrorMessage)))
		}
		if h.Mechanism != "" {
			t.para(ind, ind, pl(h.Mechanism))
		}
		for _, why := range h.Why {
			t.para(ind+st.Why.Render("✓")+" ", ind+"  ", pl(why))
		}
		for _, why := range h.WhyNot {
			t.para(ind+st.WhyNot.Render("✗")+" ", ind+"  ", pl(why))
		}
	}
}

func (t *textReport) scope() {
	st := t.st
	res := t.ev.Scope.Resources
	t.section("Scope", fmt.Sprintf("%d resources on the path", len(res)))
	if len(res) == 0 {
		t.para("  ", "  ", sg(&st.Muted, "nothing was found on the path"))
		return
	}
	for _, n := range scopeTree(res) {
		r := n.res
		label := []seg{sg(&st.Bold, r.ID), sg(&st.Muted, " "+r.Type)}
		if r.Name != "" {
			label = append(label, pl(" “"+r.Name+"”"))
		}
		if r.State != "" {
			label = append(label, sg(&st.Muted, " · "), pl(r.State))
		}
		lead, cont := "  "+n.prefix+n.branch, "  "+n.prefix+n.stem
		t.para(st.Muted.Render(lead), st.Muted.Render(cont+n.down), label...)
		if r.Relation != "" {
			t.para(st.Muted.Render(cont+n.down), st.Muted.Render(cont+n.down), sg(&st.Muted, r.Relation))
		}
	}
}

func (t *textReport) evidence() {
	st := t.st
	r := t.r
	t.section("Evidence", "")
	ref := r.Impact.BreachStartedAt

	if len(r.Gaps) > 0 {
		t.sub("Traffic that stopped (flow logs)")
		rows := [][]seg{}
		for _, g := range r.Gaps {
			resumed := "no"
			if g.ResumedAt != nil {
				resumed = t.when(*g.ResumedAt, ref)
			}
			rows = append(rows, []seg{pl(t.when(g.LastSeen, ref) + " ±" + fmtDur(g.Uncertainty)), pl(g.Key.Interface),
				pl(flowText(g.Key)), pl(fmtNum(g.BaselinePerMin)), pl(resumed), pl(g.LogGroup)})
		}
		t.table([]column{{title: "LAST SEEN"}, {title: "INTERFACE"}, {title: "FLOW", flex: true}, {title: "REC/MIN", right: true},
			{title: "RESUMED"}, {title: "LOG GROUP", optional: true}}, rows)
	}
	if len(r.Rejects) > 0 {
		t.sub("REJECTs that appeared (flow logs)")
		rows := [][]seg{}
		for _, o := range r.Rejects {
			rows = append(rows, []seg{pl(t.when(o.FirstAt, ref)), pl(o.Key.Interface), pl(flowText(o.Key)),
				pl(strconv.FormatInt(o.Records, 10)), pl(o.LogGroup)})
		}
		t.table([]column{{title: "FIRST"}, {title: "INTERFACE"}, {title: "FLOW", flex: true}, {title: "RECORDS", right: true},
			{title: "LOG GROUP", optional: true}}, rows)
	}
	if len(r.Silences) > 0 {
		t.sub("Interfaces silent (NODATA)")
		rows := [][]seg{}
		for _, s := range r.Silences {
			rows = append(rows, []seg{pl(s.Interface), pl(t.when(s.From, ref)), pl(t.when(s.To, ref)), pl(s.LogGroup)})
		}
		t.table([]column{{title: "INTERFACE"}, {title: "FROM"}, {title: "TO"}, {title: "LOG GROUP", flex: true, optional: true}}, rows)
	}
	if len(r.Gaps)+len(r.Rejects)+len(r.Silences) == 0 {
		t.sub("Traffic (flow logs)")
		t.para("    ", "    ", sg(&st.Muted, "no flow stopped, turned to REJECT or went silent around the breach"))
	}

	t.sub("Metric shifts (CloudWatch)")
	if len(r.Shifts) == 0 {
		t.para("    ", "    ", sg(&st.Muted, "no metric shifted around the breach"))
	} else {
		rows := [][]seg{}
		for _, s := range r.Shifts {
			after := fmtNum(s.After)
			if s.Stopped {
				after = "stopped reporting"
			}
			rows = append(rows, []seg{pl(t.when(s.At, ref)), pl(s.Label), pl(s.Direction), pl(fmtNum(s.Before)), pl(after)})
		}
		t.table([]column{{title: "AT"}, {title: "SERIES", flex: true}, {title: "SHIFT"}, {title: "BEFORE", right: true},
			{title: "AFTER", flex: true}}, rows)
	}

	if tuns := t.ev.Scope.Tunnels; len(tuns) > 0 {
		t.sub("Tunnel telemetry (VgwTelemetry)")
		rows := [][]seg{}
		for _, tu := range tuns {
			since := "—"
			if !tu.LastStatusChange.IsZero() {
				since = t.when(tu.LastStatusChange, ref)
			}
			rows = append(rows, []seg{pl(tu.OutsideIP), pl(tu.VpnID), pl(tu.Status), pl(since), pl(tu.StatusMessage),
				pl(strconv.Itoa(tu.AcceptedRoutes))})
		}
		t.table([]column{{title: "TUNNEL"}, {title: "VPN"}, {title: "STATUS"}, {title: "SINCE"}, {title: "MESSAGE", flex: true},
			{title: "ROUTES", right: true}}, rows)
	}

	t.sub("Coverage")
	if len(t.ev.Coverage) == 0 {
		t.para("    ", "    ", sg(&st.Muted, "no coverage recorded"))
	} else {
		rows := [][]seg{}
		for _, c := range t.ev.Coverage {
			rows = append(rows, []seg{pl(c.Source), sg(st.Coverage(c.Status), c.Status), pl(c.Detail)})
		}
		t.table([]column{{title: "SOURCE"}, {title: "STATUS"}, {title: "DETAIL", flex: true}}, rows)
	}

	t.sub("API calls")
	if len(t.ev.Calls) == 0 {
		t.para("    ", "    ", sg(&st.Muted, "none recorded"))
		return
	}
	sw := 0
	for _, c := range t.ev.Calls {
		sw = max(sw, ansi.StringWidth(Sanitize(c.Service)))
	}
	for i := 0; i < len(t.ev.Calls); {
		svc := t.ev.Calls[i].Service
		var segs []seg
		for ; i < len(t.ev.Calls) && t.ev.Calls[i].Service == svc; i++ {
			c := t.ev.Calls[i]
			sep := ""
			if len(segs) > 0 {
				sep = ", "
			}
			segs = append(segs, pl(sep+c.Operation), sg(&st.Muted, fmt.Sprintf(" ×%d", c.Count)))
		}
		lead := "    " + padRight(Sanitize(svc), sw) + "  "
		t.para(lead, strings.Repeat(" ", ansi.StringWidth(lead)), segs...)
	}
}

// ---- layout primitives ----

// seg is a run of text in one style. Its text is sanitized when it is laid
// out, so evidence strings can be passed as they are.
type seg struct {
	s  string
	st *lipgloss.Style // nil: plain
}

func pl(s string) seg                     { return seg{s: s} }
func sg(st *lipgloss.Style, s string) seg { return seg{s: s, st: st} }

// unit is what wrapping never breaks (unless it is wider than a line): a
// word, or words of different styles written without a space between.
// gap is the number of spaces before it, kept inside a line and dropped at
// a line's start.
type unit struct {
	gap  int
	segs []seg
}

// layout word-wraps segs into lines: the first line starts with first,
// the others with rest (both already rendered; their display width
// counts). It returns each line as its prefix and its units.
func layout(width int, first, rest string, segs []seg) []line {
	var units []unit
	pending := 0 // spaces seen since the last token
	for _, s := range segs {
		text := Sanitize(s.s)
		for len(text) > 0 {
			if text[0] == ' ' {
				n := len(text) - len(strings.TrimLeft(text, " "))
				pending += n
				text = text[n:]
				continue
			}
			end := strings.IndexByte(text, ' ')
			if end < 0 {
				end = len(text)
			}
			tok := seg{s: text[:end], st: s.st}
			text = text[end:]
			if pending == 0 && len(units) > 0 {
				last := &units[len(units)-1]
				last.segs = append(last.segs, tok)
			} else {
				units = append(units, unit{gap: pending, segs: []seg{tok}})
			}
			pending = 0
		}
	}
	var lines []line
	cur := line{prefix: first}
	avail := width - ansi.StringWidth(first)
	used := 0
	flush := func() {
		lines = append(lines, cur)
		cur = line{prefix: rest}
		avail = width - ansi.StringWidth(rest)
		used = 0
	}
	for _, u := range units {
		uw := unitWidth(u)
		if used > 0 && used+u.gap+uw > avail {
			flush()
		}
		for uw > avail && avail > 0 {
			// Wider than a whole line (which is empty now): cut it.
			head, tail := cutUnit(u, avail)
			head.gap = 0
			cur.units = append(cur.units, head)
			flush()
			u, uw = tail, unitWidth(tail)
		}
		if used == 0 {
			u.gap = 0
		}
		cur.units = append(cur.units, u)
		used += u.gap + uw
	}
	if used > 0 || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// line is one laid-out line: a rendered prefix and the units after it.
type line struct {
	prefix string
	units  []unit
}

func unitWidth(u unit) int {
	n := 0
	for _, s := range u.segs {
		n += ansi.StringWidth(s.s)
	}
	return n
}

// cutUnit splits u after n columns.
func cutUnit(u unit, n int) (unit, unit) {
	head, tail := unit{gap: u.gap}, unit{}
	for _, s := range u.segs {
		w := ansi.StringWidth(s.s)
		switch {
		case n <= 0:
			tail.segs = append(tail.segs, s)
		case w <= n:
			head.segs = append(head.segs, s)
			n -= w
		default:
			a, b := cutString(s.s, n)
			head.segs = append(head.segs, seg{s: a, st: s.st})
			tail.segs = append(tail.segs, seg{s: b, st: s.st})
			n = 0
		}
	}
	return head, tail
}

// cutString splits s after at most n columns, after a '/', '-', ':', '.',
// '_', ',' or '@' in the second half of that span when there is one.
func cutString(s string, n int) (string, string) {
	w, end, soft := 0, len(s), -1
	for i, r := range s {
		rw := ansi.StringWidth(string(r))
		if w+rw > n {
			end = i
			break
		}
		w += rw
		if strings.ContainsRune("/-:._,@", r) && w >= n/2 {
			soft = i + len(string(r))
		}
	}
	switch {
	case end == len(s):
		return s, ""
	case soft > 0:
		return s[:soft], s[soft:]
	case end == 0: // one rune wider than the space: take it anyway
		_, size := utf8.DecodeRuneInString(s)
		return s[:size], s[size:]
	}
	return s[:end], s[end:]
}

// longestWord is the width of the widest word of s.
func longestWord(s string) int {
	n := 0
	for _, w := range strings.Fields(Sanitize(s)) {
		n = max(n, ansi.StringWidth(w))
	}
	return n
}

// render turns a laid-out line into a string, styling its segments: runs
// of the same style (with the spaces between them) are rendered at once.
func (t *textReport) render(l line) string {
	var b, run strings.Builder
	var cur *lipgloss.Style
	flush := func() {
		if run.Len() > 0 {
			if cur != nil {
				b.WriteString(cur.Render(run.String()))
			} else {
				b.WriteString(run.String())
			}
			run.Reset()
		}
	}
	b.WriteString(l.prefix)
	for _, u := range l.units {
		for k, s := range u.segs {
			if s.st != cur {
				flush()
				cur = s.st
			}
			if k == 0 && u.gap > 0 {
				if cur != nil && run.Len() == 0 {
					b.WriteString(strings.Repeat(" ", u.gap))
				} else {
					run.WriteString(strings.Repeat(" ", u.gap))
				}
			}
			run.WriteString(s.s)
		}
	}
	flush()
	return strings.TrimRightFunc(b.String(), unicode.IsSpace)
}

// para writes segs word-wrapped to the report's width.
func (t *textReport) para(first, rest string, segs ...seg) {
	for _, l := range layout(t.width, first, rest, segs) {
		t.out.WriteString(t.render(l))
		t.out.WriteByte('\n')
	}
}

func (t *textReport) raw(s string) {
	for _, l := range strings.Split(s, "\n") {
		t.out.WriteString(strings.TrimRightFunc(l, unicode.IsSpace))
		t.out.WriteByte('\n')
	}
}

func (t *textReport) blank() { t.out.WriteByte('\n') }

func (t *textReport) section(title, note string) {
	t.blank()
	segs := []seg{sg(&t.st.Heading, strings.ToUpper(title))}
	if note != "" {
		segs = append(segs, sg(&t.st.Muted, "  ("+note+")"))
	}
	t.para("", "", segs...)
}

func (t *textReport) sub(title string) {
	t.para("  ", "  ", sg(&t.st.Bold, title))
}

// column is one column of a table.
type column struct {
	title string
	right bool // right-aligned
	flex  bool // may be narrowed, its cells wrapped, to fit the width
	// optional columns are left out when the table does not fit the
	// width at its natural size.
	optional bool
}

// table writes rows under column titles, indented by four spaces. When the
// natural widths do not fit, optional columns are left out, then the
// widest flexible column gives way first (down to its longest word, within
// 10 to 24 columns) and its cells wrap.
func (t *textReport) table(cols []column, rows [][]seg) {
	const indent, gap = 4, 2
	natural := func(keep []int) ([]int, int) {
		ws := make([]int, len(keep))
		total := indent + gap*(len(keep)-1)
		for k, i := range keep {
			ws[k] = ansi.StringWidth(cols[i].title)
			for _, row := range rows {
				if i < len(row) {
					ws[k] = max(ws[k], ansi.StringWidth(Sanitize(row[i].s)))
				}
			}
			total += ws[k]
		}
		return ws, total
	}
	var keep []int
	for i := range cols {
		keep = append(keep, i)
	}
	widths, total := natural(keep)
	if total > t.width {
		var req []int
		for i, c := range cols {
			if !c.optional {
				req = append(req, i)
			}
		}
		if len(req) < len(keep) {
			keep = req
			widths, total = natural(keep)
		}
	}
	minw := make([]int, len(keep))
	for k, i := range keep {
		minw[k] = widths[k]
		if cols[i].flex {
			m := ansi.StringWidth(cols[i].title)
			for _, row := range rows {
				if i < len(row) {
					m = max(m, longestWord(row[i].s))
				}
			}
			minw[k] = min(widths[k], max(10, min(24, m)))
		}
	}
	for total > t.width {
		widest := -1
		for k := range keep {
			if widths[k] > minw[k] && (widest < 0 || widths[k] > widths[widest]) {
				widest = k
			}
		}
		if widest < 0 {
			break
		}
		cut := min(total-t.width, widths[widest]-minw[widest])
		widths[widest] -= cut
		total -= cut
	}
	if total > t.width {
		t.records(cols, rows)
		return
	}
	write := func(cells [][]line, styleHead bool) {
		height := 0
		for _, c := range cells {
			height = max(height, len(c))
		}
		for ln := 0; ln < height; ln++ {
			var b strings.Builder
			b.WriteString(strings.Repeat(" ", indent))
			for k, c := range cells {
				if k > 0 {
					b.WriteString(strings.Repeat(" ", gap))
				}
				text, w := "", 0
				if ln < len(c) {
					text = t.render(c[ln])
					w = ansi.StringWidth(text)
				}
				if styleHead && text != "" {
					text = t.st.Muted.Render(text)
				}
				pad := strings.Repeat(" ", max(0, widths[k]-w))
				if cols[keep[k]].right {
					b.WriteString(pad + text)
				} else {
					b.WriteString(text + pad)
				}
			}
			t.out.WriteString(strings.TrimRightFunc(b.String(), unicode.IsSpace))
			t.out.WriteByte('\n')
		}
	}
	head := make([][]line, len(keep))
	for k, i := range keep {
		head[k] = layout(widths[k], "", "", []seg{pl(cols[i].title)})
	}
	write(head, true)
	for _, row := range rows {
		cells := make([][]line, len(keep))
		for k, i := range keep {
			if i < len(row) {
				cells[k] = layout(widths[k], "", "", []seg{row[i]})
			}
		}
		write(cells, false)
	}
}

// records is the narrow form of a table that does not fit: one wrapped
// paragraph per row, its first cell then "TITLE value" for the others.
func (t *textReport) records(cols []column, rows [][]seg) {
	const indent = "    "
	for _, row := range rows {
		var segs []seg
		for i, cell := range row {
			if i >= len(cols) || Sanitize(cell.s) == "" {
				continue
			}
			if i > 0 {
				if len(segs) > 0 {
					segs = append(segs, sg(&t.st.Muted, " ·"))
				}
				segs = append(segs, sg(&t.st.Muted, " "+strings.ToLower(cols[i].title)+" "))
			}
			segs = append(segs, cell)
		}
		t.para(indent, indent+"  ", segs...)
	}
}

// ---- scope tree ----

// treeNode is one resource placed in the scope tree.
type treeNode struct {
	res audit.Resource
	// prefix is the guide of the ancestors, branch the connector to this
	// node, stem what continues below it at its own level, down the guide
	// to its children (under its label).
	prefix, branch, stem, down string
}

// scopeTree orders the resources as a tree along their Parent links. A
// resource whose parent is "" or not in scope is a root; children keep
// the order they were found in.
func scopeTree(rs []audit.Resource) []treeNode {
	known := map[string]bool{}
	for _, r := range rs {
		known[r.ID] = true
	}
	children := map[string][]int{}
	var roots []int
	for i, r := range rs {
		if r.Parent == "" || r.Parent == r.ID || !known[r.Parent] {
			roots = append(roots, i)
		} else {
			children[r.Parent] = append(children[r.Parent], i)
		}
	}
	var out []treeNode
	seen := map[int]bool{}
	var walk func(i int, prefix string, root, last bool)
	walk = func(i int, prefix string, root, last bool) {
		if seen[i] {
			return
		}
		seen[i] = true
		n := treeNode{res: rs[i], prefix: prefix}
		switch {
		case root:
		case last:
			n.branch, n.stem = "└─ ", "   "
		default:
			n.branch, n.stem = "├─ ", "│  "
		}
		var kids []int
		for _, c := range children[rs[i].ID] {
			if !seen[c] {
				kids = append(kids, c)
			}
		}
		if len(kids) > 0 {
			n.down = "│ "
		} else {
			n.down = "  "
		}
		out = append(out, n)
		for k, c := range kids {
			walk(c, prefix+n.stem, false, k == len(kids)-1)
		}
	}
	for _, i := range roots {
		walk(i, "", true, true)
	}
	// Resources only reachable through a cycle: shown as roots.
	for i := range rs {
		if !seen[i] {
			walk(i, "", true, true)
		}
	}
	return out
}

// ---- formatting shared by the renderers ----

func localZone(loc *time.Location) *time.Location {
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return nil
	}
	return loc
}

// fmtStamp is a full UTC timestamp: 2026-10-14 02:33:00 UTC.
func fmtStamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

// when is t's UTC clock time, with its date when that differs from ref's.
func (t *textReport) when(x, ref time.Time) string { return clockFrom(x, ref) }

func clockFrom(x, ref time.Time) string {
	if x.UTC().Format(time.DateOnly) != ref.UTC().Format(time.DateOnly) {
		return x.UTC().Format("2006-01-02 15:04:05")
	}
	return x.UTC().Format(time.TimeOnly)
}

// zoneNote is " (11:33 JST)" when a local zone was asked for, with the
// local date when it differs from ref's UTC date (the date the reader
// sees next to the UTC time).
func (t *textReport) zoneNote(x, ref time.Time) string {
	if t.tz == nil {
		return ""
	}
	return " (" + zoneClock(x, ref.UTC().Format(time.DateOnly), t.tz) + ")"
}

// zoneClock is x's clock time in loc ("11:33 JST"), with its date when
// that is not day (a 2006-01-02 date).
func zoneClock(x time.Time, day string, loc *time.Location) string {
	l := x.In(loc)
	if l.Format(time.DateOnly) != day {
		return l.Format("2006-01-02 15:04 MST")
	}
	return l.Format("15:04 MST")
}

func zoneAbbrev(x time.Time, loc *time.Location) string { return x.In(loc).Format("MST") }

// fmtDur says a duration the way an engineer does: 45s, 3m, 1m13s, 1h37m,
// 2d03h.
func fmtDur(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	d = d.Round(time.Second)
	s := int64(d / time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%s%ds", neg, s)
	case d < time.Hour:
		if s%60 != 0 {
			return fmt.Sprintf("%s%dm%02ds", neg, s/60, s%60)
		}
		return fmt.Sprintf("%s%dm", neg, s/60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%s%dh%02dm", neg, s/3600, s/60%60)
	}
	return fmt.Sprintf("%s%dd%02dh", neg, s/86400, s/3600%24)
}

// fmtNum formats a metric value or rate: whole thousands with separators,
// smaller values to four significant digits, NaN as "no data".
func fmtNum(f float64) string {
	switch {
	case math.IsNaN(f):
		return "no data"
	case math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'f', -1, 64)
	case math.Abs(f) >= 1000:
		s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// alarmCondition is `AWS/VPN TunnelState{VpnId=…} Maximum/60s < 1`.
func alarmCondition(a audit.Alarm) string {
	return a.Metric.String() + " " + a.ComparisonSymbol() + " " + strconv.FormatFloat(a.Threshold, 'g', -1, 64)
}

// flowText names a flow series: "ipsec egress 13.113.20.31 ACCEPT".
func flowText(k audit.FlowKey) string {
	return joinNonEmpty(" ", k.Class, k.Direction, k.Peer, k.Action)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// padRight pads s with spaces to n columns.
func padRight(s string, n int) string {
	if w := ansi.StringWidth(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
