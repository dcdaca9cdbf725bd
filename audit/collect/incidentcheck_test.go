package collect

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
)

// A StateUpdate item whose HistoryData is unreadable keeps its transition,
// read from its summary; one whose summary is unreadable too is an error.
func TestParseHistoryFallback(t *testing.T) {
	at := time.Date(2026, 11, 3, 21, 55, 26, 0, time.UTC)
	tests := []struct {
		name    string
		data    string
		summary string
		want    audit.Transition
		wantErr string
	}{
		{"truncated HistoryData", `{"oldState":{"stateValue":"OK"},"newState":{"stateValue":`, "Alarm updated from OK to ALARM",
			audit.Transition{Time: at, From: "OK", To: "ALARM", Reason: "Alarm updated from OK to ALARM", Source: sourceSummary}, ""},
		{"no new state", `{}`, "Alarm updated from ALARM to OK",
			audit.Transition{Time: at, From: "ALARM", To: "OK", Reason: "Alarm updated from ALARM to OK", Source: sourceSummary}, ""},
		{"bad stateReasonData", `{"oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReasonData":{"evaluatedDatapoints":[{"timestamp":"never"}]}}}`,
			"Alarm updated from OK to ALARM",
			audit.Transition{Time: at, From: "OK", To: "ALARM", Reason: "Alarm updated from OK to ALARM", Source: sourceSummary}, ""},
		{"both unreadable", `{`, "Alarm went somewhere", audit.Transition{}, "HistoryData: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHistory(cwtypes.AlarmHistoryItem{Timestamp: aws.Time(at), HistoryData: aws.String(tt.data), HistorySummary: aws.String(tt.summary)})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckAlarmKind(t *testing.T) {
	dims := func(names ...string) audit.Alarm {
		a := audit.Alarm{Metric: audit.MetricID{Namespace: "AWS/X", Name: "M", Stat: "Sum", Period: 60}}
		for _, n := range names {
			a.Metric.Dimensions = append(a.Metric.Dimensions, audit.Dimension{Name: n, Value: "v"})
		}
		return a
	}
	tests := []struct {
		alarm audit.Alarm
		ok    bool
	}{
		{dims("VpnId"), true},
		{dims("TunnelIpAddress"), true},
		{dims("TransitGateway"), true},
		{dims("InstanceId"), true},
		{dims("TransitGateway", "TransitGatewayAttachment"), true},
		{dims("TransitGatewayAttachment"), true},
		{dims("LoadBalancer", "TargetGroup"), false},
		{dims(), false},
	}
	for _, tt := range tests {
		if err := checkAlarmKind("a", tt.alarm); (err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok=%v", tt.alarm.Metric.String(), err, tt.ok)
		}
	}
}

// The retention checks name what AWS keeps, against the evidence's clock.
func TestEpisodeError(t *testing.T) {
	now := time.Date(2026, 11, 3, 22, 50, 0, 0, time.UTC)
	eps := []audit.Episode{{FiredAt: time.Date(2026, 11, 3, 21, 55, 26, 0, time.UTC)}}
	tests := []struct {
		at   time.Time
		want string
	}{
		{now.Add(50 * 24 * time.Hour), "--at 2026-12-23T22:50:00Z is 50 days after the evidence was read (2026-11-03T22:50:00Z), so no alarm episode can be there: check the date and the time zone (the alarm fired at 2026-11-03T21:55:26Z)"},
		{now.Add(-91 * 24 * time.Hour), "--at 2026-08-04T22:50:00Z is 91 days before the evidence was read (2026-11-03T22:50:00Z), beyond CloudTrail's 90-day event history and CloudWatch's 30-day alarm history: an alarm that old cannot be investigated (the alarm fired at 2026-11-03T21:55:26Z)"},
		{now.Add(-40 * 24 * time.Hour), "--at 2026-09-24T22:50:00Z is 40 days before the evidence was read (2026-11-03T22:50:00Z), beyond CloudWatch's 30-day alarm history: no episode that old can be found (the alarm fired at 2026-11-03T21:55:26Z)"},
		{now.Add(-10 * 24 * time.Hour), `alarm "VPN-Down": no episode`},
	}
	for _, tt := range tests {
		at := tt.at
		k := &collector{o: Options{Alarm: "VPN-Down", Now: now, At: &at}}
		got := k.episodeError(eps, audit.Alarm{}, errNoEpisode).Error()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

var errNoEpisode = errorString("no episode")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"AWS/VPN TunnelState{VpnId=vpn-1} Maximum/60s": "AWS/VPN TunnelState{VpnId=vpn-1} Maximum/60s",
		"ALARM(\"a\") OR ALARM(b)":                     "ALARM(\"a\") OR ALARM(b)",
		"":                                             `""`,
		"Tunnel\x1b]0;owned\x07":                       `"Tunnel\x1b]0;owned\a"`,
		"\xffpnId":                                     `"\xffpnId"`,
		"bidi \u202e":                                  `"bidi \u202e"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}
