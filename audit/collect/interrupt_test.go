package collect

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

var errCtrlC = errors.New("interrupted by Ctrl-C")

// The stop* clients cancel the run's context when a given call is made,
// as a Ctrl-C landing while that call is in flight would, and then fail
// the call the way the SDK does.
type stopEC2 struct {
	EC2API
	stop func()
}

func (c stopEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, o ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	c.stop()
	return c.EC2API.DescribeInstances(ctx, in, o...)
}

type stopAlarms struct {
	CloudWatchAPI
	stop func()
}

func (c stopAlarms) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	c.stop()
	return c.CloudWatchAPI.DescribeAlarms(ctx, in, o...)
}

// stopLogs lets the first page through and stops at the second.
type stopLogs struct {
	LogsAPI
	stop  func()
	calls *int
}

func (c stopLogs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if *c.calls++; *c.calls == 2 {
		c.stop()
	}
	return c.LogsAPI.FilterLogEvents(ctx, in, o...)
}

func TestInterrupted(t *testing.T) {
	dir := testenv.Fixture(t, "lab-console-stop")
	statuses := func(ev *audit.Evidence) map[string]string {
		m := map[string]string{}
		for _, c := range ev.Coverage {
			m[c.Source] = c.Status
		}
		return m
	}
	tests := []struct {
		name string
		wrap func(Clients, func()) Clients
		// want is the coverage by source; nil means Collect fails with wantErr.
		want    map[string]string
		wantErr string
		// only lists the sources whose status is certain (the others race
		// with the stop).
		only []string
	}{
		{
			name:    "before the alarm is read",
			wrap:    func(c Clients, stop func()) Clients { c.CloudWatch = stopAlarms{c.CloudWatch, stop}; return c },
			wantErr: `interrupted by Ctrl-C before the alarm "VPN-Down" was read: there is nothing to report`,
		},
		{
			name: "while the path is walked",
			wrap: func(c Clients, stop func()) Clients { c.EC2 = stopEC2{c.EC2, stop}; return c },
			want: map[string]string{"scope": audit.CoveragePartial, "cloudtrail": audit.CoverageMissing,
				"flow-logs": audit.CoverageMissing, "metrics": audit.CoverageMissing},
			only: []string{"cloudtrail", "flow-logs", "metrics"},
		},
		{
			name: "while flow logs are paged",
			wrap: func(c Clients, stop func()) Clients { n := 0; c.Logs = stopLogs{c.Logs, stop, &n}; return c },
			want: map[string]string{"flow-logs": audit.CoveragePartial},
			only: []string{"flow-logs"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			c := tc.wrap(clients(b), func() { cancel(errCtrlC) })
			ev, err := Collect(ctx, c, Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt})
			if tc.want == nil {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, errCtrlC) {
					t.Fatalf("Collect error = %v, want %q wrapping the cause", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Collect: %v (want the partial evidence)", err)
			}
			if ev.Interrupted != errCtrlC.Error() {
				t.Errorf("Interrupted = %q, want %q", ev.Interrupted, errCtrlC)
			}
			got := statuses(ev)
			for _, s := range tc.only {
				if diff := cmp.Diff(tc.want[s], got[s]); diff != "" {
					t.Errorf("coverage of %s (-want +got):\n%s", s, diff)
				}
			}
			for _, cov := range ev.Coverage {
				if cov.Status == audit.CoverageMissing && cov.Source == "cloudtrail" {
					if want := "LookupEvents failed: the run was stopped before this finished; changes to the path are unknown"; cov.Detail != want {
						t.Errorf("cloudtrail detail = %q, want %q", cov.Detail, want)
					}
				}
			}
		})
	}
}

func TestMergeCoverage(t *testing.T) {
	in := []audit.Coverage{
		{Source: "alarm", Status: audit.CoverageOK, Detail: "VPN-Down"},
		{Source: "cloudtrail", Status: audit.CoveragePartial, Detail: "the window reaches beyond CloudTrail's 90 days"},
		{Source: "alarm-history", Status: audit.CoverageMissing, Detail: "not recorded"},
		{Source: "cloudtrail", Status: audit.CoverageOK, Detail: "35 changes"},
		{Source: "alarm-history", Status: audit.CoverageMissing, Detail: "not recorded"},
		{Source: "flow-logs", Status: audit.CoverageOK, Detail: "1895 records"},
	}
	want := []audit.Coverage{
		{Source: "alarm", Status: audit.CoverageOK, Detail: "VPN-Down"},
		{Source: "cloudtrail", Status: audit.CoveragePartial, Detail: "the window reaches beyond CloudTrail's 90 days; 35 changes"},
		{Source: "alarm-history", Status: audit.CoverageMissing, Detail: "not recorded"},
		{Source: "flow-logs", Status: audit.CoverageOK, Detail: "1895 records"},
	}
	if diff := cmp.Diff(want, mergeCoverage(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
