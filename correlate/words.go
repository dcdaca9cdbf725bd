package correlate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// hm and hms format times as UTC clock times; the renderers add dates and
// other zones.
func hm(t time.Time) string  { return t.UTC().Format("15:04") }
func hms(t time.Time) string { return t.UTC().Format("15:04:05") }

// dur formats a duration the way an engineer says it: 45s, 3m, 1h05m.
func dur(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		if s := int(d.Seconds()) % 60; s != 0 {
			return fmt.Sprintf("%dm%02ds", int(d.Minutes()), s)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func nonNeg(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

func round(f float64) float64 { return math.Round(f*100) / 100 }

func num(f float64) string {
	if math.IsNaN(f) {
		return "no data"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func level(s Shift) string {
	if s.Stopped || math.IsNaN(s.After) {
		return "no data"
	}
	return num(s.After)
}

func label(r audit.Resource) string {
	if r.Name != "" && r.Name != r.ID {
		return fmt.Sprintf("%s (%s)", r.ID, r.Name)
	}
	return r.ID
}

func describeTargets(ts []audit.Resource) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, label(t))
	}
	if len(parts) == 0 {
		return "nothing on the path"
	}
	return strings.Join(parts, ", ")
}

func ids(ts []audit.Resource) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func anyType(ts []audit.Resource, types []string) bool {
	for _, t := range ts {
		for _, ty := range types {
			if t.Type == ty {
				return true
			}
		}
	}
	return false
}

func touchesID(ts []audit.Resource, id string) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

func viaText(v string) string {
	switch v {
	case "console":
		return "console"
	case "cli":
		return "AWS CLI"
	case "sdk":
		return "SDK"
	case "terraform":
		return "Terraform"
	case "cloudformation":
		return "CloudFormation"
	case "aws-service":
		return "AWS service"
	case "":
		return "unknown client"
	}
	return v
}

func errText(c audit.Change) string {
	if c.ErrorMessage != "" {
		return c.ErrorCode + ": " + c.ErrorMessage
	}
	return c.ErrorCode
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func hasSeries(ev *audit.Evidence, class string) bool {
	for _, s := range ev.Traffic.Series {
		if s.Key.Class == class {
			return true
		}
	}
	return false
}

func hasMetric(ev *audit.Evidence, ns string) bool {
	for _, s := range ev.Metrics {
		if s.ID.Namespace == ns && len(s.Points) > 0 {
			return true
		}
	}
	return false
}

func hasMetricName(ev *audit.Evidence, name string) bool {
	for _, s := range ev.Metrics {
		if s.ID.Name == name && len(s.Points) > 0 {
			return true
		}
	}
	return false
}

func covered(ev *audit.Evidence, source string) bool {
	for _, c := range ev.Coverage {
		if c.Source == source {
			return c.Status != audit.CoverageMissing
		}
	}
	return false
}

func firstGap(gs []FlowGap, class string) *FlowGap {
	for i := range gs {
		if gs[i].Key.Class == class {
			return &gs[i]
		}
	}
	return nil
}

func firstGapAfter(gs []FlowGap, class string, t time.Time) *FlowGap {
	for i := range gs {
		if gs[i].Key.Class == class && !gs[i].LastSeen.Add(gs[i].Uncertainty).Before(t) {
			return &gs[i]
		}
	}
	return nil
}

func peersOf(gs []FlowGap, class string) string {
	var peers []string
	for _, g := range gs {
		if g.Key.Class == class && g.Key.Peer != "" {
			peers = appendUnique(peers, g.Key.Peer)
		}
	}
	switch len(peers) {
	case 0:
		return "the tunnel endpoints"
	case 2:
		return "both tunnel endpoints (" + strings.Join(peers, ", ") + ")"
	}
	return strings.Join(peers, ", ")
}

func gapList(gs []FlowGap) string {
	var parts []string
	for _, g := range gs {
		p := g.Key.Interface + " " + g.Key.Direction
		if g.Key.Peer != "" {
			p += " " + g.Key.Peer
		}
		parts = append(parts, p)
	}
	if len(parts) > 4 {
		return strings.Join(parts[:4], ", ") + fmt.Sprintf(" and %d more", len(parts)-4)
	}
	return strings.Join(parts, ", ")
}

func firstN(list []string, n int) []string {
	if len(list) > n {
		return append([]string(nil), list[:n]...)
	}
	return append([]string(nil), list...)
}
