package collect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/vpnaudit/vpnaudit/audit"
)

// The checks in this file keep bad or surprising evidence from turning
// into a misleading verdict: an alarm that cannot lead to a VPN, a clock
// that contradicts the alarm, history that lacks the latest transitions, a
// time or a window beyond what AWS keeps. Each either stops the run with
// one sentence saying what to do, or says in the coverage what it found.

// Retention of the sources an investigation reads.
const (
	// trailRetention is how far back CloudTrail's event history
	// (LookupEvents) goes.
	trailRetention = 90 * 24 * time.Hour
	// historyRetention is how long CloudWatch keeps alarm history.
	historyRetention = 30 * 24 * time.Hour
	// clockSkew is how far the evidence's clock may lag the alarm's
	// timestamps before it is taken as wrong.
	clockSkew = 5 * time.Minute
)

// pathDimensions are the alarm dimensions that can lead to a VPN: those
// the scope follows, and a Transit Gateway attachment (which may be the
// VPN's; the scope then says what it could not follow).
var pathDimensions = []string{"VpnId", "TunnelIpAddress", "TransitGateway", "InstanceId", "TransitGatewayAttachment"}

// checkAlarmKind refuses a metric alarm whose dimensions cannot lead to a
// Site-to-Site VPN (an ALB's 5XX count, a queue's depth): the scope would
// be empty and the verdict would blame nothing for reasons that have
// nothing to do with a VPN.
func checkAlarmKind(name string, a audit.Alarm) error {
	for _, d := range a.Metric.Dimensions {
		for _, p := range pathDimensions {
			if d.Name == p {
				return nil
			}
		}
	}
	return fmt.Errorf("alarm %q watches %s, which leads to no Site-to-Site VPN: vpnaudit follows an alarm's VpnId, TunnelIpAddress, TransitGateway or InstanceId dimension, so run it on the VPN's alarm (such as AWS/VPN TunnelState with VpnId)",
		name, printable(a.Metric.String()))
}

// checkUnrelatedInstance refuses, after the scope is walked, an alarm whose
// only way to a VPN is an InstanceId dimension (CPUUtilization of some
// instance) when that instance hosts no customer gateway. A failed call is
// not taken as proof: then the scope's coverage says what failed.
func (k *collector) checkUnrelatedInstance() error {
	m := k.ev.Incident.Alarm.Metric
	for _, d := range m.Dimensions {
		if d.Name == "VpnId" || d.Name == "TunnelIpAddress" || d.Name == "TransitGateway" {
			return nil
		}
	}
	if m.Dimension("InstanceId") == "" || len(k.ev.Scope.Resources) > 0 {
		return nil
	}
	// The scope's only gap is that no VPN matched (see scoper.vpns): every
	// call answered.
	onlyNoMatch := "; not found or not readable: no VPN connection matches the alarm's dimensions (" + dimString(m) + ")"
	for _, c := range k.ev.Coverage {
		if c.Source == "scope" && !strings.HasSuffix(c.Detail, onlyNoMatch) {
			return nil
		}
	}
	return fmt.Errorf("alarm %q watches %s, and instance %s hosts no customer gateway of a Site-to-Site VPN: run vpnaudit on the VPN's alarm (such as AWS/VPN TunnelState with VpnId)",
		k.o.Alarm, printable(m.String()), printable(m.Dimension("InstanceId")))
}

// checkClock corrects the collection's clock when the alarm changed state
// after it: the evidence cannot predate what it holds, so bundle.json's
// RecordedAt (or this machine's clock, live) is wrong, and reading only up
// to it would hide the latest episode and investigate an older one.
func (k *collector) checkClock(ma cwtypes.MetricAlarm, a audit.Alarm) {
	last := aws.ToTime(ma.StateTransitionedTimestamp)
	if last.IsZero() {
		last = a.StateUpdated
	}
	if k.o.Now.IsZero() || !last.After(k.o.Now.Add(clockSkew)) {
		return
	}
	was := k.o.Now
	k.o.Now = last.UTC().Add(k.o.After)
	k.ev.CollectedAt = k.o.Now
	k.cover("clock", audit.CoveragePartial, "the evidence says it was read at %s, %s before the alarm's last state change (%s): bundle.json's RecordedAt (or, live, this machine's clock) is wrong, so the evidence is read up to %s instead; correct RecordedAt or the clock",
		was.UTC().Format(time.RFC3339), span(last.Sub(was)), last.UTC().Format(time.RFC3339), k.o.Now.Format(time.RFC3339))
}

// checkHistory handles a history read that ends before the alarm's last
// state change: its latest items are missing or dated after the evidence
// was read, so the latest episode is not in it. An alarm in ALARM now gets
// its current episode from its own state; otherwise, unless --at picks an
// episode, the run stops rather than investigate an older episode as if it
// were the one that paged.
func (k *collector) checkHistory(ma cwtypes.MetricAlarm, a audit.Alarm, ts *[]audit.Transition) error {
	last := aws.ToTime(ma.StateTransitionedTimestamp).UTC()
	if last.IsZero() || len(*ts) == 0 {
		return nil
	}
	newest := (*ts)[0].Time
	for _, t := range *ts {
		if t.Time.After(newest) {
			newest = t.Time
		}
	}
	if !newest.Add(time.Minute).Before(last) {
		return nil
	}
	gap := fmt.Sprintf("the newest state change in the alarm's history is at %s, but the alarm last changed state at %s (to %s)",
		newest.Format(time.RFC3339), last.Format(time.RFC3339), printable(string(ma.StateValue)))
	switch {
	case k.o.At != nil:
		k.cover("alarm-history", audit.CoveragePartial, "%s: the latest transitions are missing; the episode at --at is investigated", gap)
	case a.State == audit.StateAlarm:
		if t, ok := currentTransition(ma, a); ok {
			*ts = append(*ts, t)
		}
		k.cover("alarm-history", audit.CoveragePartial, "%s: the latest transitions are missing, so the current episode comes from the alarm's own state", gap)
	default:
		return fmt.Errorf("alarm %q: %s, so the latest episode is missing from the history read (its items are dated after the evidence was read, %s, or were not recorded): fix the timestamps, or pass --at to investigate an earlier episode",
			k.o.Alarm, gap, k.o.Now.UTC().Format(time.RFC3339))
	}
	return nil
}

// summaryRE reads a StateUpdate item's HistorySummary.
var summaryRE = regexp.MustCompile(`^Alarm updated from (OK|ALARM|INSUFFICIENT_DATA) to (OK|ALARM|INSUFFICIENT_DATA)$`)

// sourceSummary marks a transition read from HistorySummary because its
// HistoryData was unreadable.
const sourceSummary = "DescribeAlarmHistory HistorySummary"

// transitionFromSummary reads a state change from a StateUpdate item's
// HistorySummary ("Alarm updated from OK to ALARM"), for an item whose
// HistoryData is not valid JSON: the transition is kept (without its
// evaluated datapoints) instead of dropped.
func transitionFromSummary(it cwtypes.AlarmHistoryItem) (audit.Transition, bool) {
	m := summaryRE.FindStringSubmatch(strings.TrimSpace(aws.ToString(it.HistorySummary)))
	if m == nil || it.Timestamp == nil {
		return audit.Transition{}, false
	}
	return audit.Transition{Time: it.Timestamp.UTC(), From: m[1], To: m[2], Reason: aws.ToString(it.HistorySummary), Source: sourceSummary}, true
}

// coverSummaries says which transitions were read from their summary.
func (k *collector) coverSummaries(ts []audit.Transition) {
	var times []string
	for _, t := range ts {
		if t.Source == sourceSummary {
			times = append(times, t.Time.Format(time.RFC3339))
		}
	}
	if len(times) == 0 {
		return
	}
	k.cover("alarm-history", audit.CoveragePartial, "the HistoryData of the state change at %s is not valid JSON: the change was read from its HistorySummary, without its evaluated datapoints (the breach start comes from the alarm's metric instead)",
		strings.Join(times, ", "))
}

// episodeError explains why no episode could be selected: a time after the
// evidence or beyond what CloudWatch and CloudTrail keep says so, instead
// of only listing the episodes.
func (k *collector) episodeError(eps []audit.Episode, a audit.Alarm, err error) error {
	if len(eps) == 0 {
		return fmt.Errorf("alarm %q was never in ALARM in the history read (it is %s now; CloudWatch keeps 30 days of alarm history), so there is nothing to investigate", k.o.Alarm, a.State)
	}
	var fired []string
	for _, ep := range eps {
		fired = append(fired, ep.FiredAt.UTC().Format(time.RFC3339))
	}
	seen := strings.Join(fired, ", ")
	if at, now := k.o.At, k.o.Now; at != nil && !now.IsZero() {
		switch {
		case at.After(now):
			return fmt.Errorf("--at %s is %s after the evidence was read (%s), so no alarm episode can be there: check the date and the time zone (the alarm fired at %s)",
				at.UTC().Format(time.RFC3339), span(at.Sub(now)), now.UTC().Format(time.RFC3339), seen)
		case at.Before(now.Add(-trailRetention)):
			return fmt.Errorf("--at %s is %s before the evidence was read (%s), beyond CloudTrail's 90-day event history and CloudWatch's 30-day alarm history: an alarm that old cannot be investigated (the alarm fired at %s)",
				at.UTC().Format(time.RFC3339), span(now.Sub(*at)), now.UTC().Format(time.RFC3339), seen)
		case at.Before(now.Add(-historyRetention)):
			return fmt.Errorf("--at %s is %s before the evidence was read (%s), beyond CloudWatch's 30-day alarm history: no episode that old can be found (the alarm fired at %s)",
				at.UTC().Format(time.RFC3339), span(now.Sub(*at)), now.UTC().Format(time.RFC3339), seen)
		}
	}
	return fmt.Errorf("alarm %q: %w", k.o.Alarm, err)
}

// checkWindow says when the window to read reaches past CloudTrail's
// 90-day event history: changes before then cannot be read, which the
// verdict's confidence must reflect.
func (k *collector) checkWindow(ep audit.Episode) {
	if k.o.Now.IsZero() {
		return
	}
	limit := k.o.Now.Add(-trailRetention)
	start := ep.BreachStartedAt.Add(-k.o.Lookback)
	if !start.Before(limit) {
		return
	}
	if ep.BreachStartedAt.Before(limit) {
		k.cover("cloudtrail", audit.CoveragePartial, "the breach began at %s, more than 90 days before the evidence was read (%s): CloudTrail's event history no longer holds the changes before it",
			ep.BreachStartedAt.UTC().Format(time.RFC3339), k.o.Now.UTC().Format(time.RFC3339))
		return
	}
	k.cover("cloudtrail", audit.CoveragePartial, "the window starts at %s (--lookback %s before the breach), before CloudTrail's 90-day event history begins (%s): changes before then cannot be read; use a --lookback of at most %dh",
		start.UTC().Format(time.RFC3339), k.o.Lookback, limit.UTC().Format(time.RFC3339), ep.BreachStartedAt.Sub(limit)/time.Hour)
}

// span renders a positive duration for a person: "2h5m0s", "91 days".
func span(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}

// printable returns s for an error message: as it is when it is printable
// UTF-8, quoted with escapes otherwise, so a hostile name in the evidence
// cannot drive the terminal an error is printed on (error messages do not
// go through the report's sanitizer).
func printable(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}
