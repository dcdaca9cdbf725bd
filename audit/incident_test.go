package audit

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ptr(t time.Time) *time.Time { return &t }

var vpnAlarm = Alarm{Name: "VPN-Down", Metric: MetricID{Namespace: "AWS/VPN", Name: "TunnelState", Stat: "Maximum", Period: 60},
	Threshold: 1, Comparison: "LessThanThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "missing"}

func TestEpisodes(t *testing.T) {
	tr := func(at, from, to string, eval ...Point) Transition {
		return Transition{Time: mustTime(at), From: from, To: to, Evaluated: eval}
	}
	p := func(at string, v float64) Point { return Point{Time: mustTime(at), Value: v} }
	tests := []struct {
		name string
		in   []Transition
		want []Episode
	}{
		{
			name: "fired and recovered, newest first input",
			in: []Transition{
				tr("2026-10-14T03:10:00Z", "ALARM", "OK"),
				tr("2026-10-14T02:34:13Z", "OK", "ALARM", p("2026-10-14T02:31:00Z", 1), p("2026-10-14T02:32:00Z", 0), p("2026-10-14T02:33:00Z", 0)),
			},
			want: []Episode{{FiredAt: mustTime("2026-10-14T02:34:13Z"), BreachStartedAt: mustTime("2026-10-14T02:32:00Z"),
				BreachBasis: "first breaching datapoint the alarm evaluated (value 0)", RecoveredAt: ptr(mustTime("2026-10-14T03:10:00Z"))}},
		},
		{
			name: "two episodes; the second ends in INSUFFICIENT_DATA, not a recovery",
			in: []Transition{
				tr("2026-10-12T01:00:00Z", "OK", "ALARM", p("2026-10-12T00:59:00Z", 0)),
				tr("2026-10-12T01:04:00Z", "ALARM", "OK"),
				tr("2026-10-14T02:34:13Z", "INSUFFICIENT_DATA", "ALARM"),
				tr("2026-10-14T02:50:00Z", "ALARM", "INSUFFICIENT_DATA"),
			},
			want: []Episode{
				{FiredAt: mustTime("2026-10-12T01:00:00Z"), BreachStartedAt: mustTime("2026-10-12T00:59:00Z"),
					BreachBasis: "first breaching datapoint the alarm evaluated (value 0)", RecoveredAt: ptr(mustTime("2026-10-12T01:04:00Z"))},
				{FiredAt: mustTime("2026-10-14T02:34:13Z"), BreachStartedAt: mustTime("2026-10-14T02:33:00Z"),
					BreachBasis: "one period before the alarm fired (no evaluated datapoints recorded)"},
			},
		},
		{
			name: "ALARM to ALARM updates do not start an episode",
			in:   []Transition{tr("2026-10-14T02:34:13Z", "OK", "ALARM"), tr("2026-10-14T02:40:00Z", "ALARM", "ALARM")},
			want: []Episode{{FiredAt: mustTime("2026-10-14T02:34:13Z"), BreachStartedAt: mustTime("2026-10-14T02:33:00Z"),
				BreachBasis: "one period before the alarm fired (no evaluated datapoints recorded)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Episodes(tt.in, vpnAlarm)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Episode{}, "Evaluated", "Reason", "Source")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBreachTreatsMissingAsBreaching(t *testing.T) {
	a := vpnAlarm
	a.TreatMissingData = "breaching"
	eps := Episodes([]Transition{{Time: mustTime("2026-10-14T02:34:13Z"), From: "OK", To: "ALARM",
		Evaluated: []Point{{mustTime("2026-10-14T02:32:00Z"), math.NaN()}, {mustTime("2026-10-14T02:33:00Z"), 0}}}}, a)
	if got, want := eps[0].BreachStartedAt, mustTime("2026-10-14T02:32:00Z"); !got.Equal(want) {
		t.Errorf("breach start = %s, want %s (a missing datapoint breaches)", got, want)
	}
}

func TestSelectEpisode(t *testing.T) {
	eps := []Episode{
		{FiredAt: mustTime("2026-11-03T08:12:00Z"), BreachStartedAt: mustTime("2026-11-03T08:10:00Z"), RecoveredAt: ptr(mustTime("2026-11-03T08:40:00Z"))},
		{FiredAt: mustTime("2026-11-03T21:55:20Z"), BreachStartedAt: mustTime("2026-11-03T21:53:00Z")},
	}
	tests := []struct {
		name    string
		at      *time.Time
		want    time.Time
		wantErr bool
	}{
		{"latest by default", nil, eps[1].FiredAt, false},
		{"--at inside the first episode", ptr(mustTime("2026-11-03T08:30:00Z")), eps[0].FiredAt, false},
		{"--at in an ongoing episode", ptr(mustTime("2026-11-03T23:00:00Z")), eps[1].FiredAt, false},
		{"--at a little before the breach", ptr(mustTime("2026-11-03T08:05:00Z")), eps[0].FiredAt, false},
		{"--at far from any episode", ptr(mustTime("2026-11-03T12:00:00Z")), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why, err := SelectEpisode(eps, tt.at, time.Minute)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (!got.FiredAt.Equal(tt.want) || why == "") {
				t.Errorf("selected %s (%q), want %s", got.FiredAt, why, tt.want)
			}
		})
	}
}

func TestRefineBreach(t *testing.T) {
	s := Series{Points: []Point{
		{mustTime("2026-10-14T02:28:00Z"), 1}, {mustTime("2026-10-14T02:29:00Z"), 0}, {mustTime("2026-10-14T02:30:00Z"), 0},
		{mustTime("2026-10-14T02:31:00Z"), 0}, {mustTime("2026-10-14T02:32:00Z"), 0},
	}}
	ep := Episode{BreachStartedAt: mustTime("2026-10-14T02:31:00Z")}
	RefineBreach(&ep, vpnAlarm, s)
	if want := mustTime("2026-10-14T02:29:00Z"); !ep.BreachStartedAt.Equal(want) {
		t.Errorf("refined breach = %s, want %s", ep.BreachStartedAt, want)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"2026-10-14T02:34:13Z", "2026-10-14T02:34:13Z"},
		{"2026-10-14T11:34:13+09:00", "2026-10-14T02:34:13Z"},
		{"2026-10-14T02:34:13.000+0000", "2026-10-14T02:34:13Z"},
		{"2026-10-14 02:34:13", "2026-10-14T02:34:13Z"},
		{"1791945253", "2026-10-14T02:34:13Z"},
		{"1791945253000", "2026-10-14T02:34:13Z"},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.Format(time.RFC3339)); diff != "" {
			t.Errorf("ParseTimestamp(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("ParseTimestamp(yesterday) succeeded")
	}
}
