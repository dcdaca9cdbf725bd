package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
	"github.com/vpnaudit/vpnaudit/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command in-process, as main does, with a clean environment
// (no terminal, no NO_COLOR unless given).
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(append([]string{"vpnaudit"}, args...), Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] },
	})
	return result{code, out.String(), errOut.String()}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/cli -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); if intended, run: go test ./internal/cli -update\n%s", name, diff)
	}
}

func TestWhyGolden(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	tests := []struct {
		name string
		args []string
	}{
		{"lab-console-stop.txt", []string{"--format", "text", "--width", "100"}},
		{"lab-console-stop.md", []string{"--format", "markdown", "--tz", "Europe/Berlin"}},
		{"lab-console-stop.json", []string{"--format", "json"}},
	}
	// Hostile evidence: a user agent, a Name tag and an error message
	// carrying HTML, Markdown, table breakers, fences, terminal escapes and
	// bidi overrides, in every format.
	hostile := testenv.Fixture(t, "hostile-strings")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"hostile-strings.txt", []string{"--format", "text", "--width", "100"}},
		{"hostile-strings.color.ansi", []string{"--format", "text", "--width", "100", "--color", "always"}},
		{"hostile-strings.md", []string{"--format", "markdown"}},
		{"hostile-strings.json", []string{"--format", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"why", "--alarm", "yul1 VPN 'dc' down #netops", "--from", hostile}, tt.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			for _, bad := range []string{"\x1b]", "\x1b[2J", "\x9b", "\u202e", "\x07"} {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("output carries %q from the evidence", bad)
				}
			}
			golden(t, tt.name, r.stdout)
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"why", "--alarm", "VPN-Down", "--from", lab}, tt.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("escape sequences in output that is not a terminal")
			}
			golden(t, tt.name, r.stdout)
		})
	}
}

// verdict is the part of the JSON report the tests assert.
type verdict struct {
	Status, Confidence string
	CauseEvent         string
	CauseName          string
	CauseActor         string
	BreachStartedAt    string
	FiredAt            string
	RecoveredAt        string
}

func verdictOf(t *testing.T, stdout string) verdict {
	t.Helper()
	var rep report.JSONReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout)
	}
	v := verdict{Status: rep.Verdict.Status, Confidence: rep.Verdict.Confidence,
		BreachStartedAt: rep.Alarm.BreachStartedAt, FiredAt: rep.Alarm.FiredAt}
	if rep.Alarm.RecoveredAt != nil {
		v.RecoveredAt = *rep.Alarm.RecoveredAt
	}
	if c := rep.Verdict.Cause; c != nil {
		v.CauseEvent, v.CauseName, v.CauseActor = c.EventID, c.EventName, c.Actor
	}
	return v
}

func TestLabVerdict(t *testing.T) {
	r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", testenv.Fixture(t, "lab-console-stop"), "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := verdict{Status: "root_cause", Confidence: "high",
		CauseEvent: "8f131e9a-bd9b-464d-98cc-d7230f5d6a10", CauseName: "StopInstances",
		CauseActor:      "AWSReservedSSO_NetworkAdmin_0123456789abcdef/dana.kowalski@example.com",
		BreachStartedAt: "2026-11-03T21:53:00Z", FiredAt: "2026-11-03T21:55:26Z", RecoveredAt: "2026-11-03T22:35:25Z"}
	if diff := cmp.Diff(want, verdictOf(t, r.stdout)); diff != "" {
		t.Errorf("verdict (-want +got):\n%s", diff)
	}
}

// The reference bundle in shared/examples was written by someone else: the
// tool must name the console StopInstances on the appliance.
func TestReferenceBundle(t *testing.T) {
	dir := testenv.Shared(t, "examples", "lab-stop-appliance")
	r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", dir, "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := verdict{Status: "root_cause", Confidence: "high",
		CauseEvent: "b8ed1736-ac9e-033a-775c-d4bea2319287", CauseName: "StopInstances", CauseActor: "alice",
		BreachStartedAt: "2026-10-14T02:33:00Z", FiredAt: "2026-10-14T02:34:13Z"}
	if diff := cmp.Diff(want, verdictOf(t, r.stdout)); diff != "" {
		t.Errorf("verdict (-want +got):\n%s", diff)
	}
	var rep report.JSONReport
	json.Unmarshal([]byte(r.stdout), &rep)
	if rep.Verdict.Cause == nil || rep.Verdict.Cause.Via != "console" || !slices.Contains(rep.Verdict.Cause.Resources, "i-0dc0ffee00000a77") {
		t.Errorf("cause = %+v, want the console call on the appliance i-0dc0ffee00000a77", rep.Verdict.Cause)
	}
}

// The JSON report carries every member the contract requires, with the
// contract's types, whatever the verdict.
func TestJSONContract(t *testing.T) {
	r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", testenv.Fixture(t, "lab-console-stop"), "--format", "json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	required := map[string][]string{
		"":           {"schema_version", "alarm", "verdict", "scope", "hypotheses", "timeline", "coverage"},
		"alarm":      {"name", "fired_at", "breach_started_at", "recovered_at", "metric"},
		"verdict":    {"status", "confidence", "summary", "cause"},
		"cause":      {"kind", "event_id", "event_name", "event_time", "actor", "resources"},
		"scope":      {"id", "type", "name", "relation"},
		"hypotheses": {"rank", "event_id", "event_name", "score", "why", "why_not"},
		"timeline":   {"time", "kind", "role", "summary", "resources", "source"},
		"coverage":   {"source", "status", "detail"},
	}
	objects := map[string]map[string]any{"": doc, "alarm": doc["alarm"].(map[string]any), "verdict": doc["verdict"].(map[string]any)}
	objects["cause"] = objects["verdict"]["cause"].(map[string]any)
	for _, list := range []string{"scope", "hypotheses", "timeline", "coverage"} {
		items := doc[list].([]any)
		if len(items) == 0 {
			t.Errorf("%s is empty", list)
			continue
		}
		objects[list] = items[0].(map[string]any)
	}
	for name, keys := range required {
		for _, k := range keys {
			if _, ok := objects[name][k]; !ok {
				t.Errorf("%s lacks %q", name, k)
			}
		}
	}
	if doc["schema_version"].(float64) != 1 {
		t.Errorf("schema_version = %v", doc["schema_version"])
	}
	for _, e := range doc["timeline"].([]any) {
		m := e.(map[string]any)
		if !slices.Contains([]string{"change", "traffic", "metric", "alarm", "state"}, m["kind"].(string)) ||
			!slices.Contains([]string{"cause", "effect", "context"}, m["role"].(string)) {
			t.Errorf("timeline entry outside the contract: %v", m)
		}
		if !strings.HasSuffix(m["time"].(string), "Z") {
			t.Errorf("time %v is not RFC 3339 UTC", m["time"])
		}
	}
}

func TestAtSelectsTheEpisode(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	tests := []struct {
		at        string
		wantFired string
		wantCode  int
	}{
		{"", "2026-11-03T21:55:26Z", ExitOK},
		{"2026-11-03 22:56 +0100", "2026-11-03T21:55:26Z", ExitOK}, // local time of the e-mail's reader
		{"Tuesday 03 November, 2026 21:55:26 UTC", "2026-11-03T21:55:26Z", ExitOK},
		{"2026-11-02 03:00", "", ExitError}, // no episode near it
		{"not a time", "", ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			args := []string{"why", "--alarm", "VPN-Down", "--from", lab, "--format", "json"}
			if tt.at != "" {
				args = append(args, "--at", tt.at)
			}
			r := run(t, nil, args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if tt.wantFired != "" {
				if got := verdictOf(t, r.stdout).FiredAt; got != tt.wantFired {
					t.Errorf("fired_at = %s, want %s", got, tt.wantFired)
				}
			}
		})
	}
}

func TestUsageAndErrors(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no alarm", []string{"why", "--from", lab}, ExitUsage, "--alarm is required"},
		{"bad format", []string{"why", "--alarm", "VPN-Down", "--from", lab, "--format", "yaml"}, ExitUsage, `--format "yaml": want text, markdown or json`},
		{"unknown flag", []string{"why", "--alarm", "VPN-Down", "--frm", lab}, ExitUsage, "flag provided but not defined: -frm"},
		{"bad zone", []string{"why", "--alarm", "VPN-Down", "--from", lab, "--tz", "Mars/Olympus"}, ExitUsage, "not an IANA time zone"},
		{"alarm not found", []string{"why", "--alarm", "VPN-Dwn", "--from", lab}, ExitError, `alarm "VPN-Dwn" not found in eu-central-1; did you mean "VPN-Down"`},
		{"not a bundle", []string{"why", "--alarm", "VPN-Down", "--from", t.TempDir()}, ExitError, "holds no <service>/<Operation>.json files"},
		{"record with a bundle", []string{"why", "--alarm", "VPN-Down", "--from", lab, "--record", t.TempDir()}, ExitUsage, "--record writes the calls of a live run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
			if r.stdout != "" && tt.wantCode != ExitOK {
				t.Errorf("stdout not empty on error: %q", r.stdout)
			}
		})
	}
}

// Without credentials, live mode says what to do in one paragraph and
// never reaches the network (the instance-metadata lookup is disabled).
func TestLiveWithoutCredentials(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "eu-west-1",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": ""} {
		t.Setenv(k, v)
	}
	r := run(t, nil, "why", "--alarm", "VPN-Down")
	if r.code != ExitError || !strings.Contains(r.stderr, "no AWS credentials were found") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the no-credentials message", r.code, r.stderr)
	}
	record := filepath.Join(t.TempDir(), "rec")
	r = run(t, nil, "why", "--alarm", "VPN-Down", "--record", record)
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("a failed run left a bundle at %s", record)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(record), ".rec.recording-*"))
	if len(left) != 0 {
		t.Errorf("a failed run left a partial recording: %v", left)
	}
}

func TestEnvironmentAndOutput(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	out := filepath.Join(t.TempDir(), "report.md")
	// Flags read VPNAUDIT_* variables from the process environment.
	t.Setenv("VPNAUDIT_ALARM", "VPN-Down")
	t.Setenv("VPNAUDIT_FROM", lab)
	t.Setenv("VPNAUDIT_FORMAT", "markdown")
	r := run(t, nil, "why", "--output", out)
	if r.code != ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(b), "# Incident: VPN-Down") {
		t.Errorf("--output file: %v, starts %q", err, firstLine(string(b)))
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".report.md.*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	os.Unsetenv("VPNAUDIT_FORMAT")
	// Colour only when forced; NO_COLOR wins over auto, CLICOLOR_FORCE over both.
	for _, c := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, nil, false},
		{map[string]string{"CLICOLOR_FORCE": "1"}, nil, true},
		{map[string]string{"NO_COLOR": "1"}, []string{"--color", "always"}, true},
		{map[string]string{"CLICOLOR_FORCE": "1"}, []string{"--color", "never"}, false},
	} {
		r := run(t, c.env, append([]string{"why", "--alarm", "VPN-Down", "--from", lab}, c.args...)...)
		if got := strings.Contains(r.stdout, "\x1b["); got != c.want {
			t.Errorf("env %v args %v: colour %v, want %v", c.env, c.args, got, c.want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestFlows(t *testing.T) {
	in := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 50000 6 10 840 1791945000 1791945060 ACCEPT OK\n" +
		"2 123456789012 eni-1 - - - - - - - 1791945060 1791945120 - NODATA\n" +
		"this line is not a record\n"
	var out, errOut bytes.Buffer
	code := Run([]string{"vpnaudit", "flows"}, Env{Stdin: strings.NewReader(in), Stdout: &out, Stderr: &errOut})
	if code != ExitError {
		t.Errorf("exit %d, want %d (a line did not parse)", code, ExitError)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d records, want 2:\n%s", len(lines), out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": 2.0, "account-id": "123456789012", "interface-id": "eni-1", "srcaddr": nil, "dstaddr": nil,
		"srcport": nil, "dstport": nil, "protocol": nil, "packets": nil, "bytes": nil, "start": 1791945060.0, "end": 1791945120.0,
		"action": nil, "log-status": "NODATA"}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("NODATA record (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut.String(), ":4:") {
		t.Errorf("stderr %q does not name line 4", errOut.String())
	}
	r := run(t, nil, "flows", "--log-format", "${version} ${nonsense field}")
	if r.code != ExitUsage {
		t.Errorf("bad --log-format: exit %d, want %d (%s)", r.code, ExitUsage, r.stderr)
	}
}
