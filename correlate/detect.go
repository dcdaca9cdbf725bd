package correlate

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// Detection windows around the breach start B.
const (
	// baseline is how far before B a series must have been active.
	baselineSpan = 30 * time.Minute
	// nearBreach is how far from B a change of level may begin to count as
	// part of the incident (traffic can stop a little after the alarm's
	// first breaching datapoint is stamped, flow logs lag by an interval).
	nearBefore = 30 * time.Minute
	nearAfter  = 5 * time.Minute
)

// flowInterval returns the aggregation interval of the flow log an
// interface's records came from (60 s when unknown), its ID, where its
// records live (log group or S3 destination) and the call that read them
// (flowSource).
func flowInterval(ev *audit.Evidence, eni string) (iv time.Duration, id, place, source string) {
	for _, a := range ev.Traffic.Interfaces {
		if a.Interface != eni {
			continue
		}
		for _, fl := range ev.Traffic.FlowLogs {
			if fl.ID == a.FlowLog {
				iv := time.Duration(fl.Interval) * time.Second
				if iv <= 0 {
					iv = time.Minute
				}
				place := fl.LogGroup
				if place == "" {
					place = fl.Destination
				}
				return iv, fl.ID, place, flowSource(fl)
			}
		}
	}
	return time.Minute, "", "", ""
}

// flowGaps finds ACCEPT series that were active before the breach and went
// quiet near it. A gap must last at least two aggregation intervals (and
// five minutes), so the sparse records of a 600 s flow log are not read as
// gaps.
func flowGaps(ev *audit.Evidence, breach time.Time) []FlowGap {
	var out []FlowGap
	for _, s := range ev.Traffic.Series {
		if s.Key.Action != "ACCEPT" || len(s.Buckets) == 0 {
			continue
		}
		// Other traffic only tells about the appliance's own liveness.
		if s.Key.Class == audit.FlowOther && !isAppliance(ev, s.Key.Interface) {
			continue
		}
		iv, fl, group, source := flowInterval(ev, s.Key.Interface)
		minGap := max(5*time.Minute, 2*iv+time.Minute)
		base := max(baselineSpan, 4*iv)
		for i, b := range s.Buckets {
			if b.Start.Before(breach.Add(-nearBefore-iv)) || b.Start.After(breach.Add(nearAfter)) {
				continue
			}
			var next *time.Time
			if i+1 < len(s.Buckets) {
				t := s.Buckets[i+1].Start
				next = &t
			}
			end := b.Start.Add(time.Minute)
			// A gap is longer than the series' own cadence: a job that runs
			// every ten minutes is silent between runs.
			need := max(minGap, 2*cadence(s.Buckets[:i+1], b.Start.Add(-base))+iv)
			if next != nil && next.Sub(end) < need {
				continue
			}
			if next == nil && ev.Window.End.Sub(end) < need {
				continue // the data simply ends
			}
			// Active before: records in at least a third of the baseline's
			// intervals. A sparse conversation (a job every ten minutes)
			// qualifies with two, when the other direction on the same
			// interface goes on after it stops: traffic left and no reply
			// came back, the signature of a lost route or an egress block.
			n := 0
			for _, p := range s.Buckets[:i+1] {
				if !p.Start.Before(b.Start.Add(-base)) {
					n++
				}
			}
			oneWay := s.Key.Class == audit.FlowCrossVPN && reverseGoesOn(ev, s.Key, end, minGap)
			enough := max(2, int(base/iv)/3)
			if oneWay {
				enough = 2
			}
			if n < enough {
				continue
			}
			if b.LastEnd.After(b.Start) {
				end = b.LastEnd
			}
			out = append(out, FlowGap{Key: s.Key, LastSeen: end, Uncertainty: iv, ResumedAt: next,
				BaselinePerMin: float64(n) / base.Minutes(), FlowLog: fl, LogGroup: group, Source: source, OneWay: oneWay})
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.Before(out[j].LastSeen)
		}
		return keyLess(out[i].Key, out[j].Key)
	})
	return out
}

func keyLess(a, b audit.FlowKey) bool {
	return strings.Join([]string{a.Interface, a.Class, a.Direction, a.Peer, a.Action}, "\x00") <
		strings.Join([]string{b.Interface, b.Class, b.Direction, b.Peer, b.Action}, "\x00")
}

// cadence is the median spacing of the buckets since from (0 with fewer
// than two).
func cadence(bs []audit.FlowBucket, from time.Time) time.Duration {
	var gaps []float64
	var prev time.Time
	for _, b := range bs {
		if b.Start.Before(from) {
			continue
		}
		if !prev.IsZero() {
			gaps = append(gaps, b.Start.Sub(prev).Seconds())
		}
		prev = b.Start
	}
	if len(gaps) == 0 {
		return 0
	}
	return time.Duration(median(gaps)) * time.Second
}

// reverseGoesOn reports whether the opposite direction of a cross-VPN
// series on the same interface has at least two buckets within minGap
// after t: attempts went on while this direction fell silent.
func reverseGoesOn(ev *audit.Evidence, k audit.FlowKey, t time.Time, minGap time.Duration) bool {
	rev := k
	rev.Direction = audit.DirToAWS
	if k.Direction == audit.DirToAWS {
		rev.Direction = audit.DirToCustomer
	}
	for _, s := range ev.Traffic.Series {
		if s.Key != rev {
			continue
		}
		n := 0
		for _, b := range s.Buckets {
			if b.Start.After(t) && !b.Start.After(t.Add(2*minGap+30*time.Minute)) {
				n++
			}
		}
		return n >= 2
	}
	return false
}

// rejectOnsets finds REJECT series absent from the baseline that appear
// near the breach.
func rejectOnsets(ev *audit.Evidence, breach time.Time) []RejectOnset {
	var out []RejectOnset
	for _, s := range ev.Traffic.Series {
		if s.Key.Action != "REJECT" || s.Key.Class == audit.FlowOther && !isAppliance(ev, s.Key.Interface) {
			continue
		}
		_, _, group, source := flowInterval(ev, s.Key.Interface)
		var first time.Time
		var before, after int64
		for _, b := range s.Buckets {
			switch {
			case b.Start.Before(breach.Add(-nearBefore)):
				before += b.Records
			case !b.Start.After(breach.Add(nearBefore)):
				if first.IsZero() {
					first = b.Start
				}
				after += b.Records
			}
		}
		if after >= 2 && before == 0 {
			out = append(out, RejectOnset{Key: s.Key, FirstAt: first, Records: after, LogGroup: group, Source: source})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstAt.Before(out[j].FirstAt) })
	return out
}

func isAppliance(ev *audit.Evidence, eni string) bool {
	for _, i := range ev.Scope.ApplianceInterfaces {
		if i.ID == eni {
			return true
		}
	}
	return false
}

// silences finds the windows in which an appliance interface reported
// NODATA (no traffic at all) near the breach.
func silences(ev *audit.Evidence, breach time.Time) []Silence {
	var out []Silence
	for _, a := range ev.Traffic.Interfaces {
		if !isAppliance(ev, a.Interface) {
			continue
		}
		_, _, group, source := flowInterval(ev, a.Interface)
		for _, w := range a.NoData {
			if w.Start.Before(breach.Add(-nearBefore)) || w.Start.After(breach.Add(nearBefore)) {
				continue
			}
			out = append(out, Silence{Interface: a.Interface, From: w.Start, To: w.End, LogGroup: group, Source: source})
		}
	}
	return out
}

// shifts finds level shifts near the breach: the median of the baseline
// against the median just after, a change of at least half the baseline
// (or from zero to a material level). A series that stops reporting while
// it had a baseline is a shift too.
func shifts(ev *audit.Evidence, breach time.Time) []Shift {
	// The level after the breach is read from 5 to 20 minutes after it,
	// past the transition; an episode that recovered sooner is read whole.
	afterFrom, afterTo := breach.Add(nearAfter), breach.Add(nearAfter+15*time.Minute)
	if rec := ev.Incident.Episode.RecoveredAt; rec != nil && rec.Before(afterTo) {
		afterFrom, afterTo = breach, *rec
	}
	var out []Shift
	for _, s := range ev.Metrics {
		if len(s.Points) == 0 {
			continue
		}
		period := time.Duration(s.ID.Period) * time.Second
		if period <= 0 {
			period = time.Minute
		}
		var base, after []float64
		lastBase := time.Time{}
		for _, p := range s.Points {
			switch {
			case !p.Time.Before(breach.Add(-baselineSpan-nearBefore)) && p.Time.Before(breach.Add(-nearBefore/3)):
				base = append(base, p.Value)
				lastBase = p.Time
			case !p.Time.Before(afterFrom) && p.Time.Before(afterTo):
				after = append(after, p.Value)
			}
		}
		if len(base) < 3 {
			continue
		}
		// Medians, robust to a stray datapoint and to bursty traffic. A
		// sparse event counter (drops, rejects: mostly zeros, then bursts
		// as senders retry) has the median 0 on both sides: for sums
		// without a median shift, means are compared, and only a rise
		// counts.
		center := median
		b := center(base)
		if len(after) == 0 {
			// Stopped reporting: find the last point before the silence.
			last := lastBase
			for _, p := range s.Points {
				if p.Time.After(last) && p.Time.Before(afterFrom) {
					last = p.Time
				}
			}
			if ev.Window.End.Sub(last) > 10*time.Minute && last.After(breach.Add(-nearBefore)) {
				out = append(out, Shift{Series: s.ID, Subject: s.Subject, Label: s.Label, At: last.Add(period),
					Before: b, After: math.NaN(), Direction: "drop", Stopped: true})
			}
			continue
		}
		a := center(after)
		diff := a - b
		if noShift(a, b) && (s.ID.Stat == "Sum" || s.ID.Stat == "SampleCount") {
			b, a = mean(base), mean(after)
			diff = a - b
			if diff <= 0 {
				continue
			}
		}
		if noShift(a, b) {
			continue
		}
		dir := "drop"
		if diff > 0 {
			dir = "rise"
		}
		// The new level begins at the first point past the midpoint; a rise
		// must also exceed everything the baseline held, so its noise cannot
		// set the onset.
		mid := (a + b) / 2
		if dir == "rise" {
			mid = math.Max(mid, maxOf(base))
		}
		at := time.Time{}
		for _, p := range s.Points {
			if p.Time.Before(breach.Add(-nearBefore)) {
				continue
			}
			if dir == "drop" && p.Value <= mid || dir == "rise" && p.Value > mid {
				at = p.Time
				break
			}
		}
		if at.IsZero() || at.After(breach.Add(nearAfter+15*time.Minute)) {
			continue
		}
		out = append(out, Shift{Series: s.ID, Subject: s.Subject, Label: s.Label, At: at, Before: b, After: a, Direction: dir})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// noShift reports whether a is within half of b (or both are zero).
func noShift(a, b float64) bool {
	return math.Abs(a-b) < 0.5*math.Abs(b) || (b == 0 && math.Abs(a) < 1e-9)
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
