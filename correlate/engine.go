package correlate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// Thresholds of the verdict (see doc.go).
const (
	causeScore     = 0.45 // a cause needs at least this score
	causeRelation  = 0.6  // and a mechanism that breaks the path
	highScore      = 0.7
	mediumScore    = 0.55
	timingHorizon  = 20 * time.Minute
	serviceLinkMax = 2 * time.Hour
)

// Correlate turns evidence into a result. It is pure and deterministic:
// the same evidence always gives the same result.
func Correlate(ev *audit.Evidence) *Result {
	inc := ev.Incident
	ep := inc.Episode
	r := &Result{Evidence: ev}
	r.Impact = impact(ev)
	breach := ep.BreachStartedAt
	r.Gaps = flowGaps(ev, breach)
	r.Rejects = rejectOnsets(ev, breach)
	r.Silences = silences(ev, breach)
	r.Shifts = shifts(ev, breach)

	x := &scorer{ev: ev, r: r, index: indexScope(ev.Scope)}
	x.hypotheses()
	x.verdict()
	class := ""
	if r.Verdict.Cause != nil {
		class = r.Verdict.Cause.Class
	}
	r.Verdict.Recommendations = recommendations[class]
	x.timeline()
	return r
}

func impact(ev *audit.Evidence) Impact {
	ep := ev.Incident.Episode
	im := Impact{BreachStartedAt: ep.BreachStartedAt, FiredAt: ep.FiredAt, RecoveredAt: ep.RecoveredAt,
		TimeToDetect: ep.FiredAt.Sub(ep.BreachStartedAt)}
	if ep.RecoveredAt != nil {
		im.Duration = ep.RecoveredAt.Sub(ep.BreachStartedAt)
	} else {
		im.Ongoing = true
		im.Duration = ev.CollectedAt.Sub(ep.BreachStartedAt)
	}
	return im
}

// indexScope maps every name a change may use for a scoped resource (its
// ID, an Elastic IP's address and association, a tunnel's outside IP) to
// the resource.
func indexScope(s audit.Scope) map[string]audit.Resource {
	idx := map[string]audit.Resource{}
	for _, r := range s.Resources {
		idx[r.ID] = r
		if r.Type == audit.TypeElasticIP {
			for _, k := range []string{"public-ip", "association-id"} {
				if v := r.Attrs[k]; v != "" {
					idx[v] = r
				}
			}
		}
	}
	return idx
}

type scorer struct {
	ev    *audit.Evidence
	r     *Result
	index map[string]audit.Resource
	// linked maps a service call's event ID to the person's call it
	// carried out.
	linked map[string]string
}

func (x *scorer) targets(c audit.Change) []audit.Resource {
	var out []audit.Resource
	seen := map[string]bool{}
	for _, id := range c.Resources {
		if res, ok := x.index[id]; ok && !seen[res.ID] {
			seen[res.ID] = true
			out = append(out, res)
		}
	}
	return out
}

// hypotheses scores every mutating call that touches the path.
func (x *scorer) hypotheses() {
	ev := x.ev
	x.linked = map[string]string{}
	var hs []Hypothesis
	for _, c := range ev.Changes {
		if c.ReadOnly {
			continue
		}
		ts := x.targets(c)
		inferred := ""
		if len(ts) == 0 {
			if ts = x.inferredTargets(c); len(ts) > 0 {
				inferred = "it names only an association ID; the customer gateway's Elastic IP is unassociated now, so this call is taken to have removed its association"
			}
		}
		if len(ts) == 0 {
			if h, ok := x.offPath(c); ok {
				hs = append(hs, h)
			} else {
				x.r.Unrelated++
			}
			continue
		}
		h := x.score(c, ts)
		if inferred != "" {
			h.Why = append([]string{inferred}, h.Why...)
		}
		hs = append(hs, h)
	}
	x.linkServiceCalls(hs)
	hs = x.prune(hs)
	sort.SliceStable(hs, func(i, j int) bool {
		if hs[i].Score != hs[j].Score {
			return hs[i].Score > hs[j].Score
		}
		return hs[i].Change.Time.After(hs[j].Change.Time)
	})
	for i := range hs {
		hs[i].Rank = i + 1
	}
	x.r.Hypotheses = hs
}

// prune keeps the candidates worth a reader's attention: every call that
// could break the path, and harmless ones only near the breach. Harmless
// calls repeated by the same actor on the same resources (an agent's
// heartbeat) collapse into the one closest before the breach.
func (x *scorer) prune(hs []Hypothesis) []Hypothesis {
	ep := x.ev.Incident.Episode
	near := func(t time.Time) bool { return !t.Before(ep.BreachStartedAt.Add(-offPathSpan)) && !t.After(ep.FiredAt) }
	// Calls on the path up to the recovery are how it was fixed.
	fixedBy := x.ev.Window.End
	if ep.RecoveredAt != nil {
		fixedBy = *ep.RecoveredAt
	}
	type key struct{ name, actor, targets string }
	groups := map[key][]int{}
	var out []Hypothesis
	for i, h := range hs {
		recovery := len(h.Targets) > 0 && h.Change.Time.After(ep.FiredAt) && !h.Change.Time.After(fixedBy)
		if h.Relation >= 0.1 || h.Change.Failed() && len(h.Targets) > 0 || recovery && !x.repeats(hs, i) {
			out = append(out, h)
			continue
		}
		if !near(h.Change.Time) {
			x.r.Unrelated++
			continue
		}
		k := key{h.Change.EventName, h.Change.Actor.Name, strings.Join(ids(h.Targets), ",")}
		groups[k] = append(groups[k], i)
	}
	var keys []key
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return groups[keys[i]][0] < groups[keys[j]][0] })
	for _, k := range keys {
		idx := groups[k]
		best := idx[0]
		for _, i := range idx {
			if !hs[i].Change.Time.After(ep.BreachStartedAt) && hs[i].Change.Time.After(hs[best].Change.Time) {
				best = i
			}
		}
		h := hs[best]
		if n := len(idx); n > 1 {
			h.WhyNot = append(h.WhyNot, fmt.Sprintf("the same call by the same actor on the same resources repeats %d times in the window: routine, not a change", n))
			x.r.Unrelated += n - 1
		}
		out = append(out, h)
	}
	return out
}

// repeats reports whether the same call by the same actor on the same
// resources occurs more than once among hs (an agent's heartbeat).
func (x *scorer) repeats(hs []Hypothesis, i int) bool {
	n := 0
	for _, h := range hs {
		if h.Change.EventName == hs[i].Change.EventName && h.Change.Actor.Name == hs[i].Change.Actor.Name &&
			strings.Join(ids(h.Targets), ",") == strings.Join(ids(hs[i].Targets), ",") {
			n++
		}
	}
	return n > 1
}

// inferredTargets links a DisassociateAddress that names an association
// no longer known to the customer gateway's Elastic IP when that address is
// unassociated now: the describe calls ran after the change and cannot name
// the association it removed.
func (x *scorer) inferredTargets(c audit.Change) []audit.Resource {
	if c.EventName != "DisassociateAddress" || c.Failed() {
		return nil
	}
	for _, r := range x.ev.Scope.Resources {
		if r.Type == audit.TypeElasticIP && r.Side == audit.SideCustomer && r.State == "unassociated" && r.Attrs["association-id"] == "" {
			return []audit.Resource{r}
		}
	}
	return nil
}

// offPath turns a network or compute change near the breach that touches
// nothing on the path into a rejected hypothesis, so the report says why
// it was not the cause. Other changes are only counted.
func (x *scorer) offPath(c audit.Change) (Hypothesis, bool) {
	ep := x.ev.Incident.Episode
	if !offPathSources[c.EventSource] || c.Time.Before(ep.BreachStartedAt.Add(-offPathSpan)) || c.Time.After(ep.FiredAt) {
		return Hypothesis{}, false
	}
	what := "nothing named in the call"
	if len(c.Resources) > 0 {
		what = strings.Join(c.Resources, ", ")
	}
	h := Hypothesis{Change: c, Mechanism: "touches nothing on the path"}
	h.WhyNot = append(h.WhyNot, fmt.Sprintf("it touches %s, which is not on the path from the alarm to the customer gateway", what))
	if c.Failed() {
		h.WhyNot = append(h.WhyNot, fmt.Sprintf("the call failed (%s)", errText(c)))
	}
	return h, true
}

// offPathSources are the services whose off-path changes near the breach
// are shown as rejected candidates; offPathSpan is how far back.
var offPathSources = map[string]bool{"ec2.amazonaws.com": true, "autoscaling.amazonaws.com": true}

const offPathSpan = 90 * time.Minute

func (x *scorer) score(c audit.Change, ts []audit.Resource) Hypothesis {
	ev := x.ev
	h := Hypothesis{Change: c, Targets: ts}
	rl, known := classify(c)
	if !known {
		rl = rule{breaking: 0.3, mechanism: fmt.Sprintf("changes %s on the path; vpnaudit has no rule for what %s does to a VPN", describeTargets(ts), c.EventName),
			effects: []effect{effIPsecStops, effCrossStops}, lag: 5 * time.Minute}
	}
	h.Mechanism = rl.mechanism
	h.Relation = rl.breaking
	if len(rl.targets) > 0 && !anyType(ts, rl.targets) {
		h.Relation *= 0.3
		h.WhyNot = append(h.WhyNot, fmt.Sprintf("%s acts on %s, but the path's %s is not one of those", c.EventName, strings.Join(rl.targets, "/"), describeTargets(ts)))
	}
	// A change to one tunnel cannot take down another: when the alarm
	// watches a single tunnel, a call naming a different one is unrelated.
	if watched := ev.Incident.Alarm.Metric.Dimension("TunnelIpAddress"); watched != "" {
		if other := tunnelOf(c.Request); other != "" && other != watched {
			h.Relation *= 0.2
			h.WhyNot = append(h.WhyNot, fmt.Sprintf("it changes tunnel %s, and the alarm watches tunnel %s", other, watched))
		}
	}
	for _, t := range ts {
		h.Why = append(h.Why, fmt.Sprintf("it touches %s %s on the path (%s)", t.Type, label(t), t.Relation))
	}
	if rl.breaking >= causeRelation {
		h.Why = append(h.Why, "it "+rl.mechanism)
	} else {
		h.WhyNot = append(h.WhyNot, "it "+rl.mechanism)
	}

	// Timing: a call may come up to the end of the first breaching period
	// (the breach began somewhere inside it); before the breach start, the
	// time beyond the mechanism's usual lag decays.
	ep := ev.Incident.Episode
	period := time.Duration(ev.Incident.Alarm.Metric.Period) * time.Second
	lead := ep.BreachStartedAt.Sub(c.Time)
	switch {
	case c.Time.After(ep.BreachStartedAt.Add(period)):
		h.Timing = 0
		h.WhyNot = append(h.WhyNot, fmt.Sprintf("it happened at %s, after the breach had begun (%s)", hm(c.Time), hm(ep.BreachStartedAt)))
	default:
		h.Timing = math.Exp(-math.Max(0, (lead-rl.lag).Minutes()) / timingHorizon.Minutes())
		if lead >= 0 {
			h.Why = append(h.Why, fmt.Sprintf("it came %s before the breach began (%s)", dur(lead), hm(ep.BreachStartedAt)))
		} else {
			h.Why = append(h.Why, fmt.Sprintf("it came during the first breaching period (%s–%s)", hm(ep.BreachStartedAt), hm(ep.BreachStartedAt.Add(period))))
		}
		if h.Timing < 0.3 && rl.lag > 0 {
			h.WhyNot = append(h.WhyNot, fmt.Sprintf("it came %s before the breach, longer than such a change takes to show (about %s)", dur(lead), dur(rl.lag)))
		}
	}

	// Corroboration: the mechanism's expected effects in the evidence. The
	// findings describe the time around the breach, so a call long before
	// it is judged by timing alone, not by effects they cannot show.
	seen, checkable := 0, 0
	effects := rl.effects
	if lead > nearBefore+rl.lag {
		effects = nil
	}
	for _, e := range effects {
		ok, can, why, whyNot := x.check(e, c, rl.lag, ts)
		if !can {
			continue
		}
		checkable++
		if ok {
			seen++
			h.Why = append(h.Why, why)
		} else if whyNot != "" {
			h.WhyNot = append(h.WhyNot, whyNot)
		}
	}
	switch {
	case checkable > 0:
		h.Corroboration = float64(seen) / float64(checkable)
	case len(effects) > 0:
		h.Corroboration = 0.5
		h.WhyNot = append(h.WhyNot, "no flow log or metric could confirm its effect")
	}
	if x.stateConfirms(c, ts) {
		h.Corroboration = math.Min(1, h.Corroboration+0.25)
	}
	if c.Failed() {
		h.Relation = 0
		h.WhyNot = append([]string{fmt.Sprintf("the call failed (%s): it shows intent, but changed nothing", errText(c))}, h.WhyNot...)
	}
	h.Score = round(h.Relation * h.Timing * (0.4 + 0.6*h.Corroboration))
	return h
}

// tunnelOf returns the tunnel outside IP a VPN call names, if any.
func tunnelOf(request string) string {
	var req struct {
		VpnTunnelOutsideIPAddress string `json:"vpnTunnelOutsideIpAddress"`
	}
	if json.Unmarshal([]byte(request), &req) != nil {
		return ""
	}
	return req.VpnTunnelOutsideIPAddress
}

// stateConfirms reports whether the describe output agrees with the call:
// a stopped appliance whose state reason names the call's time, with a why.
func (x *scorer) stateConfirms(c audit.Change, ts []audit.Resource) bool {
	if c.EventName != "StopInstances" && c.EventName != "TerminateInstances" {
		return false
	}
	for _, t := range ts {
		if t.Type == audit.TypeInstance && (t.State == "stopped" || t.State == "terminated" || t.State == "stopping" || t.State == "shutting-down") &&
			strings.Contains(t.Attrs["state-reason"], c.Time.Format("2006-01-02 15:04:05")) {
			return true
		}
	}
	return false
}

// check looks for one expected effect after the call. It returns whether
// it was seen, whether the evidence could show it at all, and the words.
func (x *scorer) check(e effect, c audit.Change, lag time.Duration, ts []audit.Resource) (bool, bool, string, string) {
	ev, r := x.ev, x.r
	after := func(t time.Time, slack time.Duration) bool {
		return !t.Before(c.Time.Add(-slack)) && !t.After(c.Time.Add(lag+15*time.Minute+slack))
	}
	switch e {
	case effIPsecStops, effCrossStops:
		class := audit.FlowIPsec
		what := "IPsec traffic between the appliance and the tunnel endpoints"
		if e == effCrossStops {
			class, what = audit.FlowCrossVPN, "traffic across the VPN"
		}
		if !hasSeries(ev, class) {
			return false, false, "", ""
		}
		var hit []FlowGap
		var earlier *FlowGap
		for i, g := range r.Gaps {
			if g.Key.Class != class {
				continue
			}
			if after(g.LastSeen, g.Uncertainty) {
				hit = append(hit, g)
			} else if g.LastSeen.Add(g.Uncertainty).Before(c.Time) && earlier == nil {
				earlier = &r.Gaps[i]
			}
		}
		if len(hit) > 0 {
			return true, true, fmt.Sprintf("%s stopped at %s (±%s), %s after the call: %s", what, hms(hit[0].LastSeen), dur(hit[0].Uncertainty),
				dur(nonNeg(hit[0].LastSeen.Sub(c.Time))), gapList(hit)), ""
		}
		if earlier != nil {
			return false, true, "", fmt.Sprintf("%s had already stopped at %s, before the call", what, hm(earlier.LastSeen))
		}
		return false, true, "", fmt.Sprintf("the flow logs show no stop of %s after it", what)
	case effApplianceSilent:
		for _, s := range r.Silences {
			if after(s.From, 2*time.Minute) {
				return true, true, fmt.Sprintf("the appliance's %s reported NODATA (no traffic at all) from %s", s.Interface, hm(s.From)), ""
			}
		}
		for _, s := range r.Shifts {
			if s.Stopped && s.Series.Namespace == "AWS/EC2" && after(s.At, 2*time.Minute) && touchesID(ts, s.Subject) {
				return true, true, fmt.Sprintf("%s stopped reporting at %s", s.Label, hm(s.At)), ""
			}
		}
		// Without NODATA records or EC2 metrics, the appliance's ENI going
		// quiet altogether shows it; any traffic well after the call
		// contradicts it.
		quietFrom := c.Time.Add(lag + 5*time.Minute)
		var before, lastAfter time.Time
		for _, s := range ev.Traffic.Series {
			if !isAppliance(ev, s.Key.Interface) {
				continue
			}
			for _, b := range s.Buckets {
				if !b.Start.After(quietFrom) && b.Start.After(before) {
					before = b.Start
				} else if b.Start.After(quietFrom) && b.Start.After(lastAfter) {
					lastAfter = b.Start
				}
			}
		}
		switch {
		case !lastAfter.IsZero():
			return false, true, "", fmt.Sprintf("the appliance's ENI kept carrying traffic after it (until %s at least)", hm(lastAfter))
		case !before.IsZero():
			return true, true, fmt.Sprintf("no traffic at all crossed the appliance's ENI after %s", hm(before.Add(time.Minute))), ""
		}
		return false, false, "", ""
	case effTunnelsDown:
		can := false
		for _, s := range r.Shifts {
			if s.Series.Name == "TunnelState" && s.Direction == "drop" {
				can = true
				if after(s.At, time.Minute) {
					return true, true, fmt.Sprintf("%s fell from %g to %s at %s", s.Label, s.Before, level(s), hm(s.At)), ""
				}
			}
		}
		var downs []string
		for _, t := range ev.Scope.Tunnels {
			if t.LastStatusChange.IsZero() {
				continue
			}
			can = true
			if t.Status == "DOWN" && after(t.LastStatusChange, time.Minute) {
				downs = append(downs, fmt.Sprintf("%s at %s", t.OutsideIP, hms(t.LastStatusChange)))
			}
		}
		if len(downs) > 0 {
			return true, true, "the tunnel telemetry went DOWN: " + strings.Join(downs, ", "), ""
		}
		if hasMetric(ev, "AWS/VPN") {
			can = true
		}
		return false, can, "", "no tunnel went down after it"
	case effRejects:
		if len(ev.Traffic.Series) == 0 {
			return false, false, "", ""
		}
		for _, o := range r.Rejects {
			if after(o.FirstAt, 2*time.Minute) {
				return true, true, fmt.Sprintf("REJECT records appeared on %s from %s (%d records)", o.Key.Interface, hm(o.FirstAt), o.Records), ""
			}
		}
		return false, true, "", "no REJECT records appeared after it"
	case effNoRouteDrops:
		if !hasMetricName(ev, "PacketDropCountNoRoute") && !hasMetricName(ev, "PacketDropCountBlackhole") {
			return false, false, "", ""
		}
		for _, s := range r.Shifts {
			if strings.HasPrefix(s.Series.Name, "PacketDropCount") && s.Direction == "rise" && after(s.At, time.Minute) {
				return true, true, fmt.Sprintf("%s rose from %g to %g at %s", s.Label, s.Before, s.After, hm(s.At)), ""
			}
		}
		return false, true, "", "the Transit Gateway's drop counters did not rise"
	}
	return false, false, "", ""
}

// linkServiceCalls finds calls an AWS service made on a person's behalf
// (Auto Scaling terminating the appliance after someone scaled its group
// to zero): the person's call inherits the effect and the service's call
// is ranked as its consequence, not a cause of its own.
func (x *scorer) linkServiceCalls(hs []Hypothesis) {
	for i := range hs {
		svc := &hs[i]
		if !isServiceCall(svc.Change) {
			continue
		}
		asg := ""
		for _, t := range svc.Targets {
			if t.Type != audit.TypeInstance {
				continue
			}
			for _, r := range x.ev.Scope.Resources {
				if r.Type == audit.TypeAutoScaling && r.Attrs["instance"] == t.ID {
					asg = r.ID
				}
			}
		}
		if asg == "" {
			continue
		}
		for j := range hs {
			p := &hs[j]
			if j == i || isServiceCall(p.Change) || p.Change.Failed() || !touchesID(p.Targets, asg) ||
				p.Change.Time.After(svc.Change.Time) || svc.Change.Time.Sub(p.Change.Time) > serviceLinkMax {
				continue
			}
			x.linked[svc.Change.EventID] = p.Change.EventID
			p.Why = append(p.Why, fmt.Sprintf("Auto Scaling carried it out: %s of %s by %s at %s", svc.Change.EventName,
				describeTargets(svc.Targets), svc.Change.Actor.Name, hms(svc.Change.Time)))
			// The service's evidence is the person's evidence.
			p.Corroboration = math.Max(p.Corroboration, svc.Corroboration)
			p.Timing = math.Max(p.Timing, svc.Timing)
			p.Score = round(p.Relation * p.Timing * (0.4 + 0.6*p.Corroboration))
			svc.WhyNot = append([]string{fmt.Sprintf("%s acted on behalf of %s by %s at %s: that call is the cause, this one its effect",
				svc.Change.Actor.Name, p.Change.EventName, p.Change.Actor.Name, hms(p.Change.Time))}, svc.WhyNot...)
			svc.Score = round(svc.Score * 0.5)
			break
		}
	}
}

func isServiceCall(c audit.Change) bool {
	return c.Actor.Service() || c.Via == "aws-service" && strings.HasSuffix(c.Actor.Name, ".amazonaws.com")
}

func (x *scorer) verdict() {
	r, ev := x.r, x.ev
	v := &r.Verdict
	v.Status, v.Confidence = StatusInconclusive, Low
	var top *Hypothesis
	if len(r.Hypotheses) > 0 {
		top = &r.Hypotheses[0]
	}
	missing := coverageProblems(ev)
	if top != nil && top.Score >= causeScore && top.Relation >= causeRelation && !top.Change.Failed() {
		v.Status = StatusRootCause
		c := &Cause{Kind: "api_call", Change: top.Change, Mechanism: top.Mechanism, Targets: top.Targets, Class: causeClass(top.Change)}
		for _, ch := range ev.Changes {
			if x.linked[ch.EventID] == top.Change.EventID {
				c.Effects = append(c.Effects, ch)
			}
		}
		v.Cause = c
		// The strongest competitor: not the cause's own effects.
		second, rival := 0.0, ""
		for _, h := range r.Hypotheses[1:] {
			if x.linked[h.Change.EventID] != top.Change.EventID {
				second, rival = h.Score, h.Change.EventName
				break
			}
		}
		switch {
		case top.Score >= highScore && top.Corroboration >= 0.66 && second < top.Score/2 && len(missing) == 0:
			v.Confidence = High
			v.ConfidenceWhy = append(v.ConfidenceWhy, "the call breaks the path by its nature, came just before the breach, and the traffic and metrics show its expected effect")
		case top.Score >= mediumScore || top.Score >= causeScore && len(missing) > 0:
			v.Confidence = Medium
		default:
			v.Confidence = Low
		}
		if second >= top.Score/2 && second > 0 {
			v.ConfidenceWhy = append(v.ConfidenceWhy, fmt.Sprintf("another candidate scores close (%s, %.2f against %.2f)", rival, second, top.Score))
		}
		if top.Corroboration < 0.66 {
			v.ConfidenceWhy = append(v.ConfidenceWhy, "the traffic and metrics confirm only part of its expected effect")
		}
		for _, m := range missing {
			v.ConfidenceWhy = append(v.ConfidenceWhy, "evidence missing: "+m)
		}
		if v.Confidence == High && len(missing) == 0 && len(v.ConfidenceWhy) > 1 {
			v.Confidence = Medium
		}
		v.Summary = x.causeSummary(top)
		v.Chain = x.chain(top)
		return
	}
	if top != nil && top.Change.Failed() && top.Relation == 0 {
		v.ConfidenceWhy = append(v.ConfidenceWhy, "the only calls on the path failed")
	}
	for _, m := range missing {
		v.ConfidenceWhy = append(v.ConfidenceWhy, "evidence missing: "+m)
	}
	if len(missing) == 0 && (len(r.Gaps) > 0 || len(r.Shifts) > 0) {
		v.Confidence = Medium // the evidence was complete and shows no API cause
	}
	v.Summary = x.inconclusiveSummary(top)
}

// coverageProblems lists the sources a verdict leans on that were not
// fully read.
func coverageProblems(ev *audit.Evidence) []string {
	var out []string
	for _, c := range ev.Coverage {
		// CloudTrail is where causes come from: anything short of complete
		// matters. Traffic and metrics corroborate: only their absence does.
		if c.Source == "cloudtrail" && c.Status != audit.CoverageOK ||
			(c.Source == "flow-logs" || c.Source == "metrics") && c.Status == audit.CoverageMissing {
			out = append(out, fmt.Sprintf("%s is %s (%s)", c.Source, c.Status, firstClause(c.Detail)))
		}
	}
	// A run stopped early (Ctrl-C, --timeout) may not have read what
	// would change the answer.
	if ev.Interrupted != "" {
		for _, c := range ev.Coverage {
			if c.Status != audit.CoverageOK {
				out = append(out, fmt.Sprintf("the run was %s before every source was read", ev.Interrupted))
				break
			}
		}
	}
	// The alarm's own metric says that the path broke, not how: without
	// any other series, no metric corroborates a cause.
	if covered(ev, "metrics") && onlyAlarmMetric(ev) {
		out = append(out, "no metric beyond the alarm's own has datapoints")
	}
	return out
}

func onlyAlarmMetric(ev *audit.Evidence) bool {
	a := ev.Incident.Alarm.Metric
	for _, s := range ev.Metrics {
		if len(s.Points) > 0 && !(audit.SameMetric(s.ID, a) && s.ID.Stat == a.Stat) {
			return false
		}
	}
	return true
}

func firstClause(s string) string {
	if i := strings.Index(s, ";"); i > 0 {
		return s[:i]
	}
	return s
}

func (x *scorer) causeSummary(h *Hypothesis) string {
	ev := x.ev
	c := h.Change
	im := x.r.Impact
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s by %s (%s) at %s %s. ", c.EventName, describeTargets(h.Targets), c.Actor.Name, viaText(c.Via), hms(c.Time), h.Mechanism)
	fmt.Fprintf(&b, "The breach began at %s and %s fired at %s", hm(im.BreachStartedAt), ev.Incident.Alarm.Name, hms(im.FiredAt))
	if im.RecoveredAt != nil {
		fmt.Fprintf(&b, "; it recovered at %s, %s later.", hms(*im.RecoveredAt), dur(im.Duration))
	} else {
		fmt.Fprintf(&b, "; it had not recovered when the evidence was collected (%s).", hm(ev.CollectedAt))
	}
	return b.String()
}

// inconclusiveSummary says plainly that nothing explains the breach and
// what the evidence does show.
func (x *scorer) inconclusiveSummary(top *Hypothesis) string {
	r, ev := x.r, x.ev
	var b strings.Builder
	if covered(ev, "cloudtrail") {
		b.WriteString("No change to the VPN path in CloudTrail explains the breach.")
	} else {
		b.WriteString("CloudTrail could not be read, so no change can be named as the cause.")
	}
	var facts []string
	if g := firstGap(r.Gaps, audit.FlowIPsec); g != nil {
		running := ""
		if x.applianceAlive(g.LastSeen) {
			running = " while the appliance kept running"
		}
		facts = append(facts, fmt.Sprintf("IPsec traffic to %s stopped at %s%s", peersOf(r.Gaps, audit.FlowIPsec), hm(g.LastSeen), running))
	}
	if g := firstGap(r.Gaps, audit.FlowCrossVPN); g != nil {
		facts = append(facts, fmt.Sprintf("traffic across the VPN stopped at %s", hm(g.LastSeen)))
	}
	for _, s := range r.Shifts {
		if s.Series.Name == "TunnelState" && s.Direction == "drop" {
			facts = append(facts, fmt.Sprintf("%s fell to %s at %s", s.Label, level(s), hm(s.At)))
			break
		}
	}
	if len(facts) > 0 {
		b.WriteString(" The evidence shows: " + strings.Join(facts, "; ") + ".")
	}
	if top != nil {
		fmt.Fprintf(&b, " The closest candidate, %s at %s, scores %.2f and is not a credible cause: %s.", top.Change.EventName, hms(top.Change.Time), top.Score, firstOr(top.WhyNot, "its effect does not match"))
	}
	b.WriteString(" Look at the customer gateway itself (its IPsec daemon, its peer) and at AWS Health for the tunnel endpoints.")
	return b.String()
}

// applianceAlive reports whether the appliance's ENI still carried other
// traffic after t.
func (x *scorer) applianceAlive(t time.Time) bool {
	for _, s := range x.ev.Traffic.Series {
		if s.Key.Class != audit.FlowOther || !isAppliance(x.ev, s.Key.Interface) {
			continue
		}
		for _, b := range s.Buckets {
			if b.Start.After(t.Add(5 * time.Minute)) {
				return true
			}
		}
	}
	for _, r := range x.ev.Scope.Resources {
		if r.Type == audit.TypeInstance && r.Side == audit.SideCustomer && r.State == "running" && r.Attrs["state-reason"] == "" {
			return true
		}
	}
	return false
}

// chain links the cause to the alarm, step by step.
func (x *scorer) chain(h *Hypothesis) []string {
	c := h.Change
	steps := []string{fmt.Sprintf("%s %s by %s at %s", c.EventName, describeTargets(h.Targets), c.Actor.Name, hms(c.Time))}
	for _, t := range h.Targets {
		steps = append(steps, fmt.Sprintf("%s %s", label(t), t.Relation))
	}
	for _, e := range x.effectEntries(h) {
		if e.Time.After(x.r.Impact.FiredAt) {
			continue // the chain leads to the alarm; later effects are in the timeline
		}
		steps = append(steps, fmt.Sprintf("%s %s", e.Summary, hm(e.Time)))
	}
	im := x.r.Impact
	steps = append(steps, fmt.Sprintf("alarm %s fired at %s (breach from %s)", x.ev.Incident.Alarm.Name, hms(im.FiredAt), hm(im.BreachStartedAt)))
	return steps
}

// effectEntries are the first observed effect of each kind after the cause.
func (x *scorer) effectEntries(h *Hypothesis) []Entry {
	var out []Entry
	c := h.Change
	if g := firstGapAfter(x.r.Gaps, audit.FlowIPsec, c.Time); g != nil {
		out = append(out, Entry{Time: g.LastSeen, Summary: "IPsec to " + peersOf(x.r.Gaps, audit.FlowIPsec) + " stops"})
	}
	if g := firstGapAfter(x.r.Gaps, audit.FlowCrossVPN, c.Time); g != nil {
		out = append(out, Entry{Time: g.LastSeen, Summary: "traffic across the VPN stops"})
	}
	for _, s := range x.r.Shifts {
		if s.Series.Name == "TunnelState" && s.Direction == "drop" && !s.At.Before(c.Time.Add(-time.Minute)) {
			out = append(out, Entry{Time: s.At, Summary: "TunnelState " + level(s)})
			break
		}
	}
	for _, s := range x.r.Shifts {
		if strings.HasPrefix(s.Series.Name, "PacketDropCount") && s.Direction == "rise" && !s.At.Before(c.Time) {
			out = append(out, Entry{Time: s.At, Summary: s.Series.Name + " rises"})
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
