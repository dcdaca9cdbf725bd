package correlate

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// Sources named in the timeline.
const (
	srcTrail    = "cloudtrail:LookupEvents"
	srcHistory  = "cloudwatch:DescribeAlarmHistory"
	srcMetrics  = "cloudwatch:GetMetricData"
	srcTelemtry = "ec2:DescribeVpnConnections"
)

var kindOrder = map[string]int{KindChange: 0, KindState: 1, KindTraffic: 2, KindMetric: 3, KindAlarm: 4}

// timeline builds the one timeline: the path's changes, what the traffic
// and metrics did, the tunnels' telemetry and the alarm.
func (x *scorer) timeline() {
	r, ev := x.r, x.ev
	var es []Entry
	add := func(e Entry) { es = append(es, e) }
	causeID := ""
	if r.Verdict.Cause != nil {
		causeID = r.Verdict.Cause.Change.EventID
	}
	for _, h := range r.Hypotheses {
		c := h.Change
		role := RoleContext
		switch {
		case c.EventID == causeID:
			role = RoleCause
		case x.linked[c.EventID] != "" && x.linked[c.EventID] == causeID:
			role = RoleEffect
		}
		res := ids(h.Targets)
		if len(res) == 0 {
			res = firstN(c.Resources, 3)
		}
		add(Entry{Time: c.Time, Kind: KindChange, Role: role, Summary: changeSummary(c, h.Targets),
			Resources: res, Source: srcTrail, EventID: c.EventID})
	}
	for _, g := range groupGaps(r.Gaps) {
		add(Entry{Time: g.at, Kind: KindTraffic, Role: RoleEffect, Summary: g.summary, Resources: g.resources, Source: entrySource(g.source)})
		if g.resumed != nil {
			add(Entry{Time: *g.resumed, Kind: KindTraffic, Role: RoleContext, Summary: g.resumedSummary, Resources: g.resources, Source: entrySource(g.source)})
		}
	}
	for _, o := range r.Rejects {
		add(Entry{Time: o.FirstAt, Kind: KindTraffic, Role: RoleEffect, Source: entrySource(o.Source), Resources: []string{o.Key.Interface},
			Summary: fmt.Sprintf("REJECT records appear on %s (%s%s, %d records)", o.Key.Interface, classText(o.Key.Class), peerText(o.Key.Peer), o.Records)})
	}
	for _, s := range r.Silences {
		add(Entry{Time: s.From, Kind: KindTraffic, Role: RoleEffect, Source: entrySource(s.Source), Resources: []string{s.Interface},
			Summary: fmt.Sprintf("%s reports NODATA: no traffic at all until %s", s.Interface, hm(s.To))})
	}
	for _, s := range r.Shifts {
		sum := fmt.Sprintf("%s %s from %s to %s", s.Label, verb(s), num(s.Before), level(s))
		if s.Stopped {
			sum = fmt.Sprintf("%s stops reporting (was %s)", s.Label, num(s.Before))
		}
		add(Entry{Time: s.At, Kind: KindMetric, Role: RoleEffect, Summary: sum, Resources: []string{s.Subject}, Source: srcMetrics})
	}
	for _, t := range ev.Scope.Tunnels {
		if t.LastStatusChange.IsZero() || !ev.Window.Contains(t.LastStatusChange) {
			continue
		}
		role := RoleContext
		if t.Status == "DOWN" {
			role = RoleEffect
		}
		msg := ""
		if t.StatusMessage != "" {
			msg = " (" + t.StatusMessage + ")"
		}
		add(Entry{Time: t.LastStatusChange, Kind: KindState, Role: role, Source: srcTelemtry, Resources: []string{t.OutsideIP, t.VpnID},
			Summary: fmt.Sprintf("tunnel %s of %s is %s%s", t.OutsideIP, t.VpnID, t.Status, msg)})
	}
	inc := ev.Incident
	a := inc.Alarm
	dims := ids(nil)
	for _, d := range a.Metric.Dimensions {
		dims = append(dims, d.Value)
	}
	src := srcHistory
	if inc.Episode.Source != "DescribeAlarmHistory" {
		src = "cloudwatch:DescribeAlarms"
	}
	add(Entry{Time: inc.Episode.BreachStartedAt, Kind: KindAlarm, Role: RoleEffect, Resources: dims, Source: src,
		Summary: fmt.Sprintf("%s %s %g begins (%s)", a.Metric.Name, a.ComparisonSymbol(), a.Threshold, inc.Episode.BreachBasis)})
	add(Entry{Time: inc.Episode.FiredAt, Kind: KindAlarm, Role: RoleEffect, Resources: dims, Source: src,
		Summary: fmt.Sprintf("alarm %s goes to ALARM", a.Name)})
	if inc.Episode.RecoveredAt != nil {
		add(Entry{Time: *inc.Episode.RecoveredAt, Kind: KindAlarm, Role: RoleContext, Resources: dims, Source: src,
			Summary: fmt.Sprintf("alarm %s returns to OK", a.Name)})
	}
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Time.Equal(es[j].Time) {
			return es[i].Time.Before(es[j].Time)
		}
		if kindOrder[es[i].Kind] != kindOrder[es[j].Kind] {
			return kindOrder[es[i].Kind] < kindOrder[es[j].Kind]
		}
		return es[i].Summary < es[j].Summary
	})
	r.Timeline = es
}

// flowSource names the call a flow log's records came through and where
// they live: "logs:FilterLogEvents /vpc/flowlogs", "s3:GetObject
// arn:aws:s3:::bucket/prefix", "athena:StartQueryExecution …".
func flowSource(fl audit.FlowLog) string {
	by := fl.ReadBy
	if by == "" {
		by = "logs:FilterLogEvents"
	}
	where := fl.LogGroup
	if where == "" {
		where = fl.Destination
	}
	return strings.TrimSpace(by + " " + where)
}

// entrySource is the timeline source of a finding read from where.
func entrySource(where string) string {
	if where == "" {
		return "logs:FilterLogEvents"
	}
	return where
}

// gapGroup is the gaps of one interface and class, told as one event.
type gapGroup struct {
	at             time.Time
	resumed        *time.Time
	summary        string
	resumedSummary string
	resources      []string
	source         string
}

func groupGaps(gaps []FlowGap) []gapGroup {
	type key struct{ eni, class string }
	byKey := map[key][]FlowGap{}
	var order []key
	for _, g := range gaps {
		k := key{g.Key.Interface, g.Key.Class}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], g)
	}
	var out []gapGroup
	for _, k := range order {
		gs := byKey[k]
		first := gs[0]
		var peers, dirs []string
		var resumed *time.Time
		allResumed, oneWay := true, false
		for _, g := range gs {
			oneWay = oneWay || g.OneWay
			if g.Key.Peer != "" {
				peers = appendUnique(peers, g.Key.Peer)
			}
			dirs = appendUnique(dirs, g.Key.Direction)
			if g.ResumedAt == nil {
				allResumed = false
			} else if resumed == nil || g.ResumedAt.After(*resumed) {
				t := *g.ResumedAt
				resumed = &t
			}
		}
		if !allResumed {
			resumed = nil
		}
		what := classText(k.class)
		if len(peers) > 0 {
			what += " with " + strings.Join(peers, ", ")
		}
		gg := gapGroup{at: first.LastSeen, resumed: resumed, source: first.Source,
			resources: append([]string{k.eni}, peers...),
			summary:   fmt.Sprintf("%s on %s stops (%s; last records end %s, ±%s)", what, k.eni, strings.Join(dirs, ", "), hms(first.LastSeen), dur(first.Uncertainty)),
		}
		if oneWay {
			gg.summary += "; the other direction went on, unanswered"
		}
		if resumed != nil {
			gg.resumedSummary = fmt.Sprintf("%s on %s resumes", what, k.eni)
		}
		out = append(out, gg)
	}
	return out
}

func classText(c string) string {
	switch c {
	case audit.FlowIPsec:
		return "IPsec"
	case audit.FlowCrossVPN:
		return "traffic across the VPN"
	}
	return "traffic"
}

func peerText(p string) string {
	if p == "" {
		return ""
	}
	return " with " + p
}

func changeSummary(c audit.Change, ts []audit.Resource) string {
	on := describeTargets(ts)
	if len(ts) == 0 {
		on = strings.Join(firstN(c.Resources, 3), ", ")
	}
	s := c.EventName
	if on != "" {
		s += " on " + on
	}
	s += fmt.Sprintf(" by %s (%s", c.Actor.Name, viaText(c.Via))
	if c.SourceIP != "" && c.SourceIP != c.Actor.Name {
		s += ", from " + c.SourceIP
	}
	s += ")"
	if c.Failed() {
		s += " — failed: " + errText(c)
	}
	return s
}

func verb(s Shift) string {
	if s.Direction == "rise" {
		return "rises"
	}
	return "falls"
}
