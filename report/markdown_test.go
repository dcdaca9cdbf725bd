package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/correlate"
)

func TestMarkdownGolden(t *testing.T) {
	for _, rc := range results(t) {
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
	for _, rc := range results(t) {
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
			// Headings are only the report's own.
			for _, l := range strings.Split(doc, "\n") {
				if strings.HasPrefix(l, "#") && !regexp.MustCompile(`^#{1,3} (Incident: |Summary$|Impact window$|Root cause|Causal chain$|Timeline$|Evidence$|Changes |Traffic |Metrics |Tunnel telemetry |Rejected hypotheses$|#\d+ |Scope$|How this was determined$|Coverage$|API calls$)`).MatchString(l) {
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
	// Links, emphasis and code spans from the data are all escaped.
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
		{"link", "[click](http://evil)", `\[click\](http://evil)`},
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
