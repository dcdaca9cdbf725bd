package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

// historyPages bounds how much alarm history is read (100 items a page).
const historyPages = 10

// AlarmNotFoundError says the alarm does not exist; Similar lists the
// account's alarm names that look like it.
type AlarmNotFoundError struct {
	Name    string
	Region  string
	Similar []string
	// Replay says the alarms came from a bundle, where --region does not
	// apply.
	Replay bool
}

func (e *AlarmNotFoundError) Error() string {
	msg := fmt.Sprintf("alarm %q not found", e.Name)
	if e.Region != "" {
		msg += " in " + e.Region
	}
	if len(e.Similar) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(quoteAll(e.Similar), ", "))
	} else if e.Replay {
		msg += "; the bundle holds no alarm of that name: check the name (alarm names are case-sensitive), or record a bundle in the alarm's region"
	} else if e.Region != "" {
		msg += "; if the alarm lives in another region, pass --region (alarm names are case-sensitive)"
	}
	return msg
}

// CallError is a failed call the collection cannot do without, with the
// words of Why and the SDK error underneath.
type CallError struct {
	Msg string
	Err error
}

func (e *CallError) Error() string { return e.Msg }
func (e *CallError) Unwrap() error { return e.Err }

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// incident reads the alarm, its state transitions and picks the episode.
func (k *collector) incident(ctx context.Context) error {
	k.progress("alarm", "reading alarm %s", k.o.Alarm)
	k.call("cloudwatch", "DescribeAlarms")
	out, err := k.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
		AlarmNames: []string{k.o.Alarm},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	})
	if err != nil {
		return &CallError{Msg: fmt.Sprintf("describe alarm %q: %s", k.o.Alarm, why(err)), Err: err}
	}
	if len(out.CompositeAlarms) > 0 {
		return fmt.Errorf("alarm %q is a composite alarm; vpnaudit investigates metric alarms — run it on one of the alarms in its rule: %s",
			k.o.Alarm, printable(aws.ToString(out.CompositeAlarms[0].AlarmRule)))
	}
	if len(out.MetricAlarms) == 0 {
		_, replay := k.c.CloudWatch.(*bundle.CloudWatch)
		return &AlarmNotFoundError{Name: k.o.Alarm, Region: k.ev.Region, Similar: k.similarAlarms(ctx), Replay: replay}
	}
	ma := out.MetricAlarms[0]
	if ma.MetricName == nil {
		return fmt.Errorf("alarm %q evaluates a metric-math expression; vpnaudit needs an alarm on a single metric (such as AWS/VPN TunnelState)", k.o.Alarm)
	}
	alarm := toAlarm(ma)
	if err := checkAlarmKind(k.o.Alarm, alarm); err != nil {
		return err
	}
	inc := audit.Incident{Alarm: alarm}
	if k.o.Now.IsZero() {
		k.o.Now = alarm.StateUpdated.Add(k.o.After)
		k.ev.CollectedAt = k.o.Now
		k.cover("clock", audit.CoveragePartial, "the evidence does not say when it was recorded; its time is taken as the alarm's last state update plus %s (%s)",
			k.o.After, k.o.Now.Format(time.RFC3339))
	}
	k.checkClock(ma, alarm)

	transitions, source, histErr := k.history(ctx, alarm)
	switch {
	case histErr != nil && len(transitions) > 0: // pagination stopped: the transitions read are used
		k.cover("alarm-history", audit.CoveragePartial, "%d state transitions (%s); %v", len(transitions), source, histErr)
	case histErr != nil:
		k.cover("alarm-history", audit.CoverageMissing, "DescribeAlarmHistory failed: %s; the alarm's current state is used instead", why(histErr))
	case len(transitions) == 0:
		k.cover("alarm-history", audit.CoveragePartial, "no state transitions in the alarm history; the alarm's current state is used instead")
	default:
		k.cover("alarm-history", audit.CoverageOK, "%d state transitions (%s)", len(transitions), source)
	}
	if err := k.checkHistory(ma, alarm, &transitions); err != nil {
		return err
	}
	k.coverSummaries(transitions)
	if len(transitions) == 0 {
		if t, ok := currentTransition(ma, alarm); ok {
			transitions = append(transitions, t)
		}
	}
	inc.Episodes = audit.Episodes(transitions, alarm)
	period := time.Duration(alarm.Metric.Period) * time.Second
	ep, sel, err := audit.SelectEpisode(inc.Episodes, k.o.At, period)
	if err != nil {
		return k.episodeError(inc.Episodes, alarm, err)
	}
	k.checkWindow(ep)
	if s, ok := k.alarmSeries(ctx, alarm, ep); ok {
		audit.RefineBreach(&ep, alarm, s)
		k.ev.Metrics = append(k.ev.Metrics, s)
	}
	inc.Episode, inc.Selection = ep, sel
	k.ev.Incident = inc
	k.cover("alarm", audit.CoverageOK, "%s: %s %s %g for %d of %d periods of %ds", alarm.Name,
		alarm.Metric.String(), alarm.ComparisonSymbol(), alarm.Threshold, alarm.DatapointsToAlarm, alarm.EvaluationPeriods, alarm.Metric.Period)
	return nil
}

func toAlarm(ma cwtypes.MetricAlarm) audit.Alarm {
	stat := string(ma.Statistic)
	if stat == "" {
		stat = aws.ToString(ma.ExtendedStatistic)
	}
	a := audit.Alarm{
		Name:        aws.ToString(ma.AlarmName),
		ARN:         aws.ToString(ma.AlarmArn),
		Description: aws.ToString(ma.AlarmDescription),
		Metric: audit.MetricID{
			Namespace: aws.ToString(ma.Namespace), Name: aws.ToString(ma.MetricName),
			Stat: stat, Period: int(aws.ToInt32(ma.Period)),
		},
		Threshold:         aws.ToFloat64(ma.Threshold),
		Comparison:        string(ma.ComparisonOperator),
		EvaluationPeriods: int(aws.ToInt32(ma.EvaluationPeriods)),
		DatapointsToAlarm: int(aws.ToInt32(ma.DatapointsToAlarm)),
		TreatMissingData:  aws.ToString(ma.TreatMissingData),
		State:             string(ma.StateValue),
		StateReason:       aws.ToString(ma.StateReason),
		StateUpdated:      aws.ToTime(ma.StateUpdatedTimestamp).UTC(),
		Actions:           ma.AlarmActions,
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	if a.TreatMissingData == "" {
		a.TreatMissingData = "missing"
	}
	for _, d := range ma.Dimensions {
		a.Metric.Dimensions = append(a.Metric.Dimensions, audit.Dimension{Name: aws.ToString(d.Name), Value: aws.ToString(d.Value)})
	}
	return a
}

// similarAlarms lists up to three alarm names close to the one asked for.
func (k *collector) similarAlarms(ctx context.Context) []string {
	var names []string
	p := cloudwatch.NewDescribeAlarmsPaginator(k.c.CloudWatch, &cloudwatch.DescribeAlarmsInput{
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	})
	guard := newPageGuard("CloudWatch", "DescribeAlarms")
	for pages := 0; p.HasMorePages() && pages < 20; pages++ {
		k.call("cloudwatch", "DescribeAlarms")
		out, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
		for _, a := range out.CompositeAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
		if guard.check(len(out.MetricAlarms)+len(out.CompositeAlarms), out.NextToken) != nil {
			break // the names read so far are enough for a suggestion
		}
	}
	return closest(k.o.Alarm, names, 3)
}

// closest ranks names by edit distance to want (case-insensitive), keeping
// those within half of want's length or containing it.
func closest(want string, names []string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	lw := strings.ToLower(want)
	var cs []cand
	for _, name := range names {
		ln := strings.ToLower(name)
		d := levenshtein(lw, ln)
		if strings.Contains(ln, lw) || strings.Contains(lw, ln) {
			d = min(d, 1)
		}
		if d <= max(2, len(want)/2) {
			cs = append(cs, cand{name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// history reads the alarm's state transitions, newest first, until it has
// the episode asked for and the one before it.
func (k *collector) history(ctx context.Context, alarm audit.Alarm) ([]audit.Transition, string, error) {
	k.progress("alarm", "reading state history of %s", alarm.Name)
	end := k.o.Now
	in := &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName:       aws.String(alarm.Name),
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		EndDate:         aws.Time(end),
		StartDate:       aws.Time(end.Add(-30 * 24 * time.Hour)), // CloudWatch keeps 30 days
		ScanBy:          cwtypes.ScanByTimestampDescending,
		MaxRecords:      aws.Int32(100),
	}
	p := cloudwatch.NewDescribeAlarmHistoryPaginator(k.c.CloudWatch, in)
	guard := newPageGuard("CloudWatch", "DescribeAlarmHistory")
	var ts []audit.Transition
	alarms := 0
	for pages := 0; p.HasMorePages() && pages < historyPages; pages++ {
		k.call("cloudwatch", "DescribeAlarmHistory")
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", err
		}
		for _, it := range out.AlarmHistoryItems {
			t, err := parseHistory(it)
			if err != nil {
				k.cover("alarm-history", audit.CoveragePartial, "history item at %s unreadable: %v", aws.ToTime(it.Timestamp).UTC().Format(time.RFC3339), err)
				continue
			}
			ts = append(ts, t)
			if t.To == audit.StateAlarm && t.From != audit.StateAlarm && (k.o.At == nil || t.Time.Before(*k.o.At)) {
				alarms++
			}
		}
		if alarms >= 2 {
			break
		}
		if err := guard.check(len(out.AlarmHistoryItems), out.NextToken); err != nil {
			return ts, "DescribeAlarmHistory", err
		}
	}
	return ts, "DescribeAlarmHistory", nil
}

// historyData is the JSON of a StateUpdate item's HistoryData.
type historyData struct {
	OldState struct {
		StateValue  string `json:"stateValue"`
		StateReason string `json:"stateReason"`
	} `json:"oldState"`
	NewState struct {
		StateValue      string          `json:"stateValue"`
		StateReason     string          `json:"stateReason"`
		StateReasonData json.RawMessage `json:"stateReasonData"`
	} `json:"newState"`
}

// stateReasonData is the alarm's StateReasonData JSON.
type stateReasonData struct {
	QueryDate           string `json:"queryDate"`
	StartDate           string `json:"startDate"`
	Period              int    `json:"period"`
	EvaluatedDatapoints []struct {
		Timestamp   string   `json:"timestamp"`
		Value       *float64 `json:"value"`
		SampleCount *float64 `json:"sampleCount"`
	} `json:"evaluatedDatapoints"`
}

func parseHistory(it cwtypes.AlarmHistoryItem) (audit.Transition, error) {
	t, err := parseHistoryData(it)
	if err != nil {
		// An unreadable HistoryData: its summary still says which change
		// it was (incident covers it).
		if s, ok := transitionFromSummary(it); ok {
			return s, nil
		}
	}
	return t, err
}

// parseHistoryData reads a StateUpdate item's HistoryData.
func parseHistoryData(it cwtypes.AlarmHistoryItem) (audit.Transition, error) {
	t := audit.Transition{Time: aws.ToTime(it.Timestamp).UTC(), Source: "DescribeAlarmHistory", Reason: aws.ToString(it.HistorySummary)}
	var hd historyData
	if err := json.Unmarshal([]byte(aws.ToString(it.HistoryData)), &hd); err != nil {
		return t, fmt.Errorf("HistoryData: %w", err)
	}
	t.From, t.To = hd.OldState.StateValue, hd.NewState.StateValue
	if t.To == "" {
		return t, errors.New("HistoryData has no newState.stateValue")
	}
	if hd.NewState.StateReason != "" {
		t.Reason = hd.NewState.StateReason
	}
	if len(hd.NewState.StateReasonData) > 0 {
		pts, err := evaluated(hd.NewState.StateReasonData)
		if err != nil {
			return t, err
		}
		t.Evaluated = pts
	}
	return t, nil
}

// evaluated reads stateReasonData.evaluatedDatapoints, oldest first; a
// datapoint without a value (missing data) is NaN.
func evaluated(raw []byte) ([]audit.Point, error) {
	var srd stateReasonData
	if err := json.Unmarshal(raw, &srd); err != nil {
		return nil, fmt.Errorf("stateReasonData: %w", err)
	}
	var pts []audit.Point
	for _, d := range srd.EvaluatedDatapoints {
		tm, err := audit.ParseTimestamp(d.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("stateReasonData: %w", err)
		}
		v := math.NaN()
		if d.Value != nil {
			v = *d.Value
		}
		pts = append(pts, audit.Point{Time: tm, Value: v})
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	return pts, nil
}

// currentTransition reconstructs the latest transition from the alarm's
// own state when no history is available.
func currentTransition(ma cwtypes.MetricAlarm, alarm audit.Alarm) (audit.Transition, bool) {
	if alarm.State != audit.StateAlarm {
		return audit.Transition{}, false
	}
	at := aws.ToTime(ma.StateTransitionedTimestamp)
	if at.IsZero() {
		at = alarm.StateUpdated
	}
	t := audit.Transition{Time: at.UTC(), From: "", To: audit.StateAlarm, Reason: alarm.StateReason, Source: "DescribeAlarms StateReasonData"}
	if raw := aws.ToString(ma.StateReasonData); raw != "" {
		if pts, err := evaluated([]byte(raw)); err == nil {
			t.Evaluated = pts
		}
	}
	return t, true
}

// alarmSeries reads the alarm's own metric around the episode, to find
// where the breaching run began.
func (k *collector) alarmSeries(ctx context.Context, alarm audit.Alarm, ep audit.Episode) (audit.Series, bool) {
	start := ep.BreachStartedAt.Add(-k.o.Lookback)
	end := ep.FiredAt.Add(time.Duration(alarm.Metric.Period) * time.Second)
	series, err := k.getMetrics(ctx, []wanted{{id: alarm.Metric, subject: alarmSubject(alarm), label: alarm.Metric.Name + " (the alarm's metric)"}}, start, end)
	if err != nil && !isPaging(err) || len(series) == 0 {
		return audit.Series{}, false
	}
	return series[0], true
}

func alarmSubject(a audit.Alarm) string {
	if len(a.Metric.Dimensions) > 0 {
		return a.Metric.Dimensions[0].Value
	}
	return a.Name
}
