package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpnaudit/vpnaudit/internal/fixturetest"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// Hostile strings for the chart: markup, CDATA ends, quotes, controls and
// a bidirectional override.
const (
	chartScript  = "<script>alert(1)</script>"
	chartCDATA   = "]]><![CDATA[x]]>"
	chartQuotes  = `"quoted" & 'apos' <b>`
	chartOnload  = "<svg onload=alert(1)>"
	chartControl = "\x00nul\x07bel\x1b[31mred\u202eRTL\x7f"
)

// hostileChartResult is hostileResult with metrics, a change and names
// full of hostile strings.
func hostileChartResult() *correlate.Result {
	r := hostileResult()
	ev := r.Evidence
	breach := r.Impact.BreachStartedAt
	ev.Incident.Alarm.Name = "VPN-Down</title>" + chartScript + "\x1b[2J"
	r.Verdict.Cause.Change.Actor.Name = `role/ops"><script>alert('x')</script>` + chartCDATA + "/mallory\x1b[8m"
	r.Verdict.Cause.Change.Via = "cli\x07" + chartQuotes
	odd := audit.Change{EventID: "99999999-0000-0000-0000-000000000000", EventName: chartOnload + chartControl,
		Time: breach.Add(-25 * time.Minute), Actor: audit.Actor{Name: chartQuotes}}
	ev.Changes = append(ev.Changes, odd)
	r.Timeline = append([]correlate.Entry{{Time: odd.Time, Kind: correlate.KindChange, Role: correlate.RoleContext,
		Summary: chartOnload + " by " + chartQuotes, EventID: odd.EventID}}, r.Timeline...)
	series := func(ns, name, dim, val, label string, f func(i int) (float64, bool)) audit.Series {
		s := audit.Series{ID: audit.MetricID{Namespace: ns, Name: name, Dimensions: []audit.Dimension{{Name: dim, Value: val}}, Stat: "Sum", Period: 60},
			Subject: val, Label: label}
		if name == "TunnelState" {
			s.ID.Stat = "Maximum"
		}
		for i := range 120 {
			if v, ok := f(i); ok {
				s.Points = append(s.Points, audit.Point{Time: breach.Add(time.Duration(i-60) * time.Minute), Value: v})
			}
		}
		return s
	}
	down := func(i int) (float64, bool) {
		if i >= 60 && i < 80 {
			return 0, true
		}
		return 1, true
	}
	bytesF := func(i int) (float64, bool) {
		if i >= 60 && i < 80 {
			return 0, true
		}
		return 250000 + float64(i%7)*1000, true
	}
	stopped := func(i int) (float64, bool) { return 900000, i < 59 || i >= 82 }
	ev.Metrics = []audit.Series{
		series("AWS/VPN", "TunnelState", "TunnelIpAddress", chartCDATA, chartScript, down),
		series("AWS/VPN", "TunnelState", "VpnId", "vpn-0123456789abcdef0", "TunnelState "+chartQuotes, down),
		series("AWS/VPN", "TunnelDataIn", "VpnId", "vpn-0123456789abcdef0", "TunnelDataIn "+chartControl, bytesF),
		series("AWS/EC2", "NetworkIn", "InstanceId", "i-0badbadbadbadbad0", "NetworkIn of "+hostileName, stopped),
	}
	ev.Coverage = append(ev.Coverage, audit.Coverage{Source: "metrics", Status: audit.CoveragePartial, Detail: "GetMetricData " + chartScript})
	return r
}

type chartCase struct {
	name string
	r    *correlate.Result
	opt  ChartOptions
}

func chartCases(t *testing.T) []chartCase {
	lab := fixtureResult(t, "lab-console-stop")
	return []chartCase{
		{"lab-console-stop", lab, ChartOptions{}},
		{"lab-console-stop.tokyo", lab, ChartOptions{TZ: tokyo(t)}},
		{"lab-console-stop.w700-h900", lab, ChartOptions{Width: 700, Height: 900}},
		{"tgw-route-deleted", fixturetest.Result(t, "tgw-route-deleted", "fra4-onprem-no-traffic-to-dc"), ChartOptions{}},
		{"no-api-cause", fixturetest.Result(t, "no-api-cause", "syd1-dc-link/TunnelState"), ChartOptions{}},
		{"hostile", hostileChartResult(), ChartOptions{TZ: tokyo(t)}},
		{"inconclusive-ongoing", inconclusiveResult(), ChartOptions{}},
		{"empty", &correlate.Result{Evidence: &audit.Evidence{}}, ChartOptions{}},
	}
}

func chartRender(t *testing.T, r *correlate.Result, opt ChartOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Chart(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestChartGolden(t *testing.T) {
	for _, tc := range chartCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name+".svg", chartRender(t, tc.r, tc.opt))
		})
	}
}

func TestChartDeterministic(t *testing.T) {
	for _, tc := range chartCases(t) {
		a, b := chartRender(t, tc.r, tc.opt), chartRender(t, tc.r, tc.opt)
		if diff := cmp.Diff(string(a), string(b)); diff != "" {
			t.Errorf("%s: two renderings differ (-first +second):\n%s", tc.name, diff)
		}
	}
}

// svgDoc is what TestChartWellFormed reads back from a chart.
type svgDoc struct {
	Root     string
	Width    string
	Height   string
	Title    string
	Desc     string
	Elements map[string]int
	Text     []string // the character data of every <text>
}

// chartParseSVG decodes a chart strictly, as an XML parser would.
func chartParseSVG(data []byte) (svgDoc, error) {
	doc := svgDoc{Elements: map[string]int{}}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return doc, nil
		}
		if err != nil {
			return doc, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				doc.Root = tk.Name.Space + " " + tk.Name.Local
				for _, a := range tk.Attr {
					switch a.Name.Local {
					case "width":
						doc.Width = a.Value
					case "height":
						doc.Height = a.Value
					}
				}
			}
			stack = append(stack, tk.Name.Local)
			doc.Elements[tk.Name.Local]++
			text.Reset()
		case xml.CharData:
			text.Write(tk)
		case xml.EndElement:
			switch {
			case len(stack) == 2 && tk.Name.Local == "title":
				doc.Title = text.String()
			case len(stack) == 2 && tk.Name.Local == "desc":
				doc.Desc = text.String()
			case tk.Name.Local == "text" || tk.Name.Local == "tspan":
				if s := strings.TrimSpace(text.String()); s != "" {
					doc.Text = append(doc.Text, s)
				}
				text.Reset()
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func TestChartWellFormed(t *testing.T) {
	for _, tc := range chartCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := chartParseSVG(chartRender(t, tc.r, tc.opt))
			if err != nil {
				t.Fatalf("not well-formed XML: %v", err)
			}
			if doc.Root != "http://www.w3.org/2000/svg svg" {
				t.Errorf("root element is %q, want svg in the SVG namespace", doc.Root)
			}
			if doc.Title == "" || doc.Desc == "" {
				t.Errorf("accessible title %q or desc %q is empty", doc.Title, doc.Desc)
			}
			if doc.Elements["text"] == 0 {
				t.Error("no text at all")
			}
			if doc.Elements["script"]+doc.Elements["foreignObject"]+doc.Elements["img"]+doc.Elements["b"] > 0 {
				t.Errorf("unexpected elements: %v", doc.Elements)
			}
		})
	}
}

// Only the chart's own elements: no evidence string becomes markup.
func TestChartElements(t *testing.T) {
	allowed := map[string]bool{"svg": true, "title": true, "desc": true, "style": true, "rect": true, "line": true,
		"path": true, "circle": true, "text": true, "tspan": true}
	for _, tc := range chartCases(t) {
		doc, err := chartParseSVG(chartRender(t, tc.r, tc.opt))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for el := range doc.Elements {
			if !allowed[el] {
				t.Errorf("%s: element <%s>", tc.name, el)
			}
		}
	}
}

var chartControls = regexp.MustCompile("[\x00-\x09\x0b-\x1f\x7f]|[\u0080-\u009f]|[\u202a-\u202e\u2066-\u2069]")

func TestChartHostileInert(t *testing.T) {
	out := chartRender(t, hostileChartResult(), ChartOptions{TZ: tokyo(t)})
	raw := string(out)
	for _, bad := range []string{"<script", "</script", "<svg onload", "<b>", "<img", "]]>", "<![CDATA[", `"quoted"`, "'apos'", "\x1b", "[31m", "[2J"} {
		if strings.Contains(raw, bad) {
			i := strings.Index(raw, bad)
			t.Errorf("output contains %q: …%s…", bad, raw[max(0, i-60):min(len(raw), i+60)])
		}
	}
	if m := chartControls.FindString(raw); m != "" {
		t.Errorf("output contains control or bidi character %q", m)
	}
	// What the strings say stays readable once the XML is decoded.
	doc, err := chartParseSVG(out)
	if err != nil {
		t.Fatal(err)
	}
	all := doc.Title + "\n" + doc.Desc + "\n" + strings.Join(doc.Text, "\n")
	for _, good := range []string{chartScript, "]]><![CDATA[x]]>", `"quoted" & 'apos' <b>`, "<svg onload=alert(1)>nulbelredRTL", "<img src=x onerror=alert(1)>|evil|"} {
		if !strings.Contains(all, good) {
			t.Errorf("decoded text lost %q", good)
		}
	}
	if m := chartControls.FindString(all); m != "" {
		t.Errorf("decoded text contains control or bidi character %q", m)
	}
}

// The appliance's network stops while the instance is stopped: its lines
// break instead of falling to zero.
func TestChartGaps(t *testing.T) {
	r := fixtureResult(t, "lab-console-stop")
	c := newChart(r, ChartOptions{})
	type seg struct{ From, To string }
	var got []seg
	for _, p := range c.panels {
		for _, s := range p.series {
			if !strings.HasPrefix(s.label, "NetworkIn of") {
				continue
			}
			for _, sg := range s.segs {
				got = append(got, seg{sg[0].Time.Format("15:04"), sg[len(sg)-1].Time.Format("15:04")})
			}
		}
	}
	want := []seg{{"21:08", "21:52"}, {"22:31", "22:48"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NetworkIn segments (-want +got):\n%s", diff)
	}
	svg := string(chartRender(t, r, ChartOptions{}))
	if !strings.Contains(svg, ">no datapoints</text>") {
		t.Error("the gap is not labelled")
	}
}

func TestChartPanels(t *testing.T) {
	tests := []struct {
		name string
		r    *correlate.Result
		want []string
	}{
		{"lab-console-stop", fixtureResult(t, "lab-console-stop"), []string{"Tunnel state", "Tunnel data", "Appliance network", "Transit Gateway drops"}},
		{"tgw-route-deleted", fixturetest.Result(t, "tgw-route-deleted", "fra4-onprem-no-traffic-to-dc"), []string{"Tunnel state", "Tunnel data", "Appliance network", "Transit Gateway drops"}},
		{"inconclusive-ongoing", inconclusiveResult(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range newChart(tc.r, ChartOptions{}).panels {
				name, _, _ := strings.Cut(p.title, " · ")
				got = append(got, name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("panels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChartSpan(t *testing.T) {
	tests := []struct {
		name   string
		r      *correlate.Result
		t0, t1 string
	}{
		// 45 minutes before the breach; the window ends before recovery+30m.
		{"lab-console-stop", fixtureResult(t, "lab-console-stop"), "21:08", "22:50"},
		// Ongoing: to the window's end, rounded up.
		{"tgw-route-deleted", fixturetest.Result(t, "tgw-route-deleted", "fra4-onprem-no-traffic-to-dc"), "13:20", "14:46"},
		{"hostile", hostileChartResult(), "09:15", "10:50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0, t1, ok := chartSpan(tc.r)
			if got := [2]string{t0.Format("15:04"), t1.Format("15:04")}; !ok || got != [2]string{tc.t0, tc.t1} {
				t.Errorf("span %v (ok %v), want %s–%s", got, ok, tc.t0, tc.t1)
			}
		})
	}
}

// No two labels overlap, and no marker's line crosses another's label.
func TestPlaceLabels(t *testing.T) {
	const charW = 6.71
	type chartMk struct {
		x    float64
		text string
	}
	tests := []struct {
		name  string
		cause float64 // 0: none
		ms    []chartMk
		lanes int
		// unlabelled lists the markers expected without a label.
		unlabelled []int
	}{
		{"apart", 0, []chartMk{{100, "CreateTags"}, {400, "RunInstances"}}, 1, nil},
		{"close pair goes one left, one right", 0, []chartMk{{300, "ALARM 19:42:27"}, {260, "CreateTags"}}, 1, nil},
		{"stacked at one time", 0, []chartMk{{300, "RunInstances"}, {300.3, "CreateTags"}, {300.6, "CreateTags"}}, 3, nil},
		{"cause line is an obstacle", 300, []chartMk{{290, "AuthorizeSecurityGroupIngress"}}, 1, nil},
		{"two a lane at one time", 0, []chartMk{{300, "A1"}, {300, "A2"}, {300, "A3"}}, 2, nil},
		{"too many", 0, []chartMk{{300, "A1"}, {300, "A2"}, {300, "A3"}, {300, "A4"}, {300, "A5"}, {300, "A6"}, {300, "A7"},
			{300, "A8"}, {300, "A9"}, {300, "A10"}, {300, "A11"}, {300, "A12"}}, 5, []int{10, 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ms []*chartMark
			for _, m := range tc.ms {
				ms = append(ms, &chartMark{x: m.x, text: m.text})
			}
			var cause *chartMark
			if tc.cause > 0 {
				cause = &chartMark{x: tc.cause, lane: -1}
			}
			lanes := chartPlaceLabels(ms, cause, 8, 992, charW, false)
			if lanes != tc.lanes {
				t.Errorf("%d lanes, want %d", lanes, tc.lanes)
			}
			var unlabelled []int
			for i, m := range ms {
				if m.lane < 0 {
					unlabelled = append(unlabelled, i)
					continue
				}
				if m.la < m.x && m.lb > m.x {
					t.Errorf("%q: label [%g, %g] covers its own line at %g", m.text, m.la, m.lb, m.x)
				}
				if cause != nil && m.la <= cause.x && cause.x <= m.lb {
					t.Errorf("%q: label [%g, %g] crosses the cause's line", m.text, m.la, m.lb)
				}
				for j, o := range ms {
					if j == i || o.lane < 0 {
						continue
					}
					if o.lane == m.lane && m.la < o.lb && o.la < m.lb {
						t.Errorf("%q and %q overlap in lane %d", m.text, o.text, m.lane)
					}
					if o.lane > m.lane && m.la <= o.x && o.x <= m.lb {
						t.Errorf("the line of %q (lane %d) crosses %q (lane %d)", o.text, o.lane, m.text, m.lane)
					}
				}
			}
			if diff := cmp.Diff(tc.unlabelled, unlabelled); diff != "" {
				t.Errorf("unlabelled markers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChartFormatting(t *testing.T) {
	scale := func(v float64) [2]float64 { a, b := chartNiceScale(v, 4); return [2]float64{a, b} }
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"bytes zero", chartBytes(0), "0"},
		{"bytes", chartBytes(512), "512 B"},
		{"kilobytes", chartBytes(500000), "500 kB"},
		{"megabytes", chartBytes(1500000), "1.5 MB"},
		{"scale of nothing", scale(0), [2]float64{1, 1}},
		{"scale of 9 packets", scale(9), [2]float64{10, 5}},
		{"scale of 3.7 MB", scale(3.72e6), [2]float64{4e6, 1e6}},
		{"scale of a round top", scale(2e6), [2]float64{2e6, 5e5}},
		{"scale in two", func() [2]float64 { a, b := chartNiceScale(3.72e6, 2); return [2]float64{a, b} }(), [2]float64{4e6, 2e6}},
		{"period minutes", chartPeriod(300), "5 min"},
		{"period seconds", chartPeriod(90), "90 s"},
		{"shorten keeps the session", chartShorten("AWSReservedSSO_NetworkAdmin_0123456789abcdef/dana.kowalski@example.com", 50),
			"AWSReservedSSO_NetworkA…/dana.kowalski@example.com"},
		{"shorten fits", chartShorten("marco", 50), "marco"},
		{"coordinates", svgNum(-0.04) + " " + svgNum(12.345), "0 12.3"},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestChartTicks(t *testing.T) {
	var got []string
	for _, x := range chartTicks(mustTime("2026-11-03T21:08:00Z"), mustTime("2026-11-03T22:50:00Z"), 898) {
		got = append(got, x.Format("15:04"))
	}
	want := []string{"21:10", "21:20", "21:30", "21:40", "21:50", "22:00", "22:10", "22:20", "22:30", "22:40", "22:50"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ticks (-want +got):\n%s", diff)
	}
}

func TestChartSize(t *testing.T) {
	lab := fixtureResult(t, "lab-console-stop")
	tests := []struct {
		opt  ChartOptions
		w, h string
	}{
		{ChartOptions{Width: 700, Height: 900}, "700", "900"},
		{ChartOptions{Width: 100, Height: 900}, "600", "900"},
		{ChartOptions{Width: 1400, Height: 1200}, "1400", "1200"},
		// Too low for four panels of 60 pixels: the image grows.
		{ChartOptions{Height: 200}, "1000", ">200"},
	}
	for _, tc := range tests {
		doc, err := chartParseSVG(chartRender(t, lab, tc.opt))
		if err != nil {
			t.Fatal(err)
		}
		h := doc.Height
		if tc.h == ">200" {
			if n, err := strconv.Atoi(h); err == nil && n > 200 {
				h = tc.h
			}
		}
		if doc.Width != tc.w || h != tc.h {
			t.Errorf("%+v: %s×%s, want %s×%s", tc.opt, doc.Width, doc.Height, tc.w, tc.h)
		}
	}
}

func TestChartNoResult(t *testing.T) {
	for _, r := range []*correlate.Result{nil, {}} {
		if err := Chart(&bytes.Buffer{}, r, ChartOptions{}); err == nil {
			t.Errorf("Chart(%v) returned no error", r)
		}
	}
}
