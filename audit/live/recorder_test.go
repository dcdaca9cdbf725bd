package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/report"
)

// A live run against moto, recorded, and its replay from the bundle give
// the same report; the bundle holds no secret and only private files.
func TestRecordReplayAgainstMoto(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incident")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, ev := motoRun(t, rec)
	if err := rec.Close(sc.Region, ev.Account, sc.Now); err != nil {
		t.Fatalf("Close: %v", err)
	}
	liveReport := report.ToJSON(correlate.Correlate(ev))

	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	replayed, err := collect.Collect(context.Background(), collect.BundleClients(b), collect.Options{Alarm: mototest.AlarmName, Now: b.Manifest.RecordedAt})
	if err != nil {
		t.Fatalf("Collect from the bundle: %v", err)
	}
	replayReport := report.ToJSON(correlate.Correlate(replayed))

	// A replay answers a failed call with the words the recorder kept. The
	// live run's words are those collect.Why gives for the same call now.
	recorded, spoken := map[string]string{}, map[string]string{}
	for _, f := range b.Manifest.Failures {
		recorded[f.Service+"/"+f.Operation] = f.Error
		recordedFailures[f.Service+"/"+f.Operation] = f.Error
	}
	for _, f := range b.Manifest.Failures {
		spoken[f.Service+"/"+f.Operation] = liveFailure(t, f.Service, f.Operation)
	}
	// A failed call is recorded in the words the live run showed.
	if diff := cmp.Diff(spoken, recorded); diff != "" {
		t.Errorf("recorded failure words (-live +recorded):\n%s", diff)
	}
	// The whole report: alarm, verdict, scope, hypotheses, timeline,
	// coverage (failures replay as recorded), window and API calls.
	if diff := cmp.Diff(liveReport, replayReport); diff != "" {
		t.Errorf("report of the replay differs from the live run's (-live +replay):\n%s", diff)
	}
	if liveReport.Verdict.Status != "inconclusive" || len(liveReport.Scope) < 10 || len(liveReport.Timeline) == 0 {
		t.Errorf("the live report is not the moto incident's: verdict %s, %d resources, %d timeline entries",
			liveReport.Verdict.Status, len(liveReport.Scope), len(liveReport.Timeline))
	}
	t.Run("manifest", func(t *testing.T) {
		m := b.Manifest
		if !b.HasManifest || m.FormatVersion != bundle.FormatVersion || m.Region != sc.Region || m.AccountId != mototest.Account ||
			!m.RecordedAt.Equal(sc.Now) || m.Tool != "vpnaudit" {
			t.Errorf("manifest %+v, want version %d, %s, %s, recorded at %s by vpnaudit", m, bundle.FormatVersion, sc.Region, mototest.Account, sc.Now)
		}
		var failed []string
		for _, f := range m.Failures {
			failed = append(failed, f.Service+"/"+f.Operation)
			if !strings.Contains(f.Error, "500") {
				t.Errorf("failure %s/%s recorded as %q, want its HTTP 500 named", f.Service, f.Operation, f.Error)
			}
		}
		if diff := cmp.Diff([]string{"cloudwatch/DescribeAlarmHistory", "cloudtrail/LookupEvents"}, failed); diff != "" {
			t.Errorf("recorded failures (-want +got):\n%s", diff)
		}
		want := []string{
			"autoscaling/DescribeAutoScalingInstances", "cloudwatch/DescribeAlarms", "cloudwatch/GetMetricData",
			"ec2/DescribeAddresses", "ec2/DescribeCustomerGateways", "ec2/DescribeFlowLogs", "ec2/DescribeInstances",
			"ec2/DescribeNetworkAcls", "ec2/DescribeNetworkInterfaces", "ec2/DescribeRouteTables", "ec2/DescribeSecurityGroups",
			"ec2/DescribeSubnets", "ec2/DescribeTransitGatewayAttachments", "ec2/DescribeVpcs", "ec2/DescribeVpnConnections",
			"logs/DescribeLogGroups", "logs/FilterLogEvents", "sts/GetCallerIdentity",
		}
		if diff := cmp.Diff(want, b.Operations()); diff != "" {
			t.Errorf("recorded operations (-want +got):\n%s", diff)
		}
		if len(b.Unknown) != 0 {
			t.Errorf("files the reader does not know: %v", b.Unknown)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		if len(sc.PreSharedKeys) == 0 {
			t.Log("moto returned no pre-shared key in CustomerGatewayConfiguration: only the member names are checked")
		}
		raw, err := os.ReadFile(filepath.Join(dir, "ec2", "DescribeVpnConnections-000.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), sc.VPN) {
			t.Fatalf("ec2/DescribeVpnConnections-000.json does not hold %s:\n%s", sc.VPN, raw)
		}
		checkNoSecrets(t, dir, sc.PreSharedKeys)
	})
	t.Run("permissions", func(t *testing.T) { checkPrivate(t, dir) })
}

// liveFailure makes the failing call again, without recording, and says
// why it failed in the collector's words.
// recordedFailures are the failures the last recording kept, for messages.
var recordedFailures = map[string]string{}

func liveFailure(t *testing.T, service, op string) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := live.LoadConfig(ctx, live.Options{Region: mototest.Region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := live.Clients(cfg, live.Options{})
	switch service + "/" + op {
	case "cloudwatch/DescribeAlarmHistory":
		_, err = c.CloudWatch.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String(mototest.AlarmName)})
	case "cloudtrail/LookupEvents":
		_, err = c.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	default:
		t.Fatalf("unexpected recorded failure of %s/%s: %s", service, op, recordedFailures[service+"/"+op])
	}
	if err == nil {
		t.Fatalf("%s/%s failed while recording and succeeds now", service, op)
	}
	return collect.Why(err)
}

// checkNoSecrets walks a bundle: no CustomerGatewayConfiguration member, no
// PreSharedKey member other than REDACTED, none of the given values.
func checkNoSecrets(t *testing.T, dir string, secrets []string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		rel, _ := filepath.Rel(dir, path)
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range append([]string{"pre_shared_key"}, secrets...) {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains %q", rel, s)
			}
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s: not JSON: %v", rel, err)
			return nil
		}
		walkJSON(doc, rel, func(at, key string, v any) {
			switch {
			case strings.EqualFold(key, "CustomerGatewayConfiguration"):
				t.Errorf("%s: %s.%s is recorded (it holds the tunnels' pre-shared keys)", rel, at, key)
			case strings.EqualFold(key, "PreSharedKey") && v != "REDACTED":
				t.Errorf("%s: %s.%s = %v, want REDACTED", rel, at, key, v)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("%s holds no file", dir)
	}
}

func walkJSON(v any, at string, visit func(at, key string, v any)) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			visit(at, k, x)
			walkJSON(x, at+"."+k, visit)
		}
	case []any:
		for _, x := range t {
			walkJSON(x, at+"[]", visit)
		}
	}
}

// checkPrivate checks that a bundle's files are 0600 and its directories,
// itself included, 0700.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			rel, _ := filepath.Rel(dir, path)
			t.Errorf("%s is %v, want %v", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// secretServer answers DescribeVpnConnections with tunnel options holding
// pre-shared keys and a configuration document, and LookupEvents with an
// event whose CloudTrailEvent names a pre-shared key, as AWS does.
func secretServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			if !strings.HasSuffix(target, ".LookupEvents") {
				http.Error(w, "unexpected "+target, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			event := `{"eventVersion":"1.09","eventName":"ModifyVpnTunnelOptions","requestParameters":{"ModifyVpnTunnelOptionsRequest":` +
				`{"VpnConnectionId":"vpn-0a1b2c3d","TunnelOptions":{"PreSharedKey":"ct-psk-Secret1","DPDTimeoutSeconds":30}}}}`
			json.NewEncoder(w).Encode(map[string]any{"Events": []map[string]any{{
				"EventId": "e-1", "EventName": "ModifyVpnTunnelOptions", "EventTime": 1.7735e9, "ReadOnly": "false",
				"CloudTrailEvent": event,
			}}})
			return
		}
		r.ParseForm()
		if a := r.Form.Get("Action"); a != "DescribeVpnConnections" {
			http.Error(w, "unexpected "+a, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpnConnectionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <vpnConnectionSet><item>
    <vpnConnectionId>vpn-0a1b2c3d</vpnConnectionId>
    <customerGatewayId>cgw-0a1b2c3d</customerGatewayId>
    <transitGatewayId>tgw-0a1b2c3d</transitGatewayId>
    <state>available</state>
    <type>ipsec.1</type>
    <customerGatewayConfiguration>&lt;vpn_connection&gt;&lt;ipsec_tunnel&gt;&lt;ike&gt;&lt;pre_shared_key&gt;xml-psk-Secret2&lt;/pre_shared_key&gt;&lt;/ike&gt;&lt;/ipsec_tunnel&gt;&lt;/vpn_connection&gt;</customerGatewayConfiguration>
    <options>
      <staticRoutesOnly>false</staticRoutesOnly>
      <tunnelOptionSet>
        <item><outsideIpAddress>52.1.1.1</outsideIpAddress><tunnelInsideCidr>169.254.10.0/30</tunnelInsideCidr><preSharedKey>opt-psk-Secret3</preSharedKey></item>
        <item><outsideIpAddress>52.2.2.2</outsideIpAddress><tunnelInsideCidr>169.254.11.0/30</tunnelInsideCidr><preSharedKey>opt-psk-Secret4</preSharedKey></item>
      </tunnelOptionSet>
    </options>
    <vgwTelemetry>
      <item><outsideIpAddress>52.1.1.1</outsideIpAddress><status>DOWN</status><statusMessage>IPSEC IS DOWN</statusMessage></item>
    </vgwTelemetry>
  </item></vpnConnectionSet>
</DescribeVpnConnectionsResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The recorder drops the VPN configuration document and masks pre-shared
// keys wherever they appear, also inside CloudTrailEvent; what vpnaudit
// reads (the tunnels) is kept and replays.
func TestRecorderRemovesSecrets(t *testing.T) {
	srv := secretServer(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := liveClients(t, srv.URL, live.Options{Recorder: rec})
	ctx := context.Background()
	out, err := c.EC2.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{VpnConnectionIds: []string{"vpn-0a1b2c3d"}})
	if err != nil {
		t.Fatal(err)
	}
	// The live answer is untouched: redaction is of the recording only.
	if got := aws.ToString(out.VpnConnections[0].Options.TunnelOptions[0].PreSharedKey); got != "opt-psk-Secret3" {
		t.Fatalf("the live answer's pre-shared key is %q: the fake endpoint is not read as expected", got)
	}
	if _, err := c.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(mototest.Region, mototest.Account, testNow); err != nil {
		t.Fatal(err)
	}
	checkNoSecrets(t, dir, []string{"Secret1", "Secret2", "Secret3", "Secret4"})
	checkPrivate(t, dir)

	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.EC2().DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{VpnConnectionIds: []string{"vpn-0a1b2c3d"}})
	if err != nil || len(got.VpnConnections) != 1 {
		t.Fatalf("replayed DescribeVpnConnections: %v %+v", err, got)
	}
	v := got.VpnConnections[0]
	type tunnel struct{ IP, Inside, Key string }
	var tunnels []tunnel
	for _, o := range v.Options.TunnelOptions {
		tunnels = append(tunnels, tunnel{aws.ToString(o.OutsideIpAddress), aws.ToString(o.TunnelInsideCidr), aws.ToString(o.PreSharedKey)})
	}
	want := []tunnel{{"52.1.1.1", "169.254.10.0/30", "REDACTED"}, {"52.2.2.2", "169.254.11.0/30", "REDACTED"}}
	if diff := cmp.Diff(want, tunnels); diff != "" {
		t.Errorf("replayed tunnels (-want +got):\n%s", diff)
	}
	if v.CustomerGatewayConfiguration != nil || len(v.VgwTelemetry) != 1 || aws.ToString(v.VgwTelemetry[0].StatusMessage) != "IPSEC IS DOWN" {
		t.Errorf("replayed connection: configuration %v, telemetry %+v", v.CustomerGatewayConfiguration, v.VgwTelemetry)
	}
	ev, err := b.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil || len(ev.Events) != 1 {
		t.Fatalf("replayed LookupEvents: %v %+v", err, ev)
	}
	var ct struct {
		RequestParameters struct {
			ModifyVpnTunnelOptionsRequest struct {
				TunnelOptions struct {
					PreSharedKey      string
					DPDTimeoutSeconds int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(ev.Events[0].CloudTrailEvent)), &ct); err != nil {
		t.Fatalf("replayed CloudTrailEvent is no longer JSON: %v", err)
	}
	if o := ct.RequestParameters.ModifyVpnTunnelOptionsRequest.TunnelOptions; o.PreSharedKey != "REDACTED" || o.DPDTimeoutSeconds != 30 {
		t.Errorf("replayed CloudTrailEvent tunnel options %+v, want the key REDACTED and the rest kept", o)
	}
}

// An aborted recording leaves nothing behind: no bundle, no temporary
// directory beside it.
func TestRecorderAbortLeavesNothing(t *testing.T) {
	srv := newCountingServer(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "bundle")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := liveClients(t, srv.URL, live.Options{Recorder: rec})
	if _, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	// The call was recorded, into a temporary directory beside the target.
	var written []string
	filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(parent, path)
			written = append(written, rel)
		}
		return nil
	})
	if len(written) != 1 || !strings.HasPrefix(written[0], ".bundle.recording-") || !strings.HasSuffix(written[0], filepath.Join("ec2", "DescribeInstances-000.json")) {
		t.Fatalf("while recording, %s holds %v, want one call in a hidden temporary directory", parent, written)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the bundle exists before Close: %v", err)
	}
	rec.Abort()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after Abort %s holds %v, want nothing", parent, names)
	}
}

func TestNewRecorderTarget(t *testing.T) {
	parent := t.TempDir()
	full := filepath.Join(parent, "full")
	if err := os.MkdirAll(filepath.Join(full, "ec2"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := live.NewRecorder(full); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("NewRecorder on a non-empty directory: %v, want it refused", err)
	}

	// An empty directory is replaced by the bundle; a missing parent is
	// created.
	for _, dir := range []string{filepath.Join(parent, "empty"), filepath.Join(parent, "a", "b", "new")} {
		if strings.HasSuffix(dir, "empty") {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := live.NewRecorder(dir)
		if err != nil {
			t.Fatalf("NewRecorder(%s): %v", dir, err)
		}
		if err := rec.Close(mototest.Region, mototest.Account, testNow); err != nil {
			t.Fatalf("Close: %v", err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "bundle.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m bundle.Manifest
		if err := json.Unmarshal(raw, &m); err != nil || m.FormatVersion != 1 || !m.RecordedAt.Equal(testNow) || m.Region != mototest.Region {
			t.Errorf("%s/bundle.json: %v %+v", dir, err, m)
		}
		checkPrivate(t, dir)
	}
}

// --record never replaces something that is not an empty directory.
func TestRecorderRefusesExistingFiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := live.NewRecorder(file); err == nil || !strings.Contains(err.Error(), "a file of that name exists") {
		t.Errorf("NewRecorder(existing file) error = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
}

// A run stopped early writes the calls that completed, and says so in the
// manifest.
func TestRecorderInterrupted(t *testing.T) {
	srv := newCountingServer(t)
	tests := []struct {
		name, why string
	}{
		{"finished", ""},
		{"stopped early", "interrupted by Ctrl-C"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			rec, err := live.NewRecorder(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := liveClients(t, srv.URL, live.Options{Recorder: rec})
			if _, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
				t.Fatal(err)
			}
			if tc.why != "" {
				rec.Interrupted(tc.why)
			}
			if err := rec.Close("eu-central-1", "111122223333", time.Date(2026, 11, 3, 22, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if diff := cmp.Diff(tc.why, b.Manifest.Interrupted); diff != "" {
				t.Errorf("manifest Interrupted (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "ec2", "DescribeInstances-000.json")); err != nil {
				t.Errorf("the completed call was not kept: %v", err)
			}
		})
	}
}
