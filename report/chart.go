package report

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// ChartOptions say how the SVG chart is laid out.
type ChartOptions struct {
	// Width is the image's width in pixels; 0 means 1000. Widths below
	// 600 are taken as 600.
	Width int
	// Height is the image's height in pixels; 0 means as tall as the
	// panels need (about 180 pixels each). With a height, the panels share
	// what the title, labels and axis leave, but never get less than 60
	// pixels each: the image then grows past Height.
	Height int
	// TZ, when set and not UTC, adds a second row of tick labels with the
	// clock time in that zone.
	TZ *time.Location
}

// Chart writes an SVG image of the key metrics around the incident, for a
// browser or a postmortem document: panels stacked on one time axis
// (tunnel state, tunnel data, the appliance's network, Transit Gateway
// drops; only those with data), the breach shaded, the alarm and the cause
// as markers, and the other changes of the timeline as thin staggered
// markers. The output is hand-written XML, the same bytes for the same
// result. Every evidence string is sanitized (Sanitize) and XML-escaped,
// and is only ever written as character data, never into an attribute.
//
// Like the other renderers, Chart computes nothing: it picks series from
// the evidence by namespace and name and lays out what Result holds. Sums
// whose period is not one minute are drawn per minute (divided by the
// period in minutes) so the series of one panel share a scale; the legend
// says so.
func Chart(w io.Writer, r *correlate.Result, opt ChartOptions) error {
	if r == nil || r.Evidence == nil {
		return errors.New("report: no result to render")
	}
	c := newChart(r, opt)
	c.render()
	_, err := io.WriteString(w, c.b.String())
	return err
}

// Colours on a white background. They keep the meaning of the terminal
// styles (styles.go, the Light variants): cause red, effect amber, context
// grey, the verdict by status and confidence.
const (
	svgCause        = "#B3261E"
	svgEffect       = "#8A5300"
	svgContext      = "#6E6E6E"
	svgOK           = "#2E7D32"
	svgInconclusive = "#5E35B1"
	svgText         = "#1A1A1A"
	svgMuted        = "#5F5F5F"
	svgGrid         = "#E6E6E6"
	svgAxis         = "#9E9E9E"
	svgBreachFill   = "#FFB454" // the breach: amber, an effect
	svgBreachBar    = "#FFE3B8"
)

// Series colours and dash patterns, away from the markers' red, amber and
// grey; the dashes tell the series apart without colour.
var (
	svgSeriesColors = []string{"#1F4E79", "#00897B", "#7B3FA0", "#0B6E99", "#6D4C41", "#37474F"}
	svgSeriesDashes = []string{"", "7 3", "3 2", "10 3 2 3", "1 2", "12 4"}
)

const (
	chartDefaultWidth = 1000
	chartMinWidth     = 600
	chartPanelHeight  = 120 // plot height of a panel by default
	chartMinPanel     = 60
	chartMaxLanes     = 5

	// Text sizes, and the advance of a monospace character (0.61 em covers
	// DejaVu Sans Mono, Menlo, Consolas and Courier).
	chartFSTitle   = 18
	chartFSVerdict = 13
	chartFSSmall   = 11
	chartFSCause   = 12
	chartMonoEm    = 0.61

	chartLaneHeight = 15
	chartRowHeight  = 15
)

const (
	chartFontSans = `system-ui, -apple-system, "Segoe UI", Helvetica, Arial, "DejaVu Sans", sans-serif`
	chartFontMono = `"DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace`
)

// panel kinds
const (
	chartState = iota
	chartBytesKind
	chartCountKind
)

// chartPanels are the panels, top to bottom, and the series each takes.
var chartPanels = []struct {
	namespace string
	names     []string
	kind      int
	title     string
}{
	{"AWS/VPN", []string{"TunnelState"}, chartState, "Tunnel state · AWS/VPN TunnelState · 1 = up, 0 = down"},
	{"AWS/VPN", []string{"TunnelDataIn", "TunnelDataOut"}, chartBytesKind, "Tunnel data · AWS/VPN TunnelDataIn/Out · bytes per minute"},
	{"AWS/EC2", []string{"NetworkIn", "NetworkOut"}, chartBytesKind, "Appliance network · AWS/EC2 NetworkIn/Out · bytes per minute"},
	{"AWS/TransitGateway", []string{"PacketDropCountNoRoute", "PacketDropCountBlackhole"}, chartCountKind, "Transit Gateway drops · PacketDropCountNoRoute/Blackhole · packets per minute"},
}

type chart struct {
	b      strings.Builder
	r      *correlate.Result
	ev     *audit.Evidence
	tz     *time.Location
	width  float64
	height float64
	fixedH int
	x0, x1 float64 // the plot area's left and right edges
	t0, t1 time.Time
	span   bool // t0 and t1 are known

	panels []*chartPane
	ticks  []time.Time

	cause    *chartMark // nil when there is no cause, or it lies outside the span
	marks    []*chartMark
	lanes    int
	causeOut string // the cause, when it lies outside the span
	notes    []string

	// vertical layout
	causeY, lanesY, stripY, panelsY, bottom float64
}

type chartPane struct {
	title     string
	kind      int
	series    []*chartLine
	max       float64 // the largest value drawn
	top, step float64 // the y axis
	threshold *chartThreshold
	legend    [][]int // rows of series indices
	y0        float64 // the panel's top (its title row)
	py0, py1  float64 // the plot area
}

type chartLine struct {
	label  string
	color  string
	dash   string
	width  float64
	scale  float64
	inset  float64 // state lines are drawn this many pixels inside 0–1
	period time.Duration
	segs   [][]audit.Point
}

type chartThreshold struct {
	value float64 // scaled like the series
	label string
}

// marker is a vertical line at a time with a label above the panels.
type chartMark struct {
	t      time.Time
	x      float64
	text   string // sanitized short label
	tip    string // sanitized full text, the marker's tooltip
	color  string
	class  string
	lane   int // -1: no label
	right  bool
	la, lb float64 // the label's horizontal extent
	bold   bool
}

func newChart(r *correlate.Result, opt ChartOptions) *chart {
	w := opt.Width
	if w == 0 {
		w = chartDefaultWidth
	}
	w = max(w, chartMinWidth)
	c := &chart{r: r, ev: r.Evidence, tz: localZone(opt.TZ), width: float64(w), fixedH: opt.Height}
	c.x0, c.x1 = 78, float64(w)-24
	c.t0, c.t1, c.span = chartSpan(r)
	if c.span {
		c.ticks = chartTicks(c.t0, c.t1, c.x1-c.x0)
		c.choosePanels()
		c.chooseMarkers()
	}
	c.notesAbout()
	c.layout()
	return c
}

// ---- what is drawn ----

// chartSpan is the interesting part of the evidence window: from 45
// minutes before the breach (or 10 before the cause, if earlier) to 30
// minutes after the recovery, or to the window's end while the alarm is
// ongoing, clipped to the window and rounded out to whole minutes.
func chartSpan(r *correlate.Result) (t0, t1 time.Time, ok bool) {
	ev, im := r.Evidence, r.Impact
	ref := im.BreachStartedAt
	if ref.IsZero() {
		ref = im.FiredAt
	}
	if ref.IsZero() {
		t0, t1 = ev.Window.Start, ev.Window.End
		if t0.IsZero() || !t1.After(t0) {
			t0, t1 = chartMetricsExtent(ev.Metrics)
		}
		if t0.IsZero() || !t1.After(t0) {
			return time.Time{}, time.Time{}, false
		}
	} else {
		t0 = ref.Add(-45 * time.Minute)
		if c := r.Verdict.Cause; c != nil && !c.Change.Time.IsZero() && c.Change.Time.Add(-10*time.Minute).Before(t0) {
			t0 = c.Change.Time.Add(-10 * time.Minute)
		}
		switch {
		case im.RecoveredAt != nil:
			t1 = im.RecoveredAt.Add(30 * time.Minute)
		case !ev.Window.End.IsZero():
			t1 = ev.Window.End
		case !ev.CollectedAt.IsZero():
			t1 = ev.CollectedAt
		default:
			t1 = ref.Add(time.Hour)
		}
		if ws := ev.Window.Start; !ws.IsZero() && t0.Before(ws) && ws.Before(ref) {
			t0 = ws
		}
		if we := ev.Window.End; !we.IsZero() && t1.After(we) && we.After(ref) {
			t1 = we
		}
	}
	t0 = t0.UTC().Truncate(time.Minute)
	if e := t1.UTC().Truncate(time.Minute); e.Before(t1) {
		t1 = e.Add(time.Minute)
	} else {
		t1 = e
	}
	if !t1.After(t0) {
		t1 = t0.Add(time.Hour)
	}
	return t0, t1, true
}

func chartMetricsExtent(ss []audit.Series) (t0, t1 time.Time) {
	for _, s := range ss {
		for _, p := range s.Points {
			if t0.IsZero() || p.Time.Before(t0) {
				t0 = p.Time
			}
			if p.Time.After(t1) {
				t1 = p.Time
			}
		}
	}
	return t0, t1
}

// chartTicks are round UTC times at least 80 pixels apart.
func chartTicks(t0, t1 time.Time, px float64) []time.Time {
	span := t1.Sub(t0)
	step := 24 * time.Hour
	for _, m := range []int{1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440} {
		s := time.Duration(m) * time.Minute
		if px*float64(s)/float64(span) >= 80 {
			step = s
			break
		}
	}
	var out []time.Time
	for t := t0.Truncate(step); !t.After(t1); t = t.Add(step) {
		if !t.Before(t0) {
			out = append(out, t)
		}
	}
	return out
}

func (c *chart) x(t time.Time) float64 {
	f := float64(t.Sub(c.t0)) / float64(c.t1.Sub(c.t0))
	return c.x0 + math.Max(0, math.Min(1, f))*(c.x1-c.x0)
}

func (c *chart) inSpan(t time.Time) bool { return !t.Before(c.t0) && !t.After(c.t1) }

func (c *chart) choosePanels() {
	alarm := c.ev.Incident.Alarm
	for _, def := range chartPanels {
		var picked []audit.Series
		for _, s := range c.ev.Metrics {
			if s.ID.Namespace == def.namespace && slices.Contains(def.names, s.ID.Name) {
				picked = append(picked, s)
			}
		}
		// In the panel's order of names; for the state, the VPN's own
		// series first, then the tunnels'.
		slices.SortStableFunc(picked, func(a, b audit.Series) int {
			if d := slices.Index(def.names, a.ID.Name) - slices.Index(def.names, b.ID.Name); d != 0 {
				return d
			}
			return chartBoolInt(a.ID.Dimension("TunnelIpAddress") != "") - chartBoolInt(b.ID.Dimension("TunnelIpAddress") != "")
		})
		p := &chartPane{title: def.title, kind: def.kind}
		visible, top := false, 0.0
		for i, s := range picked {
			ps := c.plot(s, def.kind, i)
			if len(ps.segs) > 0 {
				visible = true
			}
			for _, seg := range ps.segs {
				for _, pt := range seg {
					top = math.Max(top, pt.Value*ps.scale)
				}
			}
			if p.threshold == nil && def.kind != chartState && audit.SameMetric(s.ID, alarm.Metric) &&
				s.ID.Stat == alarm.Metric.Stat && s.ID.Period == alarm.Metric.Period {
				p.threshold = &chartThreshold{value: alarm.Threshold * ps.scale,
					label: "alarm: " + Sanitize(alarm.Metric.Name) + " " + alarm.ComparisonSymbol() + " " + c.fmtValue(def.kind, alarm.Threshold) + " per " + chartPeriod(alarm.Metric.Period)}
				top = math.Max(top, p.threshold.value)
			}
			p.series = append(p.series, ps)
		}
		if !visible {
			continue
		}
		p.max = top
		c.panels = append(c.panels, p)
	}
}

func chartBoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// plot prepares one series: its style, its per-minute scale, and its
// visible datapoints split where datapoints are missing.
func (c *chart) plot(s audit.Series, kind, i int) *chartLine {
	ps := &chartLine{label: Sanitize(nonEmpty(s.Label, s.ID.String())), color: svgSeriesColors[i%len(svgSeriesColors)],
		dash: svgSeriesDashes[i%len(svgSeriesDashes)], width: 1.75, scale: 1, period: time.Minute}
	if s.ID.Period > 0 {
		ps.period = time.Duration(s.ID.Period) * time.Second
	}
	switch {
	case kind == chartState:
		ps.inset = 2.5 * float64(i)
		if i == 0 {
			ps.width = 2.5
		}
	case s.ID.Stat == "Sum" && s.ID.Period > 0 && s.ID.Period != 60:
		ps.scale = 60 / float64(s.ID.Period)
		ps.label += " · Sum/" + chartPeriod(s.ID.Period) + ", shown per minute"
	case s.ID.Stat != "" && s.ID.Stat != "Sum":
		ps.label += " · " + Sanitize(s.ID.Stat) + "/" + chartPeriod(s.ID.Period)
	}
	pts := slices.Clone(s.Points)
	slices.SortStableFunc(pts, func(a, b audit.Point) int { return a.Time.Compare(b.Time) })
	var seg []audit.Point
	var last time.Time
	for _, p := range pts {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		if kind == chartState {
			if !p.Time.Add(ps.period).After(c.t0) || !p.Time.Before(c.t1) {
				continue
			}
		} else if !c.inSpan(p.Time) {
			continue
		}
		if len(seg) > 0 && p.Time.Sub(last) > ps.period*3/2 {
			ps.segs = append(ps.segs, seg)
			seg = nil
		}
		seg = append(seg, p)
		last = p.Time
	}
	if len(seg) > 0 {
		ps.segs = append(ps.segs, seg)
	}
	if len(ps.segs) == 0 {
		ps.label += " · no datapoints in this span"
	}
	return ps
}

// chartPeriod is "60 s", "5 min", "1 h".
func chartPeriod(sec int) string {
	switch {
	case sec <= 0:
		return "period"
	case sec%3600 == 0:
		return strconv.Itoa(sec/3600) + " h"
	case sec%60 == 0:
		return strconv.Itoa(sec/60) + " min"
	}
	return strconv.Itoa(sec) + " s"
}

// chartNiceScale is an axis top at or above v and a round step (1, 2 or 5
// times a power of ten) that divides it in at most n.
func chartNiceScale(v float64, n int) (top, step float64) {
	if v <= 0 {
		return 1, 1
	}
	raw := v / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// chooseMarkers collects the cause, the alarm, the recovery and the
// timeline's other changes, and staggers their labels into lanes.
func (c *chart) chooseMarkers() {
	im := c.r.Impact
	if cs := c.r.Verdict.Cause; cs != nil {
		ch := cs.Change
		if c.inSpan(ch.Time) {
			c.cause = &chartMark{t: ch.Time, x: c.x(ch.Time), color: svgCause, class: "cause", lane: -1, tip: Sanitize(c.changeTip(ch))}
		} else {
			c.causeOut = "the cause, " + Sanitize(nonEmpty(ch.EventName, "a change")) + " at " + fmtStamp(ch.Time) + ", lies outside the chart's span"
		}
	}
	if !im.FiredAt.IsZero() && c.inSpan(im.FiredAt) {
		c.marks = append(c.marks, &chartMark{t: im.FiredAt, text: "ALARM " + im.FiredAt.UTC().Format(time.TimeOnly),
			tip: "alarm " + Sanitize(c.ev.Incident.Alarm.Name) + " goes to ALARM at " + fmtStamp(im.FiredAt), color: svgEffect, class: "alarm", bold: true})
	}
	if im.RecoveredAt != nil && c.inSpan(*im.RecoveredAt) {
		c.marks = append(c.marks, &chartMark{t: *im.RecoveredAt, text: "OK " + im.RecoveredAt.UTC().Format(time.TimeOnly),
			tip: "alarm returns to OK at " + fmtStamp(*im.RecoveredAt), color: svgOK, class: "ok", bold: true})
	}
	var causeID string
	if c.r.Verdict.Cause != nil {
		causeID = c.r.Verdict.Cause.Change.EventID
	}
	for _, e := range c.r.Timeline {
		if e.Kind != correlate.KindChange || !c.inSpan(e.Time) {
			continue
		}
		if c.r.Verdict.Cause != nil && (e.Role == correlate.RoleCause || (causeID != "" && e.EventID == causeID)) {
			continue
		}
		m := &chartMark{t: e.Time, text: c.changeName(e), tip: e.Time.UTC().Format(time.TimeOnly) + " " + Sanitize(e.Summary), color: svgContext, class: "context"}
		switch e.Role {
		case correlate.RoleEffect:
			m.color, m.class = svgEffect, "effect"
		case correlate.RoleCause:
			m.color, m.class = svgCause, "cause-thin"
		}
		c.marks = append(c.marks, m)
	}
	for _, m := range c.marks {
		m.x = c.x(m.t)
	}
	c.lanes = chartStaggerLabels(c.marks, c.cause, 8, c.width-8, chartMonoEm*chartFSSmall)
}

// changeName is a change's short label: its event name (from the
// evidence's change with the entry's event ID, else the summary's first
// word), marked when the call failed.
func (c *chart) changeName(e correlate.Entry) string {
	for _, ch := range c.ev.Changes {
		if e.EventID != "" && ch.EventID == e.EventID {
			name := Sanitize(nonEmpty(ch.EventName, "change"))
			if ch.Failed() {
				name += " (failed)"
			}
			return ansi.Truncate(name, 40, "…")
		}
	}
	name, _, _ := strings.Cut(Sanitize(e.Summary), " ")
	return ansi.Truncate(nonEmpty(name, "change"), 40, "…")
}

func (c *chart) changeTip(ch audit.Change) string {
	return joinNonEmpty(" ", ch.Time.UTC().Format(time.TimeOnly), nonEmpty(ch.EventName, "change"),
		prefixed("on ", strings.Join(ch.Resources, ", ")), prefixed("by ", ch.Actor.Name), chartParens(chartVia(ch.Via)))
}

func chartParens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func chartVia(via string) string {
	if via == "" || via == "other" {
		return ""
	}
	return via
}

// chartStaggerLabels places the markers' labels: the alarm's and the
// recovery's first, then the changes from right to left. It starts from
// the greedy placement (chartPlaceLabels) and searches, within a fixed budget,
// for one that labels more markers, or as many in fewer lanes. It returns
// the number of lanes used.
func chartStaggerLabels(ms []*chartMark, cause *chartMark, left, right, charW float64) int {
	first := 0
	for first < len(ms) && (ms[first].class == "alarm" || ms[first].class == "ok") {
		first++
	}
	order := slices.Clone(ms[first:])
	slices.Reverse(order)
	order = append(slices.Clone(ms[:first]), order...)

	type placement struct {
		lane   int
		right  bool
		la, lb float64
	}
	var best []placement
	bestN, bestLanes := -1, 0
	record := func(n, lanes int) {
		bestN, bestLanes = n, lanes
		best = best[:0]
		for _, m := range order {
			best = append(best, placement{m.lane, m.right, m.la, m.lb})
		}
	}
	lanes := chartPlaceLabels(order, cause, left, right, charW, false)
	n := 0
	for _, m := range order {
		if m.lane >= 0 {
			n++
		}
	}
	record(n, lanes)

	budget := 20000
	var placed []*chartMark
	var search func(i, n, lanes int)
	search = func(i, n, lanes int) {
		if budget <= 0 {
			return
		}
		budget--
		if most := n + len(order) - i; most < bestN || most == bestN && lanes >= bestLanes {
			return
		}
		if i == len(order) {
			record(n, lanes)
			return
		}
		m := order[i]
		w := float64(ansi.StringWidth(m.text)) * charW
		for lane := range chartMaxLanes {
			for _, r := range []bool{false, true} {
				a, b := chartLabelSpan(m.x, w, r)
				if !chartLabelFits(m, lane, a, b, placed, cause, left, right) {
					continue
				}
				m.lane, m.right, m.la, m.lb = lane, r, a, b
				placed = append(placed, m)
				search(i+1, n+1, max(lanes, lane+1))
				placed = placed[:len(placed)-1]
			}
		}
		m.lane = -1
		search(i+1, n, lanes)
	}
	search(0, 0, 0)
	for i, m := range order {
		m.lane, m.right, m.la, m.lb = best[i].lane, best[i].right, best[i].la, best[i].lb
	}
	return bestLanes
}

const (
	chartLabelGap = 8.0 // between two labels of a lane
	chartLabelPad = 4.0 // between a label and its line
)

// chartLabelSpan is the horizontal extent of a label w wide beside a line at x:
// right of it, or left of it (ending at the line) when right is set.
func chartLabelSpan(x, w float64, right bool) (a, b float64) {
	if right {
		return x - chartLabelPad - w, x - chartLabelPad
	}
	return x + chartLabelPad, x + chartLabelPad + w
}

// chartLabelFits reports whether m's label can take [a, b] in lane: inside the
// image, clear of the labels of its lane, of the lines that run down
// through the lane (the cause's, and those of labels in higher lanes), and
// with its own line clear of the labels in the lanes below.
func chartLabelFits(m *chartMark, lane int, a, b float64, placed []*chartMark, cause *chartMark, left, right float64) bool {
	if a < left || b > right {
		return false
	}
	if cause != nil && cause.x >= a-2 && cause.x <= b+2 {
		return false
	}
	for _, o := range placed {
		switch {
		case o.lane == lane:
			if a < o.lb+chartLabelGap && o.la < b+chartLabelGap {
				return false
			}
		case o.lane > lane: // o's line runs down through this lane
			if o.x >= a-2 && o.x <= b+2 {
				return false
			}
		default: // m's line runs down through o's lane
			if m.x >= o.la-2 && m.x <= o.lb+2 {
				return false
			}
		}
	}
	return true
}

// chartPlaceLabels puts each marker's label, in order and greedily, into the
// lowest lane above the panels (lane 0 is nearest to them) where it fits
// (chartLabelFits), right of its line or left of it (left first with
// rightFirst). A label that fits nowhere is left out (lane -1); its line
// is still drawn, from the breach bar down. It returns the number of
// lanes used.
func chartPlaceLabels(ms []*chartMark, cause *chartMark, left, right, charW float64, rightFirst bool) int {
	var placed []*chartMark
	lanes := 0
	for _, m := range ms {
		m.lane = -1
		w := float64(ansi.StringWidth(m.text)) * charW
	lanes:
		for lane := range chartMaxLanes {
			for _, r := range []bool{rightFirst, !rightFirst} {
				a, b := chartLabelSpan(m.x, w, r)
				if chartLabelFits(m, lane, a, b, placed, cause, left, right) {
					m.lane, m.right, m.la, m.lb = lane, r, a, b
					placed = append(placed, m)
					lanes = max(lanes, lane+1)
					break lanes
				}
			}
		}
	}
	return lanes
}

func (c *chart) notesAbout() {
	ev := c.ev
	if len(c.panels) > 0 {
		c.notes = append(c.notes, "A break in a line is a stretch without datapoints (a stopped instance, for one, reports none).")
	}
	unlabelled := 0
	for _, m := range c.marks {
		if m.lane < 0 {
			unlabelled++
		}
	}
	if unlabelled > 0 {
		c.notes = append(c.notes, chartPlural(unlabelled, "marker is", "markers are")+" left unlabelled for lack of room; the report's timeline lists every change.")
	}
	if c.span {
		outside := 0
		for _, e := range c.r.Timeline {
			if e.Kind == correlate.KindChange && !c.inSpan(e.Time) {
				outside++
			}
		}
		if outside > 0 {
			c.notes = append(c.notes, chartPlural(outside, "change", "changes")+" of the timeline "+chartIsAre(outside)+" outside the chart's span.")
		}
	}
	if c.causeOut != "" {
		c.notes = append(c.notes, chartCapitalize(c.causeOut)+".")
	}
	for _, cv := range ev.Coverage {
		if cv.Source == "metrics" && cv.Status != audit.CoverageOK {
			c.notes = append(c.notes, "Metrics coverage: "+Sanitize(joinNonEmpty(" — ", cv.Status, cv.Detail))+".")
		}
	}
}

func chartPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func chartIsAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func chartCapitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ---- vertical layout ----

func (c *chart) layout() {
	y := 98.0 // the header: title, verdict, condition, impact
	c.causeY = y
	y += 36
	c.lanesY = y
	y += float64(c.lanes)*chartLaneHeight + 4
	c.stripY = y
	y += 18 + 12
	c.panelsY = y
	charW := chartMonoEm * chartFSSmall
	for _, p := range c.panels {
		p.legend = chartLegendRows(p.series, c.x1-c.x0, charW)
	}
	n := max(1, len(c.panels))
	head := func(p *chartPane) float64 { return 14 + float64(len(p.legend))*chartRowHeight + 6 }
	fixed := y
	for _, p := range c.panels {
		fixed += head(p) + 24
	}
	if len(c.panels) == 0 {
		fixed += 24
	}
	fixed += c.axisHeight() + float64(len(c.notes))*chartRowHeight + 10
	ph := float64(chartPanelHeight)
	if c.fixedH > 0 {
		ph = math.Max(chartMinPanel, math.Floor((float64(c.fixedH)-fixed)/float64(n)))
	}
	for _, p := range c.panels {
		switch {
		case p.kind == chartState:
			p.top, p.step = 1, 1
		case ph < 90: // a short panel gets fewer gridlines
			p.top, p.step = chartNiceScale(p.max, 2)
		default:
			p.top, p.step = chartNiceScale(p.max, 4)
		}
		p.y0 = y
		p.py0 = y + head(p)
		p.py1 = p.py0 + ph
		y = p.py1 + 24
	}
	if len(c.panels) == 0 {
		y += ph*0.6 + 24 // the "no metric data" box
	}
	c.bottom = y - 24
	c.height = math.Max(float64(c.fixedH), math.Ceil(c.bottom+c.axisHeight()+float64(len(c.notes))*chartRowHeight+6))
}

func (c *chart) axisHeight() float64 {
	if !c.span {
		return 0
	}
	h := 5 + 15 + 16.0 // ticks, UTC labels, the date row
	if c.tz != nil {
		h += 14
	}
	return h + 8
}

// chartLegendRows flows a panel's legend entries into rows that fit width.
func chartLegendRows(ss []*chartLine, width, charW float64) [][]int {
	var rows [][]int
	var row []int
	used := 0.0
	for i, s := range ss {
		maxChars := int((width - 30) / charW)
		s.label = ansi.Truncate(s.label, maxChars, "…")
		w := chartLegendWidth(s, charW)
		if len(row) > 0 && used+w > width {
			rows = append(rows, row)
			row, used = nil, 0
		}
		row = append(row, i)
		used += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

func chartLegendWidth(s *chartLine, charW float64) float64 {
	return 28 + float64(ansi.StringWidth(s.label))*charW + 20
}

// ---- drawing ----

func (c *chart) render() {
	c.open()
	c.header()
	if !c.span {
		c.noData(c.panelsY, "no time to chart: the result has no breach, alarm, window or datapoints")
		c.close()
		return
	}
	c.breachShade()
	for _, p := range c.panels {
		c.panelFrame(p)
	}
	if len(c.panels) == 0 {
		c.noData(c.panelsY, c.noMetricsText())
	}
	c.markerLines()
	for _, p := range c.panels {
		c.panelData(p)
		c.panelText(p)
	}
	c.strip()
	c.markerLabels()
	c.axis()
	c.footer()
	c.close()
}

func (c *chart) noMetricsText() string {
	if len(c.ev.Metrics) == 0 {
		return "no metric data in the evidence"
	}
	return "no metric data for these panels in the chart's span"
}

func (c *chart) open() {
	w, h := svgNum(c.width), svgNum(c.height)
	c.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	c.raw(`<svg xmlns="http://www.w3.org/2000/svg" width="` + w + `" height="` + h + `" viewBox="0 0 ` + w + ` ` + h +
		`" role="img" aria-labelledby="chart-title chart-desc" font-family='` + chartFontSans + `'>` + "\n")
	c.raw(`<title id="chart-title">`)
	c.text(c.titleText())
	c.raw("</title>\n<desc id=\"chart-desc\">")
	c.text(c.descText())
	c.raw("</desc>\n")
	c.raw(`<style>
.mono{font-family:` + chartFontMono + `}
.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.t{font-size:` + svgItoa(chartFSTitle) + `px;font-weight:700;fill:` + svgText + `}
.s{font-size:` + svgItoa(chartFSSmall) + `px;fill:` + svgMuted + `}
.pt{font-size:12px;font-weight:700;fill:` + svgText + `}
.lg{font-size:` + svgItoa(chartFSSmall) + `px;fill:` + svgText + `}
.grid{stroke:` + svgGrid + `;stroke-width:1}
.frame{fill:none;stroke:` + svgAxis + `;stroke-width:1}
.cause{stroke:` + svgCause + `;stroke-width:2.5}
.cause-thin{stroke:` + svgCause + `;stroke-width:1;opacity:.85}
.alarm{stroke:` + svgEffect + `;stroke-width:1.5;stroke-dasharray:5 3}
.ok{stroke:` + svgOK + `;stroke-width:1.5;stroke-dasharray:5 3}
.effect{stroke:` + svgEffect + `;stroke-width:1;opacity:.85}
.context{stroke:` + svgContext + `;stroke-width:1;opacity:.7}
</style>
`)
	c.raw(`<rect width="100%" height="100%" fill="#fff"/>` + "\n")
}

func (c *chart) close() { c.raw("</svg>\n") }

func (c *chart) verdictWords() (status, color string) {
	v := c.r.Verdict
	switch v.Status {
	case correlate.StatusRootCause:
		status, color = "ROOT CAUSE", svgCause
		switch v.Confidence {
		case correlate.High:
			color = svgOK
		case correlate.Medium:
			color = svgEffect
		}
	case correlate.StatusInconclusive:
		status, color = "INCONCLUSIVE", svgInconclusive
	case "":
		status, color = "NO VERDICT", svgMuted
	default:
		status, color = strings.ToUpper(Sanitize(v.Status)), svgInconclusive
	}
	return status, color
}

func (c *chart) titleText() string {
	status, _ := c.verdictWords()
	conf := Sanitize(c.r.Verdict.Confidence)
	if conf != "" {
		conf += " confidence"
	}
	return joinNonEmpty(" — ", Sanitize(nonEmpty(c.ev.Incident.Alarm.Name, "alarm")), joinNonEmpty(", ", status, conf))
}

func (c *chart) descText() string {
	var parts []string
	if c.span {
		parts = append(parts, "CloudWatch metrics around the alarm from "+fmtStamp(c.t0)+" to "+clockFrom(c.t1, c.t0)+" UTC.")
	}
	if len(c.panels) > 0 {
		var names []string
		for _, p := range c.panels {
			name, _, _ := strings.Cut(p.title, " · ")
			names = append(names, strings.ToLower(name))
		}
		parts = append(parts, "Panels: "+strings.Join(names, ", ")+".")
	} else {
		parts = append(parts, chartCapitalize(c.noMetricsText())+".")
	}
	parts = append(parts, chartCapitalize(c.impactText())+".")
	if c.cause != nil {
		parts = append(parts, "Cause marker: "+c.cause.tip+".")
	}
	if s := Sanitize(c.r.Verdict.Summary); s != "" {
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func (c *chart) impactText() string {
	im := c.r.Impact
	if im.BreachStartedAt.IsZero() && im.FiredAt.IsZero() {
		return "no breach or alarm time in the result"
	}
	ref := im.BreachStartedAt
	var parts []string
	if !im.BreachStartedAt.IsZero() {
		parts = append(parts, "breach "+fmtStamp(im.BreachStartedAt)+c.zone(im.BreachStartedAt, ref))
	} else {
		ref = im.FiredAt
	}
	if !im.FiredAt.IsZero() {
		parts = append(parts, "alarm "+clockFrom(im.FiredAt, ref)+c.zone(im.FiredAt, ref))
	}
	switch {
	case im.RecoveredAt != nil:
		parts = append(parts, "recovered "+clockFrom(*im.RecoveredAt, ref)+c.zone(*im.RecoveredAt, ref)+", down "+fmtDur(im.Duration))
	case im.Ongoing || !im.BreachStartedAt.IsZero():
		parts = append(parts, "ongoing, down "+fmtDur(im.Duration)+" when collected")
	}
	return strings.Join(parts, " → ")
}

func (c *chart) zone(x, ref time.Time) string {
	if c.tz == nil {
		return ""
	}
	return " (" + zoneClock(x, ref.UTC().Format(time.DateOnly), c.tz) + ")"
}

func (c *chart) header() {
	fit := func(s string, fs float64, width float64) string {
		return ansi.Truncate(s, int(width/(fs*chartMonoEm)), "…")
	}
	a := c.ev.Incident.Alarm
	c.raw(`<text x="20" y="28" class="t">`)
	c.text(fit(Sanitize(nonEmpty(a.Name, "(unnamed alarm)")), chartFSTitle, c.width-40))
	c.raw("</text>\n")

	status, color := c.verdictWords()
	c.raw(`<text x="20" y="50" font-size="` + svgItoa(chartFSVerdict) + `px"><tspan font-weight="700" fill="` + color + `">`)
	c.text(status)
	c.raw(`</tspan><tspan fill="` + svgMuted + `">`)
	if conf := Sanitize(c.r.Verdict.Confidence); conf != "" {
		c.text(" · " + conf + " confidence")
	}
	c.raw("</tspan></text>\n")
	if a.Metric.Name != "" {
		c.raw(`<text x="20" y="70" class="s mono">`)
		c.text(fit(Sanitize(alarmCondition(a)), chartFSSmall, c.width-40))
		c.raw("</text>\n")
	}
	c.raw(`<text x="20" y="86" class="s mono">`)
	c.text(fit(c.impactText(), chartFSSmall, c.width-40))
	c.raw("</text>\n")
}

// breachShade shades the breach in every panel's plot area.
func (c *chart) breachShade() {
	a, b, ok := c.breachX()
	if !ok {
		return
	}
	for _, p := range c.panels {
		c.raw(`<rect x="` + svgNum(a) + `" y="` + svgNum(p.py0) + `" width="` + svgNum(b-a) + `" height="` + svgNum(p.py1-p.py0) +
			`" fill="` + svgBreachFill + `" fill-opacity=".16"/>` + "\n")
	}
}

func (c *chart) breachX() (a, b float64, ok bool) {
	im := c.r.Impact
	if im.BreachStartedAt.IsZero() || im.BreachStartedAt.After(c.t1) {
		return 0, 0, false
	}
	a, b = c.x(im.BreachStartedAt), c.x1
	if im.RecoveredAt != nil {
		if im.RecoveredAt.Before(c.t0) {
			return 0, 0, false
		}
		b = c.x(*im.RecoveredAt)
	}
	return a, math.Max(b, a+1), true
}

// panelText draws a panel's title, legend and y labels, over the
// markers' lines.
func (c *chart) panelText(p *chartPane) {
	c.raw(`<text x="` + svgNum(c.x0) + `" y="` + svgNum(p.y0+12) + `" class="pt halo">`)
	c.text(p.title)
	c.raw("</text>\n")
	charW := chartMonoEm * chartFSSmall
	for r, row := range p.legend {
		y := p.y0 + 14 + float64(r+1)*chartRowHeight - 3
		x := c.x0
		for _, i := range row {
			s := p.series[i]
			c.raw(`<line x1="` + svgNum(x) + `" y1="` + svgNum(y-4) + `" x2="` + svgNum(x+22) + `" y2="` + svgNum(y-4) + `" stroke="` + s.color +
				`" stroke-width="` + svgNum(s.width) + `"` + chartDash(s.dash) + `/>`)
			c.raw(`<text x="` + svgNum(x+28) + `" y="` + svgNum(y) + `" class="lg mono halo">`)
			c.text(s.label)
			c.raw("</text>\n")
			x += chartLegendWidth(s, charW)
		}
	}
	for v := 0.0; v <= p.top+p.step/2; v += p.step {
		c.raw(`<text x="` + svgNum(c.x0-6) + `" y="` + svgNum(c.y(p, v, 0)+4) + `" text-anchor="end" class="s mono">`)
		c.text(c.yLabel(p, v))
		c.raw("</text>\n")
	}
}

// panelFrame draws a panel's grid and frame.
func (c *chart) panelFrame(p *chartPane) {
	for v := 0.0; v <= p.top+p.step/2; v += p.step {
		y := svgNum(c.y(p, v, 0))
		c.raw(`<line x1="` + svgNum(c.x0) + `" y1="` + y + `" x2="` + svgNum(c.x1) + `" y2="` + y + `" class="grid"/>` + "\n")
	}
	for _, t := range c.ticks {
		x := c.x(t)
		c.raw(`<line x1="` + svgNum(x) + `" y1="` + svgNum(p.py0) + `" x2="` + svgNum(x) + `" y2="` + svgNum(p.py1) + `" class="grid"/>` + "\n")
	}
	c.raw(`<rect x="` + svgNum(c.x0) + `" y="` + svgNum(p.py0) + `" width="` + svgNum(c.x1-c.x0) + `" height="` + svgNum(p.py1-p.py0) + `" class="frame"/>` + "\n")
}

func chartDash(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

func (c *chart) yLabel(p *chartPane, v float64) string {
	if p.kind == chartState {
		if v == 0 {
			return "0 down"
		}
		return "1 up"
	}
	return c.fmtValue(p.kind, v)
}

func (c *chart) fmtValue(kind int, v float64) string {
	if kind == chartBytesKind {
		return chartBytes(v)
	}
	return fmtNum(v)
}

// chartBytes is a byte count in decimal units: 0, 512 B, 1.5 MB.
func chartBytes(v float64) string {
	if v == 0 {
		return "0"
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for math.Abs(v) >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + " " + units[i]
}

// y is a value's height in a panel, kept inside the plot area; inset pulls
// state lines inside 0–1 so lines with the same values stay apart.
func (c *chart) y(p *chartPane, v, inset float64) float64 {
	const headroom = 8
	lo, hi := p.py1-inset, p.py0+headroom+inset
	return math.Max(p.py0, math.Min(p.py1, lo-v/p.top*(lo-hi)))
}

// panelData draws the series and the "no datapoints" notes of one panel.
func (c *chart) panelData(p *chartPane) {
	if th := p.threshold; th != nil {
		y := c.y(p, th.value, 0)
		c.raw(`<line x1="` + svgNum(c.x0) + `" y1="` + svgNum(y) + `" x2="` + svgNum(c.x1) + `" y2="` + svgNum(y) + `" stroke="` + svgEffect +
			`" stroke-width="1" stroke-dasharray="2 3"/>`)
		c.raw(`<text x="` + svgNum(c.x1-4) + `" y="` + svgNum(y-4) + `" text-anchor="end" class="s mono halo" fill="` + svgEffect + `">`)
		c.text(th.label)
		c.raw("</text>\n")
	}
	// Draw the first series last, on top: it is the thickest.
	for i := len(p.series) - 1; i >= 0; i-- {
		s := p.series[i]
		for _, seg := range s.segs {
			c.segment(p, s, seg)
		}
	}
	// Where every series of the panel lacks datapoints for long enough,
	// say so.
	var gaps [][2]float64
	for _, s := range p.series {
		var g [][2]float64
		prev := c.x0
		for _, seg := range s.segs {
			g = append(g, [2]float64{prev, c.x(seg[0].Time)})
			prev = c.x(seg[len(seg)-1].Time.Add(s.period))
		}
		g = append(g, [2]float64{prev, c.x1})
		if len(s.segs) == 0 {
			continue
		}
		if gaps == nil {
			gaps = g
		} else {
			gaps = chartIntersect(gaps, g)
		}
	}
	for _, g := range gaps {
		if g[1]-g[0] < 70 {
			continue
		}
		mid := (g[0] + g[1]) / 2
		c.raw(`<text x="` + svgNum(mid) + `" y="` + svgNum((p.py0+p.py1)/2+4) + `" text-anchor="middle" class="s halo" font-style="italic">no datapoints</text>` + "\n")
	}
}

// chartIntersect is where both lists of intervals overlap.
func chartIntersect(a, b [][2]float64) [][2]float64 {
	var out [][2]float64
	for _, x := range a {
		for _, y := range b {
			lo, hi := math.Max(x[0], y[0]), math.Min(x[1], y[1])
			if hi > lo {
				out = append(out, [2]float64{lo, hi})
			}
		}
	}
	return out
}

func (c *chart) segment(p *chartPane, s *chartLine, seg []audit.Point) {
	style := `" fill="none" stroke="` + s.color + `" stroke-width="` + svgNum(s.width) + `" stroke-linejoin="round"` + chartDash(s.dash) + `/>` + "\n"
	var d strings.Builder
	if p.kind == chartState {
		for i, pt := range seg {
			y := svgNum(c.y(p, pt.Value*s.scale, s.inset))
			if i == 0 {
				d.WriteString("M" + svgNum(c.x(pt.Time)) + " " + y)
			} else {
				d.WriteString("V" + y)
			}
			end := pt.Time.Add(s.period)
			if i+1 < len(seg) {
				end = seg[i+1].Time
			}
			d.WriteString("H" + svgNum(c.x(end)))
		}
		c.raw(`<path d="` + d.String() + style)
		return
	}
	if len(seg) == 1 {
		c.raw(`<circle cx="` + svgNum(c.x(seg[0].Time)) + `" cy="` + svgNum(c.y(p, seg[0].Value*s.scale, 0)) + `" r="2" fill="` + s.color + `"/>` + "\n")
		return
	}
	for i, pt := range seg {
		if i == 0 {
			d.WriteByte('M')
		} else {
			d.WriteByte('L')
		}
		d.WriteString(svgNum(c.x(pt.Time)) + " " + svgNum(c.y(p, pt.Value*s.scale, 0)))
	}
	c.raw(`<path d="` + d.String() + style)
}

// labelBaseline is the baseline of a lane's labels.
func (c *chart) labelBaseline(lane int) float64 {
	return c.lanesY + float64(c.lanes-1-lane)*chartLaneHeight + 11
}

func (c *chart) markerLines() {
	bottom := c.bottom
	for _, m := range c.marks {
		top := c.stripY
		if m.lane >= 0 {
			top = c.labelBaseline(m.lane) - 10
		}
		c.raw(`<line x1="` + svgNum(m.x) + `" y1="` + svgNum(top) + `" x2="` + svgNum(m.x) + `" y2="` + svgNum(bottom) + `" class="` + m.class + `"><title>`)
		c.text(m.tip)
		c.raw("</title></line>\n")
	}
	if m := c.cause; m != nil {
		c.raw(`<line x1="` + svgNum(m.x) + `" y1="` + svgNum(c.causeY+2) + `" x2="` + svgNum(m.x) + `" y2="` + svgNum(bottom) + `" class="cause"><title>`)
		c.text(m.tip)
		c.raw("</title></line>\n")
	}
}

func (c *chart) markerLabels() {
	for _, m := range c.marks {
		if m.lane < 0 {
			continue
		}
		x, anchor := m.la, ""
		if m.right {
			x, anchor = m.lb, ` text-anchor="end"`
		}
		weight := ""
		if m.bold {
			weight = ` font-weight="700"`
		}
		c.raw(`<text x="` + svgNum(x) + `" y="` + svgNum(c.labelBaseline(m.lane)) + `"` + anchor + weight + ` class="mono halo" font-size="` + svgItoa(chartFSSmall) + `px" fill="` + m.color + `">`)
		c.text(m.text)
		c.raw("</text>\n")
	}
	c.causeLabel()
}

// causeLabel is the cause's two lines (event name and time; actor and
// how), beside its marker on the side with more room; without a cause it
// says that there is none.
func (c *chart) causeLabel() {
	y1, y2 := c.causeY+12, c.causeY+27
	cs := c.r.Verdict.Cause
	if c.cause == nil {
		var msg string
		color := svgInconclusive
		switch {
		case c.causeOut != "":
			msg, color = "CAUSE · "+c.causeOut, svgCause
		case cs == nil && c.r.Verdict.Status == correlate.StatusRootCause:
			msg = "no cause recorded in the result"
		case cs == nil:
			msg = "no root cause: the verdict is inconclusive"
		}
		c.raw(`<text x="` + svgNum(c.x0) + `" y="` + svgNum(y1) + `" class="mono" font-size="` + svgItoa(chartFSCause) + `px" font-weight="700" fill="` + color + `">`)
		c.text(ansi.Truncate(msg, int((c.x1-c.x0)/(chartMonoEm*chartFSCause)), "…"))
		c.raw("</text>\n")
		return
	}
	ch := cs.Change
	line1 := "CAUSE " + Sanitize(nonEmpty(ch.EventName, "change")) + " · " + ch.Time.UTC().Format(time.TimeOnly)
	who := Sanitize(ch.Actor.Name)
	via := Sanitize(chartVia(ch.Via))
	charW := chartMonoEm * chartFSCause
	room := math.Max(c.width-8-(c.cause.x+6), c.cause.x-6-8)
	right := c.width-8-(c.cause.x+6) < c.cause.x-6-8
	chars := int(room / charW)
	line1 = ansi.Truncate(line1, chars, "…")
	var line2 string
	if who != "" {
		extra := 3 // "by "
		if via != "" {
			extra += ansi.StringWidth(via) + 3
		}
		line2 = "by " + chartShorten(who, chars-extra)
		if via != "" {
			line2 += " (" + via + ")"
		}
		line2 = ansi.Truncate(line2, chars, "…")
	}
	x, anchor := c.cause.x+6, ""
	if right {
		x, anchor = c.cause.x-6, ` text-anchor="end"`
	}
	c.raw(`<text x="` + svgNum(x) + `" y="` + svgNum(y1) + `"` + anchor + ` class="mono halo" font-size="` + svgItoa(chartFSCause) + `px" font-weight="700" fill="` + svgCause + `">`)
	c.text(line1)
	c.raw("</text>\n")
	if line2 != "" {
		c.raw(`<text x="` + svgNum(x) + `" y="` + svgNum(y2) + `"` + anchor + ` class="mono halo" font-size="` + svgItoa(chartFSCause) + `px" fill="` + svgCause + `">`)
		c.text(line2)
		c.raw("</text>\n")
	}
}

// chartShorten fits s into n columns, keeping what follows its last "/"
// (a role session's name: the person) when it can.
func chartShorten(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		tail := s[i:]
		if tw := ansi.StringWidth(tail); tw+2 <= n {
			return ansi.Truncate(s[:i], n-tw, "…") + tail
		}
	}
	return ansi.Truncate(s, max(n, 1), "…")
}

// strip is the breach as a bar above the panels, with its times.
func (c *chart) strip() {
	a, b, ok := c.breachX()
	if !ok {
		return
	}
	im := c.r.Impact
	y := c.stripY
	c.raw(`<rect x="` + svgNum(a) + `" y="` + svgNum(y) + `" width="` + svgNum(b-a) + `" height="16" rx="2" fill="` + svgBreachBar + `" stroke="` + svgEffect + `" stroke-width="1"/>` + "\n")
	text := "breach " + im.BreachStartedAt.UTC().Format("15:04:05")
	if im.RecoveredAt != nil {
		text += " → OK " + im.RecoveredAt.UTC().Format("15:04:05") + " · down " + fmtDur(im.Duration)
	} else {
		text += " → ongoing · " + fmtDur(im.Duration) + " when collected"
	}
	w := float64(ansi.StringWidth(text)) * chartMonoEm * chartFSSmall
	x, anchor := a+6, ""
	switch {
	case w+12 <= b-a: // inside
	case b+6+w <= c.width-8: // after the bar
		x = b + 6
	default: // before it
		x, anchor = a-6, ` text-anchor="end"`
	}
	c.raw(`<text x="` + svgNum(x) + `" y="` + svgNum(y+12) + `"` + anchor + ` class="mono halo" font-size="` + svgItoa(chartFSSmall) + `px" font-weight="700" fill="` + svgEffect + `">`)
	c.text(text)
	c.raw("</text>\n")
	if im.RecoveredAt == nil && w+12 <= b-a-80 {
		c.raw(`<text x="` + svgNum(b-6) + `" y="` + svgNum(y+12) + `" text-anchor="end" class="mono" font-size="` + svgItoa(chartFSSmall) + `px" font-weight="700" fill="` + svgEffect + `">ongoing ▸</text>` + "\n")
	}
}

// axis is the shared time axis under the last panel: UTC ticks, the
// local zone's (with TZ), and the dates.
func (c *chart) axis() {
	y := c.bottom
	c.raw(`<line x1="` + svgNum(c.x0) + `" y1="` + svgNum(y) + `" x2="` + svgNum(c.x1) + `" y2="` + svgNum(y) + `" stroke="` + svgAxis + `"/>` + "\n")
	rowUTC, rowTZ := y+18, y+32
	c.raw(`<text x="20" y="` + svgNum(rowUTC) + `" class="s mono" font-weight="700">UTC</text>` + "\n")
	if c.tz != nil {
		c.raw(`<text x="20" y="` + svgNum(rowTZ) + `" class="s mono" font-weight="700">`)
		c.text(zoneAbbrev(c.t0, c.tz))
		c.raw("</text>\n")
	}
	for _, t := range c.ticks {
		x := svgNum(c.x(t))
		c.raw(`<line x1="` + x + `" y1="` + svgNum(y) + `" x2="` + x + `" y2="` + svgNum(y+5) + `" stroke="` + svgAxis + `"/>`)
		c.raw(`<text x="` + x + `" y="` + svgNum(rowUTC) + `" text-anchor="middle" class="s mono">` + t.UTC().Format("15:04") + `</text>`)
		if c.tz != nil {
			c.raw(`<text x="` + x + `" y="` + svgNum(rowTZ) + `" text-anchor="middle" class="s mono">` + t.In(c.tz).Format("15:04") + `</text>`)
		}
		c.raw("\n")
	}
	dates := "time (UTC): " + c.t0.UTC().Format(time.DateOnly)
	if d := c.t1.UTC().Format(time.DateOnly); d != c.t0.UTC().Format(time.DateOnly) {
		dates += " – " + d
	}
	if c.tz != nil {
		dates += " · second row: " + c.tz.String() + " " + c.t0.In(c.tz).Format(time.DateOnly)
		if d := c.t1.In(c.tz).Format(time.DateOnly); d != c.t0.In(c.tz).Format(time.DateOnly) {
			dates += " – " + d
		}
	}
	row := rowUTC + 16
	if c.tz != nil {
		row = rowTZ + 16
	}
	c.raw(`<text x="` + svgNum((c.x0+c.x1)/2) + `" y="` + svgNum(row) + `" text-anchor="middle" class="s">`)
	c.text(Sanitize(dates))
	c.raw("</text>\n")
}

func (c *chart) footer() {
	y := c.bottom + c.axisHeight() + 6
	for _, n := range c.notes {
		c.raw(`<text x="20" y="` + svgNum(y) + `" class="s">`)
		c.text(ansi.Truncate(n, int((c.width-40)/(chartFSSmall*0.55)), "…"))
		c.raw("</text>\n")
		y += chartRowHeight
	}
}

// noData is the box that stands for the panels when there is nothing to
// plot.
func (c *chart) noData(y float64, msg string) {
	h := float64(chartPanelHeight) * 0.6
	c.raw(`<rect x="` + svgNum(c.x0) + `" y="` + svgNum(y) + `" width="` + svgNum(c.x1-c.x0) + `" height="` + svgNum(h) + `" fill="#FAFAFA" stroke="` + svgAxis + `" stroke-dasharray="4 3"/>` + "\n")
	c.raw(`<text x="` + svgNum((c.x0+c.x1)/2) + `" y="` + svgNum(y+h/2+5) + `" text-anchor="middle" font-size="14px" fill="` + svgMuted + `">`)
	c.text(msg)
	c.raw("</text>\n")
}

// ---- output ----

func (c *chart) raw(s string) { c.b.WriteString(s) }

// text writes s as character data: sanitized strings only, escaped here.
func (c *chart) text(s string) {
	// EscapeText escapes <, >, &, quotes and line breaks, and replaces
	// what XML cannot hold with U+FFFD; it only fails on a failing writer.
	_ = xml.EscapeText(&c.b, []byte(s))
}

// svgNum is a coordinate with at most one decimal.
func svgNum(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func svgItoa(i int) string { return strconv.Itoa(i) }
