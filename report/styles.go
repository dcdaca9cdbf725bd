package report

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// Colours of the terminal report. Each is adaptive: the Light variant is
// used on light backgrounds, the Dark one on dark backgrounds. They are
// all here so the report's look can be changed in one place.
var (
	colorCause   = lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF6B6B"} // red-ish
	colorEffect  = lipgloss.AdaptiveColor{Light: "#8A5300", Dark: "#FFB454"} // amber
	colorContext = lipgloss.AdaptiveColor{Light: "#767676", Dark: "#8A8A8A"} // dim grey
	colorMuted   = lipgloss.AdaptiveColor{Light: "#6C6C6C", Dark: "#949494"}
	colorHeading = lipgloss.AdaptiveColor{Light: "#1F4E79", Dark: "#87AFFF"}
	colorTitle   = lipgloss.AdaptiveColor{Light: "#000000", Dark: "#FFFFFF"}

	colorOK      = lipgloss.AdaptiveColor{Light: "#2E7D32", Dark: "#87D787"} // green
	colorPartial = lipgloss.AdaptiveColor{Light: "#8A5300", Dark: "#FFB454"} // amber
	colorMissing = lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF6B6B"} // red

	colorKindChange  = lipgloss.AdaptiveColor{Light: "#7B3FA0", Dark: "#D7AFFF"} // violet
	colorKindTraffic = lipgloss.AdaptiveColor{Light: "#0B6E99", Dark: "#5FD7FF"} // blue
	colorKindMetric  = lipgloss.AdaptiveColor{Light: "#00796B", Dark: "#5FD7AF"} // teal
	colorKindAlarm   = lipgloss.AdaptiveColor{Light: "#C62828", Dark: "#FF8787"} // red
	colorKindState   = lipgloss.AdaptiveColor{Light: "#6D4C41", Dark: "#D7AF87"} // brown

	// The verdict box's border, by status and confidence: a firm answer is
	// green, a hedged one amber, a weak or missing one grey-red.
	colorVerdictHigh         = lipgloss.AdaptiveColor{Light: "#2E7D32", Dark: "#87D787"}
	colorVerdictMedium       = lipgloss.AdaptiveColor{Light: "#8A5300", Dark: "#FFB454"}
	colorVerdictLow          = lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF8787"}
	colorVerdictInconclusive = lipgloss.AdaptiveColor{Light: "#5E35B1", Dark: "#AF87FF"}
)

// styles are the lipgloss styles of one rendering, bound to its renderer
// (which decides the colour profile).
type styles struct {
	Title   lipgloss.Style // the alarm's name
	Heading lipgloss.Style // section headings
	Label   lipgloss.Style // "metric", "impact", … in the header
	Muted   lipgloss.Style // secondary text: sources, IDs, column heads
	Bold    lipgloss.Style
	Plain   lipgloss.Style
	Alert   lipgloss.Style // an incident still going on

	Why    lipgloss.Style // the ✓ of a reason for
	WhyNot lipgloss.Style // the ✗ of a reason against

	role     map[string]*lipgloss.Style
	kind     map[string]*lipgloss.Style
	coverage map[string]*lipgloss.Style

	box       lipgloss.Style // the verdict box, without its border colour
	verdict   map[string]lipgloss.AdaptiveColor
	verdictIn lipgloss.AdaptiveColor
}

func newStyles(r *lipgloss.Renderer) *styles {
	fg := func(c lipgloss.TerminalColor) lipgloss.Style { return r.NewStyle().Foreground(c) }
	ref := func(s lipgloss.Style) *lipgloss.Style { return &s }
	return &styles{
		Title:   r.NewStyle().Bold(true).Foreground(colorTitle),
		Heading: r.NewStyle().Bold(true).Foreground(colorHeading),
		Label:   fg(colorMuted),
		Muted:   fg(colorMuted),
		Bold:    r.NewStyle().Bold(true),
		Plain:   r.NewStyle(),
		Alert:   fg(colorMissing).Bold(true),
		Why:     fg(colorOK),
		WhyNot:  fg(colorMissing),
		role: map[string]*lipgloss.Style{
			correlate.RoleCause:   ref(fg(colorCause).Bold(true)),
			correlate.RoleEffect:  ref(fg(colorEffect)),
			correlate.RoleContext: ref(fg(colorContext).Faint(true)),
		},
		kind: map[string]*lipgloss.Style{
			correlate.KindChange:  ref(fg(colorKindChange)),
			correlate.KindTraffic: ref(fg(colorKindTraffic)),
			correlate.KindMetric:  ref(fg(colorKindMetric)),
			correlate.KindAlarm:   ref(fg(colorKindAlarm)),
			correlate.KindState:   ref(fg(colorKindState)),
		},
		coverage: map[string]*lipgloss.Style{
			audit.CoverageOK:      ref(fg(colorOK)),
			audit.CoveragePartial: ref(fg(colorPartial).Bold(true)),
			audit.CoverageMissing: ref(fg(colorMissing).Bold(true)),
		},
		box: r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		verdict: map[string]lipgloss.AdaptiveColor{
			correlate.High:   colorVerdictHigh,
			correlate.Medium: colorVerdictMedium,
			correlate.Low:    colorVerdictLow,
		},
		verdictIn: colorVerdictInconclusive,
	}
}

// Role is the style of a timeline role (cause, effect, context).
func (s *styles) Role(role string) *lipgloss.Style {
	if st, ok := s.role[role]; ok {
		return st
	}
	return &s.Plain
}

// Kind is the style of a timeline kind (change, traffic, …).
func (s *styles) Kind(kind string) *lipgloss.Style {
	if st, ok := s.kind[kind]; ok {
		return st
	}
	return &s.Plain
}

// Coverage is the style of a coverage status (ok, partial, missing).
func (s *styles) Coverage(status string) *lipgloss.Style {
	if st, ok := s.coverage[status]; ok {
		return st
	}
	return &s.Plain
}

// verdictColor is the colour of the verdict box's border and status.
func (s *styles) verdictColor(status, confidence string) lipgloss.AdaptiveColor {
	if status != correlate.StatusRootCause {
		return s.verdictIn
	}
	if c, ok := s.verdict[confidence]; ok {
		return c
	}
	return s.verdict[correlate.Low]
}

// Box is the verdict box, its border coloured by status and confidence.
func (s *styles) Box(status, confidence string) lipgloss.Style {
	return s.box.BorderForeground(s.verdictColor(status, confidence))
}

// Status is the style of the verdict's status word.
func (s *styles) Status(status, confidence string) *lipgloss.Style {
	st := s.Bold.Foreground(s.verdictColor(status, confidence))
	return &st
}
