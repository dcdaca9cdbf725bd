package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
	"github.com/vpnaudit/vpnaudit/report"
)

// badCase is one bad input: a copy of a fixture, mutated, run through the
// real command line.
type badCase struct {
	name string
	// fixture is the bundle copied to <tmp>/bundle (default lab-console-stop).
	fixture string
	// mutate changes the copy; root is the case's temporary directory, the
	// bundle is root/bundle.
	mutate func(t *testing.T, root, bundle string)
	// args follow "why"; {bundle} and {root} are replaced by the paths.
	// Without args: --alarm VPN-Down --from {bundle} --format json.
	args []string
	code int
	// needsNonRoot skips the case when running as root (permissions do not
	// apply to root).
	needsNonRoot bool
}

var defaultArgs = []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--format", "json"}

// TestBadInput runs the command on bad inputs and compares the exit status
// and what the user sees (stderr, and for a report the verdict and the
// coverage) with testdata/badinput/<case>.golden. No input may panic, an
// error is exit 1, a usage error exit 2, and a report that is still
// produced (exit 0) must say in its coverage what was wrong.
func TestBadInput(t *testing.T) {
	if *update {
		mkdir(t, filepath.Join("testdata", "badinput"))
	}
	cases := badCases()
	names := map[string]bool{}
	for _, tc := range cases {
		names[tc.name+".golden"] = true
	}
	stale, _ := filepath.Glob(filepath.Join("testdata", "badinput", "*.golden"))
	for _, p := range stale {
		if !names[filepath.Base(p)] {
			t.Errorf("%s belongs to no case: remove it", p)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsNonRoot && os.Geteuid() == 0 {
				t.Skip("SKIP: running as root, which file permissions do not stop")
			}
			root := t.TempDir()
			bundle := filepath.Join(root, "bundle")
			fixture := tc.fixture
			if fixture == "" {
				fixture = "lab-console-stop"
			}
			copyTree(t, testenv.Fixture(t, fixture), bundle)
			if tc.mutate != nil {
				tc.mutate(t, root, bundle)
			}
			args := tc.args
			if args == nil {
				args = defaultArgs
			}
			args = append([]string{"why"}, args...)
			for i, a := range args {
				args[i] = strings.NewReplacer("{bundle}", bundle, "{root}", root).Replace(a)
			}
			var r result
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic: %v", p)
					}
				}()
				r = run(t, nil, args...)
			}()
			if strings.Contains(r.stderr+r.stdout, "panic:") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("a panic reached the user:\n%s", r.stderr)
			}
			if strings.ContainsAny(r.stderr, "\x1b\x07\u009b\u202e") {
				t.Errorf("stderr carries terminal controls from the evidence: %q", r.stderr)
			}
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if r.code != ExitOK && r.stdout != "" {
				t.Errorf("stdout not empty on exit %d:\n%s", r.code, r.stdout)
			}
			got := describe(t, r, args)
			got = strings.ReplaceAll(got, root, "<tmp>")
			if strings.Contains(got, os.TempDir()) {
				t.Errorf("output names a temporary path:\n%s", got)
			}
			golden(t, filepath.Join("badinput", tc.name+".golden"), got)
		})
	}
}

// describe renders what the user saw: the command, the exit status,
// stderr, and for a JSON report its verdict and coverage.
func describe(t *testing.T, r result, args []string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "$ vpnaudit %s\nexit %d\n", strings.Join(quoteArgs(args), " "), r.code)
	if r.stderr != "" {
		fmt.Fprintf(&b, "stderr:\n%s", r.stderr)
		if !strings.HasSuffix(r.stderr, "\n") {
			b.WriteString("\n")
		}
	}
	if r.code == ExitOK && strings.HasPrefix(r.stdout, "{") {
		var rep report.JSONReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("JSON report: %v", err)
		}
		fmt.Fprintf(&b, "verdict: %s, %s confidence: %s\n", rep.Verdict.Status, rep.Verdict.Confidence, rep.Verdict.Summary)
		b.WriteString("coverage:\n")
		for _, c := range rep.Coverage {
			fmt.Fprintf(&b, "  %-13s %-7s %s\n", c.Source, c.Status, c.Detail)
		}
	} else if r.code == ExitOK {
		fmt.Fprintf(&b, "stdout: %d bytes\n", len(r.stdout))
	}
	return b.String()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"\\$") || !isPrintable(a) {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

func badCases() []badCase {
	const (
		alarms   = "cloudwatch/DescribeAlarms.json"
		history  = "cloudwatch/DescribeAlarmHistory-VPN-Down.json"
		trail0   = "cloudtrail/LookupEvents-000.json"
		flowLogs = "ec2/DescribeFlowLogs.json"
		logs0    = "logs/FilterLogEvents-000.json"
		metrics0 = "cloudwatch/GetMetricData-000.json"
		vpns     = "ec2/DescribeVpnConnections.json"
	)
	// vpnDown edits the VPN-Down alarm in DescribeAlarms.
	vpnDown := func(edit func(a map[string]any)) func(t *testing.T, root, bundle string) {
		return func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, alarms), func(doc map[string]any) {
				for _, a := range output(doc)["MetricAlarms"].([]any) {
					if a := a.(map[string]any); a["AlarmName"] == "VPN-Down" {
						edit(a)
					}
				}
			})
		}
	}
	writeFile := func(rel, content string) func(t *testing.T, root, bundle string) {
		return func(t *testing.T, root, bundle string) { write(t, filepath.Join(bundle, rel), content) }
	}
	return []badCase{
		// The bundle itself.
		{name: "bundle-dir-missing", args: []string{"--alarm", "VPN-Down", "--from", "{root}/no-such-bundle"}, code: ExitError},
		{name: "bundle-is-a-file", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}/bundle.json"}, code: ExitError},
		{name: "bundle-empty-dir", mutate: func(t *testing.T, root, bundle string) { removeAll(t, bundle); mkdir(t, bundle) }, code: ExitError},
		{name: "bundle-parent-dir", args: []string{"--alarm", "VPN-Down", "--from", "{root}"}, code: ExitError},
		{name: "bundle-unreadable-dir", mutate: func(t *testing.T, root, bundle string) { chmod(t, filepath.Join(bundle, "cloudwatch"), 0) },
			code: ExitError, needsNonRoot: true},
		{name: "manifest-format-version-2", mutate: writeFile("bundle.json", `{"FormatVersion": 2}`), code: ExitError},
		{name: "manifest-not-json", mutate: writeFile("bundle.json", "FormatVersion=1\n"), code: ExitError},
		{name: "manifest-truncated", mutate: writeFile("bundle.json", `{"FormatVersion": 1, "Region": "eu-central-1", "Recor`), code: ExitError},
		{name: "manifest-empty-file", mutate: writeFile("bundle.json", ""), code: ExitError},
		{name: "manifest-wrong-type", mutate: writeFile("bundle.json", `{"FormatVersion": "one", "Region": "eu-central-1", "RecordedAt": "2026-11-03T22:50:00Z"}`), code: ExitError},
		{name: "manifest-bad-time", mutate: writeFile("bundle.json", `{"FormatVersion": 1, "RecordedAt": "yesterday"}`), code: ExitError},
		{name: "manifest-is-a-directory", mutate: func(t *testing.T, root, bundle string) {
			remove(t, filepath.Join(bundle, "bundle.json"))
			mkdir(t, filepath.Join(bundle, "bundle.json"))
		}, code: ExitError},
		{name: "manifest-symlink-outside", mutate: func(t *testing.T, root, bundle string) {
			moveOut(t, root, filepath.Join(bundle, "bundle.json"))
		}, code: ExitError},

		// The alarm.
		{name: "alarms-missing", mutate: func(t *testing.T, root, bundle string) { remove(t, filepath.Join(bundle, alarms)) }, code: ExitError},
		{name: "alarms-misnamed", mutate: func(t *testing.T, root, bundle string) {
			if err := os.Rename(filepath.Join(bundle, alarms), filepath.Join(bundle, "cloudwatch", "describe-alarms.json")); err != nil {
				t.Fatal(err)
			}
		}, code: ExitError},
		{name: "alarms-not-json", mutate: writeFile(alarms, "<html>Rate exceeded</html>\n"), code: ExitError},
		{name: "alarms-truncated", mutate: func(t *testing.T, root, bundle string) { truncate(t, filepath.Join(bundle, alarms)) }, code: ExitError},
		{name: "alarms-empty-file", mutate: writeFile(alarms, ""), code: ExitError},
		{name: "alarms-invalid-utf8-file-name", mutate: func(t *testing.T, root, bundle string) {
			write(t, filepath.Join(bundle, "cloudwatch", "DescribeAlarms-\xff.json"), "{")
		}, code: ExitError},
		{name: "alarms-wrong-type", mutate: vpnDown(func(a map[string]any) { a["Threshold"] = "one" }), code: ExitError},
		{name: "alarms-file-is-a-directory", mutate: func(t *testing.T, root, bundle string) {
			remove(t, filepath.Join(bundle, alarms))
			mkdir(t, filepath.Join(bundle, alarms))
		}, code: ExitError},
		{name: "alarms-symlink-outside", mutate: func(t *testing.T, root, bundle string) { moveOut(t, root, filepath.Join(bundle, alarms)) }, code: ExitError},
		{name: "alarms-unreadable-file", mutate: func(t *testing.T, root, bundle string) { chmod(t, filepath.Join(bundle, alarms), 0) },
			code: ExitError, needsNonRoot: true},
		{name: "alarm-unknown-name", args: []string{"--alarm", "VPN-Dwn", "--from", "{bundle}"}, code: ExitError},
		{name: "alarm-unknown-no-suggestion", args: []string{"--alarm", "payroll-db-latency", "--from", "{bundle}"}, code: ExitError},
		{name: "alarm-name-invalid-utf8", args: []string{"--alarm", "VPN-Down\xff", "--from", "{bundle}"}, code: ExitError},
		{name: "alarm-invalid-utf8-description", mutate: vpnDown(func(a map[string]any) {
			a["AlarmDescription"] = "tunnels \xff\xfe down"
		}), code: ExitOK},
		{name: "alarm-composite", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, alarms), func(doc map[string]any) {
				out := output(doc)
				var keep []any
				for _, a := range out["MetricAlarms"].([]any) {
					if a.(map[string]any)["AlarmName"] != "VPN-Down" {
						keep = append(keep, a)
					}
				}
				out["MetricAlarms"] = keep
				out["CompositeAlarms"] = []any{map[string]any{"AlarmName": "VPN-Down", "StateValue": "ALARM",
					"AlarmRule": `ALARM("VPN-Down-partner-logistics") OR ALARM("core-tgw-noroute-drops")`}}
			})
		}, code: ExitError},
		{name: "alarm-metric-math", mutate: vpnDown(func(a map[string]any) {
			for _, k := range []string{"Namespace", "MetricName", "Dimensions", "Statistic", "Period"} {
				delete(a, k)
			}
			a["Metrics"] = []any{
				map[string]any{"Id": "e1", "Expression": "MIN([t1, t2])", "ReturnData": true},
				map[string]any{"Id": "t1", "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/VPN", "MetricName": "TunnelState",
					"Dimensions": []any{map[string]any{"Name": "TunnelIpAddress", "Value": "3.121.204.17"}}}, "Period": 60, "Stat": "Maximum"}, "ReturnData": false},
				map[string]any{"Id": "t2", "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/VPN", "MetricName": "TunnelState",
					"Dimensions": []any{map[string]any{"Name": "TunnelIpAddress", "Value": "18.156.91.230"}}}, "Period": 60, "Stat": "Maximum"}, "ReturnData": false},
			}
		}), code: ExitError},
		{name: "alarm-on-ec2-cpu", mutate: vpnDown(func(a map[string]any) {
			a["Namespace"], a["MetricName"], a["Statistic"] = "AWS/EC2", "CPUUtilization", "Average"
			a["ComparisonOperator"], a["Threshold"] = "GreaterThanThreshold", 90
			a["Dimensions"] = []any{map[string]any{"Name": "InstanceId", "Value": "i-0e13202bfd2d596fa"}}
		}), code: ExitError},
		{name: "alarm-on-alb-5xx", mutate: vpnDown(func(a map[string]any) {
			a["Namespace"], a["MetricName"], a["Statistic"] = "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum"
			a["ComparisonOperator"], a["Threshold"] = "GreaterThanThreshold", 10
			a["Dimensions"] = []any{map[string]any{"Name": "LoadBalancer", "Value": "app/web/50dc6c495c0c9188"}}
		}), code: ExitError},
		{name: "alarm-hostile-dimension", mutate: vpnDown(func(a map[string]any) {
			// A dimension whose name drives the terminal: the error quotes it.
			a["Dimensions"] = []any{map[string]any{"Name": "\x1b]0;owned\x07VpnId", "Value": "vpn-05a2f31aa1e03e478"}}
		}), code: ExitError},
		{name: "alarm-never-in-alarm", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, history), func(doc map[string]any) {
				output(doc)["AlarmHistoryItems"] = []any{}
			})
		}, code: ExitError},
		{name: "history-unparsable", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, history), func(doc map[string]any) {
				for _, it := range output(doc)["AlarmHistoryItems"].([]any) {
					if it := it.(map[string]any); it["HistoryItemType"] == "StateUpdate" && strings.HasPrefix(it["Timestamp"].(string), "2026-11-03T21") {
						it["HistoryData"] = `{"version":"1.0","oldState":{"stateValue":"OK"},"newState":{"stateValue":`
					}
				}
			})
		}, code: ExitOK},

		// Time.
		{name: "at-unreadable", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--at", "last tuesday"}, code: ExitUsage},
		{name: "at-no-episode", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--at", "2026-10-20 12:00"}, code: ExitError},
		{name: "at-in-the-future", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--at", "2026-12-24T18:00:00Z"}, code: ExitError},
		{name: "at-beyond-90-days", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--at", "2026-08-04T21:55:00Z"}, code: ExitError},
		{name: "lookback-beyond-90-days", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--format", "json", "--lookback", "2200h"}, code: ExitOK},
		{name: "recorded-before-the-alarm", mutate: writeFile("bundle.json",
			`{"FormatVersion": 1, "Region": "eu-central-1", "AccountId": "444455556666", "RecordedAt": "2026-11-03T21:00:00Z"}`), code: ExitOK},
		{name: "history-in-the-future", mutate: historyInTheFuture, code: ExitError},
		{name: "history-in-the-future-at", mutate: historyInTheFuture,
			args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--format", "json", "--at", "2026-11-01T03:13:26Z"}, code: ExitOK},
		{name: "history-in-the-future-in-alarm", mutate: func(t *testing.T, root, bundle string) {
			historyInTheFuture(t, root, bundle)
			vpnDown(func(a map[string]any) {
				a["StateValue"] = "ALARM"
				a["StateTransitionedTimestamp"] = "2026-11-03T21:55:26.837000+00:00"
				a["StateUpdatedTimestamp"] = "2026-11-03T21:55:26.837000+00:00"
				a["StateReasonData"] = `{"version":"1.0","queryDate":"2026-11-03T21:55:26.837+0000","startDate":"2026-11-03T21:53:00.000+0000","statistic":"Maximum","period":60,"evaluatedDatapoints":[{"timestamp":"2026-11-03T21:54:00.000+0000","sampleCount":1.0,"value":0.0},{"timestamp":"2026-11-03T21:53:00.000+0000","sampleCount":1.0,"value":0.0}]}`
			})(t, root, bundle)
		}, code: ExitOK},

		// CloudTrail.
		{name: "trail-not-json", mutate: writeFile(trail0, "not json\n"), code: ExitOK},
		{name: "trail-empty-file", mutate: writeFile(trail0, ""), code: ExitOK},
		{name: "trail-symlink-outside", mutate: func(t *testing.T, root, bundle string) { moveOut(t, root, filepath.Join(bundle, trail0)) }, code: ExitError},
		{name: "trail-dir-symlink-outside", mutate: func(t *testing.T, root, bundle string) { moveOut(t, root, filepath.Join(bundle, "cloudtrail")) }, code: ExitError},
		{name: "logs-symlink-inside", mutate: func(t *testing.T, root, bundle string) {
			// Even a link to a file inside the bundle is not followed.
			if err := os.Symlink("FilterLogEvents-000.json", filepath.Join(bundle, "logs", "FilterLogEvents-009.json")); err != nil {
				t.Skipf("SKIP: symbolic links unavailable: %v", err)
			}
		}, code: ExitError},
		{name: "trail-duplicate-event-ids", mutate: func(t *testing.T, root, bundle string) {
			// Every page again under another name: each event twice.
			for i := 0; i < 8; i++ {
				raw := read(t, filepath.Join(bundle, fmt.Sprintf("cloudtrail/LookupEvents-%03d.json", i)))
				write(t, filepath.Join(bundle, fmt.Sprintf("cloudtrail/LookupEvents-%03d-again.json", i)), string(raw))
			}
		}, code: ExitOK},
		{name: "trail-invalid-utf8-user", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, trail0), func(doc map[string]any) {
				for _, e := range output(doc)["Events"].([]any) {
					e := e.(map[string]any)
					e["Username"] = "dana\xff\xfe"
					e["CloudTrailEvent"] = strings.ReplaceAll(e["CloudTrailEvent"].(string), `"userName":"`, "\"userName\":\"\xff")
				}
			})
		}, code: ExitOK},
		{name: "trail-wrong-type", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, trail0), func(doc map[string]any) {
				output(doc)["Events"].([]any)[0].(map[string]any)["EventTime"] = true
			})
		}, code: ExitOK},

		// Flow logs.
		{name: "flowlog-malformed-lines", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, logs0), func(doc map[string]any) {
				events := output(doc)["events"].([]any)
				for i, n := 0, 0; i < len(events) && n < 3; i += 100 {
					events[i].(map[string]any)["message"] = "5 eni-019c89bfd9382fbb8 444455556666 egress 192.168.10.50 not-an-address"
					n++
				}
			})
		}, code: ExitOK},
		{name: "flowlog-enormous-line", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, logs0), func(doc map[string]any) {
				events := output(doc)["events"].([]any)
				events[1].(map[string]any)["message"] = "5 eni-019c89bfd9382fbb8 " + strings.Repeat("x", 10<<20)
			})
		}, code: ExitOK},
		{name: "flowlog-invalid-utf8", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, logs0), func(doc map[string]any) {
				events := output(doc)["events"].([]any)
				events[2].(map[string]any)["message"] = "5 eni-019c89bfd9382fbb8 \xff\xfe egress"
			})
		}, code: ExitOK},
		{name: "flowlog-page-not-json", mutate: writeFile(logs0, `{"Input": {"logGroupName": "/vpc/flowlogs/datacenter"}, "Output": {"events": [{"message": "5 eni-1`), code: ExitOK},
		{name: "flowlog-unknown-field", mutate: editFlowLog(0, func(fl map[string]any) {
			fl["LogFormat"] = strings.Replace(fl["LogFormat"].(string), "${tcp-flags}", "${tcp-flagz}", 1)
		}), code: ExitOK},
		{name: "flowlog-duplicate-field", mutate: editFlowLog(0, func(fl map[string]any) {
			fl["LogFormat"] = strings.Replace(fl["LogFormat"].(string), "${tcp-flags}", "${srcaddr}", 1)
		}), code: ExitOK},
		{name: "flowlog-format-too-short", mutate: editFlowLog(0, func(fl map[string]any) {
			fl["LogFormat"] = "${version} ${interface-id} ${account-id}"
		}), code: ExitOK},
		{name: "flowlog-group-without-events", mutate: editFlowLog(0, func(fl map[string]any) {
			fl["LogGroupName"] = "/vpc/flowlogs/renamed"
			fl["LogDestination"] = "arn:aws:logs:eu-central-1:444455556666:log-group:/vpc/flowlogs/renamed"
		}), code: ExitOK},

		// Metrics.
		{name: "metrics-infinite-value", mutate: func(t *testing.T, root, bundle string) {
			p := filepath.Join(bundle, metrics0)
			raw := read(t, p)
			i := bytes.Index(raw, []byte(`"Values": [`))
			raw = append(raw[:i+len(`"Values": [`)], append([]byte("1e999, "), raw[i+len(`"Values": [`):]...)...)
			write(t, p, string(raw))
		}, code: ExitOK},
		{name: "metrics-nan-string", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, metrics0), func(doc map[string]any) {
				output(doc)["MetricDataResults"].([]any)[0].(map[string]any)["Values"].([]any)[0] = "NaN"
			})
		}, code: ExitOK},
		{name: "metrics-length-mismatch", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, metrics0), func(doc map[string]any) {
				r := output(doc)["MetricDataResults"].([]any)[0].(map[string]any)
				r["Values"] = r["Values"].([]any)[:10]
			})
		}, code: ExitOK},

		// Scope.
		{name: "vpn-connections-wrong-type", mutate: func(t *testing.T, root, bundle string) {
			editJSON(t, filepath.Join(bundle, vpns), func(doc map[string]any) { output(doc)["VpnConnections"] = "vpn-05a2f31aa1e03e478" })
		}, code: ExitOK},

		// Usage.
		{name: "usage-format", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--format", "yaml"}, code: ExitUsage},
		{name: "usage-tz", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--tz", "CEST"}, code: ExitUsage},
		{name: "usage-no-alarm", args: []string{"--from", "{bundle}"}, code: ExitUsage},
		{name: "usage-lookback", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--lookback", "two hours"}, code: ExitUsage},
		{name: "usage-negative-after", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--after", "-5m"}, code: ExitUsage},
		{name: "usage-timeout-word", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--timeout", "soon"}, code: ExitUsage},
		{name: "usage-width-word", args: []string{"--alarm", "VPN-Down", "--from", "{bundle}", "--width", "abc"}, code: ExitUsage},
	}
}

// historyInTheFuture dates the alarm history of 3 November a year later,
// after the bundle was recorded.
func historyInTheFuture(t *testing.T, root, bundle string) {
	editJSON(t, filepath.Join(bundle, "cloudwatch", "DescribeAlarmHistory-VPN-Down.json"), func(doc map[string]any) {
		for _, it := range output(doc)["AlarmHistoryItems"].([]any) {
			it := it.(map[string]any)
			it["Timestamp"] = strings.Replace(it["Timestamp"].(string), "2026-11-03", "2027-11-03", 1)
		}
	})
}

// editFlowLog edits the i-th flow log of ec2/DescribeFlowLogs.json.
func editFlowLog(i int, edit func(fl map[string]any)) func(t *testing.T, root, bundle string) {
	return func(t *testing.T, root, bundle string) {
		editJSON(t, filepath.Join(bundle, "ec2", "DescribeFlowLogs.json"), func(doc map[string]any) {
			edit(output(doc)["FlowLogs"].([]any)[i].(map[string]any))
		})
	}
}

// output returns a bundle file's Output object.
func output(doc map[string]any) map[string]any { return doc["Output"].(map[string]any) }

// editJSON rewrites a JSON file through edit. Strings may carry invalid
// UTF-8, which is written as it is (encoding/json would replace it).
func editJSON(t *testing.T, path string, edit func(doc map[string]any)) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(read(t, path)))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	edit(doc)
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// Put the invalid bytes back where Marshal wrote U+FFFD.
	out = bytes.ReplaceAll(out, []byte("\ufffd"), []byte("\xff"))
	write(t, path, string(out))
}

// moveOut moves path (a file or a directory) out of the bundle, to
// root/outside/<name>, and leaves a symbolic link to it in its place.
func moveOut(t *testing.T, root, path string) {
	t.Helper()
	dst := filepath.Join(root, "outside", filepath.Base(path))
	mkdir(t, filepath.Dir(dst))
	if err := os.Rename(path, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dst, path); err != nil {
		t.Skipf("SKIP: symbolic links unavailable: %v", err)
	}
}

// truncate cuts a file in half.
func truncate(t *testing.T, path string) {
	t.Helper()
	raw := read(t, path)
	write(t, path, string(raw[:len(raw)/2]))
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func removeAll(t *testing.T, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

// chmod changes a mode and restores it at the end, so the temporary
// directory can be removed.
func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, st.Mode().Perm()) })
}
