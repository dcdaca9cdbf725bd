package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// SchemaVersion is the version of the JSON report contract.
const SchemaVersion = 1

// JSONReport is the JSON report contract, version 1. The fields the
// contract requires come first in each object; the others are extras a
// consumer may ignore. Times are RFC 3339 in UTC.
type JSONReport struct {
	SchemaVersion int              `json:"schema_version"`
	Alarm         JSONAlarm        `json:"alarm"`
	Verdict       JSONVerdict      `json:"verdict"`
	Scope         []JSONResource   `json:"scope"`
	Hypotheses    []JSONHypothesis `json:"hypotheses"`
	Timeline      []JSONEntry      `json:"timeline"`
	Coverage      []JSONCoverage   `json:"coverage"`
	// Extras.
	// Partial is true when the run stopped before every source was read
	// (Ctrl-C, --timeout); Interrupted says why.
	Partial     bool       `json:"partial"`
	Interrupted string     `json:"interrupted,omitempty"`
	Account     string     `json:"account,omitempty"`
	Region      string     `json:"region,omitempty"`
	Window      JSONWindow `json:"window"`
	APICalls    []JSONCall `json:"api_calls"`
}

// JSONAlarm is the incident.
type JSONAlarm struct {
	Name            string     `json:"name"`
	FiredAt         string     `json:"fired_at"`
	BreachStartedAt string     `json:"breach_started_at"`
	RecoveredAt     *string    `json:"recovered_at"`
	Metric          JSONMetric `json:"metric"`
	// Extras.
	Threshold           float64 `json:"threshold"`
	ComparisonOperator  string  `json:"comparison_operator"`
	EvaluationPeriods   int     `json:"evaluation_periods"`
	DatapointsToAlarm   int     `json:"datapoints_to_alarm"`
	BreachBasis         string  `json:"breach_basis"`
	Selection           string  `json:"selection"`
	DurationSeconds     int64   `json:"duration_seconds"`
	Ongoing             bool    `json:"ongoing"`
	TimeToDetectSeconds int64   `json:"time_to_detect_seconds"`
}

// JSONMetric is the alarm's metric.
type JSONMetric struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions"`
	Statistic  string            `json:"statistic"`
	Period     int               `json:"period"`
}

// JSONVerdict is the answer.
type JSONVerdict struct {
	Status     string     `json:"status"`
	Confidence string     `json:"confidence"`
	Summary    string     `json:"summary"`
	Cause      *JSONCause `json:"cause"`
	// Extras.
	Chain           []string `json:"chain"`
	ConfidenceWhy   []string `json:"confidence_why"`
	Recommendations []string `json:"recommendations"`
}

// JSONCause is the root cause.
type JSONCause struct {
	Kind      string   `json:"kind"`
	EventID   string   `json:"event_id"`
	EventName string   `json:"event_name"`
	EventTime string   `json:"event_time"`
	Actor     string   `json:"actor"`
	Resources []string `json:"resources"`
	// Extras.
	ActorARN  string   `json:"actor_arn,omitempty"`
	ActorType string   `json:"actor_type,omitempty"`
	Via       string   `json:"via,omitempty"`
	SourceIP  string   `json:"source_ip,omitempty"`
	UserAgent string   `json:"user_agent,omitempty"`
	Mechanism string   `json:"mechanism"`
	Class     string   `json:"class"`
	Request   string   `json:"request_parameters,omitempty"`
	Effects   []string `json:"effect_event_ids"`
}

// JSONResource is one resource on the path.
type JSONResource struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Relation string `json:"relation"`
	// Extras.
	Side   string `json:"side"`
	Via    string `json:"via"`
	Parent string `json:"parent,omitempty"`
	State  string `json:"state,omitempty"`
}

// JSONHypothesis is one candidate cause.
type JSONHypothesis struct {
	Rank      int      `json:"rank"`
	EventID   string   `json:"event_id"`
	EventName string   `json:"event_name"`
	Score     float64  `json:"score"`
	Why       []string `json:"why"`
	WhyNot    []string `json:"why_not"`
	// Extras.
	EventTime     string   `json:"event_time"`
	Actor         string   `json:"actor"`
	Resources     []string `json:"resources"`
	Mechanism     string   `json:"mechanism"`
	Relation      float64  `json:"relation"`
	Timing        float64  `json:"timing"`
	Corroboration float64  `json:"corroboration"`
	ErrorCode     string   `json:"error_code,omitempty"`
}

// JSONEntry is one timeline entry.
type JSONEntry struct {
	Time      string   `json:"time"`
	Kind      string   `json:"kind"`
	Role      string   `json:"role"`
	Summary   string   `json:"summary"`
	Resources []string `json:"resources"`
	Source    string   `json:"source"`
	// Extras.
	EventID string `json:"event_id,omitempty"`
}

// JSONCoverage is what one source covered.
type JSONCoverage struct {
	Source string `json:"source"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// JSONWindow is the interval read.
type JSONWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// JSONCall counts API calls.
type JSONCall struct {
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Count     int    `json:"count"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ToJSON maps a result onto the contract.
func ToJSON(r *correlate.Result) JSONReport {
	ev := r.Evidence
	inc := ev.Incident
	a := inc.Alarm
	out := JSONReport{
		SchemaVersion: SchemaVersion,
		Account:       ev.Account,
		Region:        ev.Region,
		Window:        JSONWindow{Start: ts(ev.Window.Start), End: ts(ev.Window.End)},
		Scope:         []JSONResource{},
		Hypotheses:    []JSONHypothesis{},
		Timeline:      []JSONEntry{},
		Coverage:      []JSONCoverage{},
		APICalls:      []JSONCall{},
		Partial:       ev.Interrupted != "",
		Interrupted:   ev.Interrupted,
	}
	dims := map[string]string{}
	for _, d := range a.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	out.Alarm = JSONAlarm{
		Name: a.Name, FiredAt: ts(r.Impact.FiredAt), BreachStartedAt: ts(r.Impact.BreachStartedAt),
		Metric:    JSONMetric{Namespace: a.Metric.Namespace, Name: a.Metric.Name, Dimensions: dims, Statistic: a.Metric.Stat, Period: a.Metric.Period},
		Threshold: a.Threshold, ComparisonOperator: a.Comparison, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm,
		BreachBasis: inc.Episode.BreachBasis, Selection: inc.Selection,
		DurationSeconds: int64(r.Impact.Duration.Seconds()), Ongoing: r.Impact.Ongoing, TimeToDetectSeconds: int64(r.Impact.TimeToDetect.Seconds()),
	}
	if r.Impact.RecoveredAt != nil {
		s := ts(*r.Impact.RecoveredAt)
		out.Alarm.RecoveredAt = &s
	}
	v := r.Verdict
	out.Verdict = JSONVerdict{Status: v.Status, Confidence: v.Confidence, Summary: v.Summary,
		Chain: nonNil(v.Chain), ConfidenceWhy: nonNil(v.ConfidenceWhy), Recommendations: nonNil(v.Recommendations)}
	if c := v.Cause; c != nil {
		jc := &JSONCause{Kind: c.Kind, EventID: c.Change.EventID, EventName: c.Change.EventName, EventTime: ts(c.Change.Time),
			Actor: c.Change.Actor.Name, Resources: resourceIDs(c.Targets), ActorARN: c.Change.Actor.ARN, ActorType: c.Change.Actor.Type,
			Via: c.Change.Via, SourceIP: c.Change.SourceIP, UserAgent: c.Change.UserAgent, Mechanism: c.Mechanism, Class: c.Class,
			Request: c.Change.Request, Effects: []string{}}
		for _, e := range c.Effects {
			jc.Effects = append(jc.Effects, e.EventID)
		}
		out.Verdict.Cause = jc
	}
	for _, res := range ev.Scope.Resources {
		out.Scope = append(out.Scope, JSONResource{ID: res.ID, Type: res.Type, Name: res.Name, Relation: res.Relation,
			Side: res.Side, Via: res.Via, Parent: res.Parent, State: res.State})
	}
	for _, h := range r.Hypotheses {
		res := resourceIDs(h.Targets)
		if len(h.Targets) == 0 {
			res = nonNil(append([]string(nil), h.Change.Resources...))
		}
		out.Hypotheses = append(out.Hypotheses, JSONHypothesis{Rank: h.Rank, EventID: h.Change.EventID, EventName: h.Change.EventName,
			Score: h.Score, Why: nonNil(h.Why), WhyNot: nonNil(h.WhyNot), EventTime: ts(h.Change.Time), Actor: h.Change.Actor.Name,
			Resources: res, Mechanism: h.Mechanism, Relation: h.Relation, Timing: h.Timing, Corroboration: h.Corroboration,
			ErrorCode: h.Change.ErrorCode})
	}
	for _, e := range r.Timeline {
		out.Timeline = append(out.Timeline, JSONEntry{Time: ts(e.Time), Kind: e.Kind, Role: e.Role, Summary: e.Summary,
			Resources: nonNil(e.Resources), Source: e.Source, EventID: e.EventID})
	}
	for _, c := range ev.Coverage {
		out.Coverage = append(out.Coverage, JSONCoverage{Source: c.Source, Status: c.Status, Detail: c.Detail})
	}
	for _, c := range ev.Calls {
		out.APICalls = append(out.APICalls, JSONCall{Service: c.Service, Operation: c.Operation, Count: c.Count})
	}
	return out
}

func resourceIDs(rs []audit.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// JSON writes the report as indented JSON. Evidence strings keep their
// exact values, but C1 controls and bidirectional-override or invisible
// format characters are written as \uXXXX escapes, so a report printed to
// a terminal or opened in an editor cannot act on them (encoding/json
// already escapes C0 controls, <, > and &).
func JSON(w io.Writer, r *correlate.Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ToJSON(r)); err != nil {
		return err
	}
	_, err := w.Write(escapeInvisible(buf.Bytes()))
	return err
}

// escapeInvisible rewrites the runes that terminals and editors act on
// invisibly as JSON \u escapes. It is applied to encoded JSON, where such
// runes can only stand inside strings.
func escapeInvisible(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if invisible(r) {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

func invisible(r rune) bool {
	return r >= 0x80 && r <= 0x9f || // C1 controls (0x9b is CSI)
		r >= 0x200b && r <= 0x200f || // zero-width characters, LRM, RLM
		r >= 0x202a && r <= 0x202e || // bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069 || // bidi isolates
		r == 0xfeff
}
