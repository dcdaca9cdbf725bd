package audit

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Alarm states.
const (
	StateOK           = "OK"
	StateAlarm        = "ALARM"
	StateInsufficient = "INSUFFICIENT_DATA"
)

// Episodes turns state transitions (any order) into OK→ALARM episodes,
// oldest first. An episode starts when the alarm enters ALARM from another
// state and ends at the first transition out of ALARM; it has RecoveredAt
// only when that transition goes to OK.
func Episodes(transitions []Transition, alarm Alarm) []Episode {
	ts := append([]Transition(nil), transitions...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Time.Before(ts[j].Time) })
	var eps []Episode
	open := -1
	for _, t := range ts {
		switch {
		case t.To == StateAlarm && t.From != StateAlarm:
			ep := Episode{FiredAt: t.Time, Reason: t.Reason, Evaluated: t.Evaluated, Source: t.Source}
			ep.BreachStartedAt, ep.BreachBasis = breachFromEvaluated(alarm, t)
			eps = append(eps, ep)
			open = len(eps) - 1
		case t.From == StateAlarm && t.To != StateAlarm && open >= 0:
			if t.To == StateOK {
				at := t.Time
				eps[open].RecoveredAt = &at
			}
			open = -1
		}
	}
	return eps
}

// breachFromEvaluated finds the first breaching datapoint among those the
// alarm evaluated when it fired. Without them the breach is taken to have
// begun one evaluation period before the transition.
func breachFromEvaluated(alarm Alarm, t Transition) (time.Time, string) {
	for _, p := range t.Evaluated {
		if alarm.Breaches(p.Value) || (math.IsNaN(p.Value) && alarm.TreatMissingData == "breaching") {
			return p.Time, fmt.Sprintf("first breaching datapoint the alarm evaluated (value %s)", formatValue(p.Value))
		}
	}
	period := time.Duration(alarm.Metric.Period) * time.Second
	if period <= 0 {
		period = time.Minute
	}
	return t.Time.Add(-period).Truncate(time.Minute), "one period before the alarm fired (no evaluated datapoints recorded)"
}

// RefineBreach moves an episode's breach start earlier when the alarm's own
// metric series shows breaching datapoints immediately before the first one
// the alarm evaluated (the alarm only lists the last N it looked at).
func RefineBreach(ep *Episode, alarm Alarm, s Series) {
	period := time.Duration(alarm.Metric.Period) * time.Second
	if period <= 0 || len(s.Points) == 0 {
		return
	}
	byTime := make(map[int64]float64, len(s.Points))
	for _, p := range s.Points {
		byTime[p.Time.Unix()] = p.Value
	}
	start := ep.BreachStartedAt
	moved := false
	for {
		prev := start.Add(-period)
		v, ok := byTime[prev.Unix()]
		if !ok {
			if alarm.TreatMissingData != "breaching" {
				break
			}
			// A missing datapoint counts as breaching for this alarm, but
			// only inside the series' own span.
			if prev.Before(s.Points[0].Time) {
				break
			}
		} else if !alarm.Breaches(v) {
			break
		}
		start, moved = prev, true
	}
	if moved {
		ep.BreachStartedAt = start
		ep.BreachBasis = "first breaching datapoint of the alarm's metric in the run that fired it"
	}
}

// SelectEpisode picks the episode meant: without at, the latest; with at,
// the one whose breach-to-recovery span covers it, else the one that fired
// closest to it within 30 minutes. The second result says why.
func SelectEpisode(eps []Episode, at *time.Time, period time.Duration) (Episode, string, error) {
	if len(eps) == 0 {
		return Episode{}, "", fmt.Errorf("the alarm has no OK→ALARM transition in the history read")
	}
	if at == nil {
		last := eps[len(eps)-1]
		if len(eps) == 1 {
			return last, "the only OK→ALARM transition in the history read", nil
		}
		return last, fmt.Sprintf("the latest of %d OK→ALARM transitions (use --at to choose another)", len(eps)), nil
	}
	for i := len(eps) - 1; i >= 0; i-- {
		ep := eps[i]
		from := ep.BreachStartedAt.Add(-period)
		if at.Before(from) {
			continue
		}
		if ep.RecoveredAt == nil || !at.After(*ep.RecoveredAt) {
			return ep, fmt.Sprintf("the episode covering --at %s", at.UTC().Format(time.RFC3339)), nil
		}
	}
	best, bestGap := -1, 30*time.Minute
	for i, ep := range eps {
		gap := ep.FiredAt.Sub(*at)
		if gap < 0 {
			gap = -gap
		}
		if gap <= bestGap {
			best, bestGap = i, gap
		}
	}
	if best >= 0 {
		return eps[best], fmt.Sprintf("the episode that fired closest to --at %s", at.UTC().Format(time.RFC3339)), nil
	}
	var list []string
	for _, ep := range eps {
		list = append(list, ep.FiredAt.UTC().Format(time.RFC3339))
	}
	return Episode{}, "", fmt.Errorf("no ALARM episode covers --at %s; the alarm fired at %s",
		at.UTC().Format(time.RFC3339), strings.Join(list, ", "))
}

func formatValue(v float64) string {
	if math.IsNaN(v) {
		return "missing"
	}
	return fmt.Sprintf("%g", v)
}
