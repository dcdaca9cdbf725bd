package live_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

func TestIsRead(t *testing.T) {
	for _, tc := range []struct {
		op   string
		want bool
	}{
		// The collector's reads.
		{"DescribeAlarms", true},
		{"DescribeAlarmHistory", true},
		{"GetMetricData", true},
		{"LookupEvents", true},
		{"FilterLogEvents", true},
		{"DescribeVpnConnections", true},
		{"DescribeTransitGatewayAttachments", true},
		{"DescribeAutoScalingInstances", true},
		{"GetCallerIdentity", true},
		// Other reads, including those whose name does not say so.
		{"StartQuery", true}, // a Logs Insights query only reads
		{"GetQueryResults", true},
		{"DescribeX", true},
		{"ListMetrics", true},
		{"GetLogEvents", true},
		{"SearchTransitGatewayRoutes", true},
		{"DescribeInstances", true},
		// Writes, including those that look like reads at a glance.
		{"StartInstances", false},
		{"StopInstances", false},
		{"TerminateInstances", false},
		{"RebootInstances", false},
		{"ModifyInstanceAttribute", false},
		{"DeleteVpnConnection", false},
		{"ModifyVpnTunnelOptions", false},
		{"ReplaceRoute", false},
		{"AuthorizeSecurityGroupIngress", false},
		{"RevokeSecurityGroupIngress", false},
		{"CreateFlowLogs", false},
		{"DeleteFlowLogs", false},
		{"PutMetricAlarm", false},
		{"SetAlarmState", false},
		{"DeleteAlarms", false},
		{"DisableAlarmActions", false},
		{"PutMetricData", false},
		{"StopLogging", false},
		{"StartLogging", false},
		{"DeleteTrail", false},
		{"PutEventSelectors", false},
		{"StopQuery", false},
		{"DeleteLogGroup", false},
		{"PutLogEvents", false},
		{"PutRetentionPolicy", false},
		{"AssumeRole", false},
		{"SetDesiredCapacity", false},
		{"UpdateAutoScalingGroup", false},
		// Bare prefixes and near misses are not operations.
		{"Get", false},
		{"Describe", false},
		{"List", false},
		{"Lookup", false},
		{"Filter", false},
		{"Search", false},
		{"", false},
		{"describeInstances", false},
		// Athena and S3: a query execution is let through (its query is
		// checked separately, see TestCheckAthenaQuery); writes are not.
		{"StartQueryExecution", true},
		{"GetQueryExecution", true},
		{"ListObjectsV2", true},
		{"GetObject", true},
		{"StopQueryExecution", false},
		{"CreateNamedQuery", false},
		{"PutObject", false},
		{"DeleteObject", false},
		{"DeleteObjects", false},
		{"PutBucketPolicy", false},
	} {
		if got := live.IsRead(tc.op); got != tc.want {
			t.Errorf("IsRead(%q) = %v, want %v", tc.op, got, tc.want)
		}
	}
}

// The reads whose names do not say so are reads only of their own service.
func TestIsReadOf(t *testing.T) {
	for _, tc := range []struct {
		service, op string
		want        bool
	}{
		{"CloudWatch Logs", "StartQuery", true},
		{"Athena", "StartQueryExecution", true},
		{"Athena", "StartQuery", false},
		{"CloudWatch Logs", "StartQueryExecution", false},
		{"Timestream Query", "StartQuery", false},
		{"EC2", "DescribeInstances", true},
		{"EC2", "StopInstances", false},
	} {
		if got := live.IsReadOf(tc.service, tc.op); got != tc.want {
			t.Errorf("IsReadOf(%q, %q) = %v, want %v", tc.service, tc.op, got, tc.want)
		}
	}
}

func TestCheckAthenaQuery(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		ok          bool
	}{
		{"select", "SELECT kind, count(*) FROM \"db\".\"flows\" WHERE day IN ('2026/11/03') GROUP BY kind", true},
		{"lowercase and a final semicolon", "select 1;", true},
		{"leading comment", "-- vpnaudit\nSELECT 1", true},
		{"block comment", "/* DROP TABLE x; */ SELECT 1", true},
		{"subquery", "SELECT k FROM (SELECT 1 AS k)", true},
		{"semicolon in a literal", "SELECT ';DROP TABLE x' AS s", true},
		{"doubled quote in a literal", "SELECT 'it''s; fine'", true},
		{"parenthesised", "(SELECT 1)", true},
		{"drop", "DROP TABLE flows", false},
		{"two statements", "SELECT 1; DROP TABLE flows", false},
		{"statement after a comment", "SELECT 1 -- x\n; DROP TABLE flows", false},
		{"ctas", "CREATE TABLE t AS SELECT 1", false},
		{"insert", "INSERT INTO t SELECT 1", false},
		{"unload", "UNLOAD (SELECT 1) TO 's3://b/' WITH (format = 'TEXTFILE')", false},
		{"msck", "MSCK REPAIR TABLE flows", false},
		{"empty", "", false},
		{"unterminated literal", "SELECT 'x", false},
		{"unterminated comment", "SELECT 1 /* x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := live.CheckAthenaQuery(tc.query)
			if (err == nil) != tc.ok {
				t.Errorf("CheckAthenaQuery(%q) = %v, want ok=%v", tc.query, err, tc.ok)
			}
		})
	}
}

// countingServer answers every request with an empty EC2 DescribeInstances
// result and counts them per Action (query protocols) or X-Amz-Target
// (JSON protocols).
type countingServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

func newCountingServer(t *testing.T) *countingServer {
	s := &countingServer{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			r.ParseForm()
			op = r.Form.Get("Action")
		}
		s.mu.Lock()
		s.seen[op]++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><reservationSet/></DescribeInstancesResponse>`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

// liveClients builds vpnaudit's clients through the standard chain, pointed
// at endpoint only.
func liveClients(t *testing.T, endpoint string, o live.Options) collect.Clients {
	t.Helper()
	mototest.Isolate(t, endpoint, mototest.Region)
	cfg, err := live.LoadConfig(context.Background(), live.Options{Region: mototest.Region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return live.Clients(cfg, o)
}

// Mutating operations called through the concrete SDK clients are refused
// before anything is sent; reads go out.
func TestMutatingCallsNeverLeaveTheProcess(t *testing.T) {
	srv := newCountingServer(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	rec, err := live.NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := liveClients(t, srv.URL, live.Options{Recorder: rec})
	ec2c, ok := c.EC2.(*ec2.Client)
	if !ok {
		t.Fatalf("EC2 client is %T, want *ec2.Client", c.EC2)
	}
	cw := c.CloudWatch.(*cloudwatch.Client)
	ct := c.CloudTrail.(*cloudtrail.Client)
	logs := c.Logs.(*cloudwatchlogs.Client)
	asg := c.AutoScaling.(*autoscaling.Client)
	s3c := c.S3.(*s3.Client)
	ath := c.Athena.(*athena.Client)
	ctx := context.Background()
	ids := []string{"i-0123456789abcdef0"}

	for _, tc := range []struct {
		service, op string
		call        func() error
	}{
		{"EC2", "StopInstances", func() error {
			_, err := ec2c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
			return err
		}},
		{"EC2", "TerminateInstances", func() error {
			_, err := ec2c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
			return err
		}},
		{"EC2", "DeleteVpnConnection", func() error {
			_, err := ec2c.DeleteVpnConnection(ctx, &ec2.DeleteVpnConnectionInput{VpnConnectionId: aws.String("vpn-0123456789abcdef0")})
			return err
		}},
		{"EC2", "StartInstances", func() error {
			_, err := ec2c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
			return err
		}},
		{"CloudWatch", "PutMetricAlarm", func() error {
			_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("VPN-Down"), EvaluationPeriods: aws.Int32(1),
				ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold})
			return err
		}},
		{"CloudWatch", "SetAlarmState", func() error {
			_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("VPN-Down"), StateValue: cwtypes.StateValueOk,
				StateReason: aws.String("silence it")})
			return err
		}},
		{"CloudTrail", "StopLogging", func() error {
			_, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("management-events")})
			return err
		}},
		{"CloudWatch Logs", "DeleteLogGroup", func() error {
			_, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/vpc/flow-logs")})
			return err
		}},
		{"S3", "DeleteObject", func() error {
			_, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("flow-logs"), Key: aws.String("AWSLogs/x.log.gz")})
			return err
		}},
		{"S3", "PutObject", func() error {
			_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("flow-logs"), Key: aws.String("x"), Body: strings.NewReader("x")})
			return err
		}},
		{"Athena", "StopQueryExecution", func() error {
			_, err := ath.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String("q-1")})
			return err
		}},
		{"Athena", "StartQueryExecution", func() error {
			_, err := ath.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("DROP TABLE flows")})
			return err
		}},
		{"Athena", "StartQueryExecution", func() error {
			_, err := ath.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1; DROP TABLE flows")})
			return err
		}},
		{"Athena", "StartQueryExecution", func() error {
			_, err := ath.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("CREATE TABLE t AS SELECT * FROM flows")})
			return err
		}},
		{"Auto Scaling", "SetDesiredCapacity", func() error {
			_, err := asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("vpn"), DesiredCapacity: aws.Int32(0)})
			return err
		}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			err := tc.call()
			var refused *live.RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("%s returned %v (%T), want a *live.RefusedError", tc.op, err, err)
			}
			if refused.Service != tc.service || refused.Operation != tc.op {
				t.Errorf("refused %q %q, want %q %q", refused.Service, refused.Operation, tc.service, tc.op)
			}
			want := "vpnaudit is read-only: it refused to call " + tc.service + " " + tc.op
			if refused.Reason != "" {
				want += ": " + refused.Reason
			}
			if !strings.HasSuffix(err.Error(), want) {
				t.Errorf("message %q, want it to end in %q", err.Error(), want)
			}
		})
	}
	if got := srv.requests(); len(got) != 0 {
		t.Fatalf("the endpoint saw %v: a mutating call left the process", got)
	}

	// A read goes out.
	if _, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"DescribeInstances": 1}, srv.requests()); diff != "" {
		t.Errorf("requests seen (-want +got):\n%s", diff)
	}

	// Refused calls are not recorded, neither as calls nor as failures:
	// the bundle holds the read only.
	if err := rec.Close(mototest.Region, mototest.Account, testNow); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ec2/DescribeInstances"}, b.Operations()); diff != "" {
		t.Errorf("recorded operations (-want +got):\n%s", diff)
	}
	if len(b.Manifest.Failures) != 0 {
		t.Errorf("refusals recorded as failures: %+v", b.Manifest.Failures)
	}
	if _, err := os.Stat(filepath.Join(dir, "ec2", "StopInstances-000.json")); err == nil {
		t.Error("the refused StopInstances was recorded")
	}
}
