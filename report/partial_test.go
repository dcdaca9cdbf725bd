package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/fixturetest"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// A run stopped early says so in every format, and its confidence says
// what it could not read.
func TestPartialReport(t *testing.T) {
	ev := fixturetest.Evidence(t, testenv.Fixture(t, "lab-console-stop"), "VPN-Down")
	ev.Interrupted = "stopped at the --timeout of 45s"
	for i, c := range ev.Coverage {
		if c.Source == "cloudtrail" {
			ev.Coverage[i] = audit.Coverage{Source: c.Source, Status: audit.CoveragePartial,
				Detail: "LookupEvents failed after 1 pages (35 changes read): the run was stopped before this finished"}
		}
	}
	r := correlate.Correlate(ev)

	var txt, md, js bytes.Buffer
	if err := Text(&txt, r, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Partial     bool   `json:"partial"`
		Interrupted string `json:"interrupted"`
		Verdict     struct {
			Confidence string `json:"confidence"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	line := func(s, prefix string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	type marks struct {
		JSONPartial     bool
		JSONInterrupted string
		Confidence      string
		TextHeader      string
		TextConfidence  string
		MarkdownNote    string
	}
	want := marks{
		JSONPartial: true, JSONInterrupted: "stopped at the --timeout of 45s", Confidence: "medium",
		TextHeader:     "partial  the run was stopped at the --timeout of 45s before every source was read: the verdict",
		TextConfidence: "│   • evidence missing: the run was stopped at the --timeout of 45s before every source was read   │",
		MarkdownNote:   "> **Partial report.** The run was stopped at the --timeout of 45s before every source was read: the verdict rests on the evidence read before then. See [Coverage](#coverage) for how far each source got.",
	}
	got := marks{doc.Partial, doc.Interrupted, doc.Verdict.Confidence, line(txt.String(), "partial"),
		line(txt.String(), "│   • evidence missing: the run was stopped"), line(md.String(), "> **Partial report.**")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partial marks (-want +got):\n%s", diff)
	}
}
