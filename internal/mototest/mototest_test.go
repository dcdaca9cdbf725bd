package mototest_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

// TestEnvReachesOnlyMoto checks that after Env the standard chain resolves
// to the server with test credentials and none of the developer's config.
func TestEnvReachesOnlyMoto(t *testing.T) {
	t.Setenv("AWS_PROFILE", "developer-real-profile")
	t.Setenv("AWS_ENDPOINT_URL_STS", "https://sts.amazonaws.com")
	t.Setenv("AWS_SESSION_TOKEN", "real-session-token")
	s := mototest.Start(t)
	s.Env(t)
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL_STS", "AWS_SESSION_TOKEN"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%q after Env, want unset", k, v)
		}
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != s.Region || aws.ToString(cfg.BaseEndpoint) != s.URL {
		t.Errorf("config: region %q endpoint %q, want %q %q", cfg.Region, aws.ToString(cfg.BaseEndpoint), s.Region, s.URL)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "testing" || creds.SessionToken != "" {
		t.Errorf("credentials %q (session token %q), want the static test keys", creds.AccessKeyID, creds.SessionToken)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	if err != nil {
		t.Fatalf("GetCallerIdentity against moto: %v", err)
	}
	if got := aws.ToString(id.Account); got != mototest.Account {
		t.Errorf("account %q, want moto's %s", got, mototest.Account)
	}
}

// TestServersAreIndependent checks that two servers run side by side, each
// with its own state, and that a server is gone after its test.
func TestServersAreIndependent(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		s := mototest.Start(t)
		first = s.URL
		logs := logsClient(t, s)
		if _, err := logs.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("only-here")}); err != nil {
			t.Fatal(err)
		}
		s2 := mototest.Start(t)
		if s2.URL == s.URL {
			t.Fatalf("two servers on %s", s.URL)
		}
		out, err := logsClient(t, s2).DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LogGroups) != 0 {
			t.Errorf("the second server has the first's log groups: %+v", out.LogGroups)
		}
	})
	if first == "" {
		t.Skip("the first server did not start")
	}
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(first + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Errorf("the server at %s still answers after its test ended", first)
	}
}

func logsClient(t *testing.T, s *mototest.Server) *cloudwatchlogs.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(s.Region), config.WithBaseEndpoint(s.URL),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return cloudwatchlogs.NewFromConfig(cfg)
}

// TestSeed checks the scenario's shape and times, and says what moto lacks.
func TestSeed(t *testing.T) {
	s := mototest.Start(t)
	s.Env(t)
	before := time.Now().UTC()
	sc := mototest.Seed(context.Background(), t, s)
	t.Logf("seeded in %s: stop %s, alarm %s, now %s", time.Since(before).Round(time.Millisecond),
		sc.Stop.Format(time.RFC3339), sc.AlarmTime.Format(time.RFC3339Nano), sc.Now.Format(time.RFC3339))
	t.Logf("tunnel IPs used %v, named by the API %v", sc.TunnelIPs, sc.TunnelIPsInAPI)
	for _, l := range sc.Lacks {
		t.Logf("moto lacks: %s", l)
	}

	for name, id := range map[string]string{"vpc": sc.DatacenterVPC, "subnet": sc.DatacenterSubnet, "tgw": sc.TransitGateway,
		"vpn": sc.VPN, "cgw": sc.CustomerGateway, "eipalloc": sc.EIPAllocation, "i": sc.Instance, "eni": sc.ENI, "sg": sc.SecurityGroup, "fl": sc.FlowLog} {
		if !strings.HasPrefix(id, name+"-") {
			t.Errorf("%s ID %q", name, id)
		}
	}
	if len(sc.WorkloadVPCs) != 2 || len(sc.WorkloadSubnets) != 2 || len(sc.VPCAttachments) != 2 {
		t.Errorf("workloads: VPCs %v subnets %v attachments %v, want two each", sc.WorkloadVPCs, sc.WorkloadSubnets, sc.VPCAttachments)
	}
	if len(sc.TunnelIPs) != 2 || sc.TunnelIPs[0] == sc.TunnelIPs[1] {
		t.Errorf("tunnel IPs %v, want two distinct", sc.TunnelIPs)
	}
	if sc.LogStream != sc.ENI+"-all" {
		t.Errorf("log stream %q", sc.LogStream)
	}
	// 40 minutes of 2 IPsec records per tunnel and 2 cross-VPN records.
	if want := 40 * (2*len(sc.TunnelIPs) + 2); sc.TrafficRecords != want {
		t.Errorf("%d traffic records, want %d", sc.TrafficRecords, want)
	}
	if sc.NoDataRecords < 7 || sc.NoDataRecords > 9 {
		t.Errorf("%d NODATA records, want one a minute from the stop to now (about 8)", sc.NoDataRecords)
	}

	// The times: whole minutes for the data, the stop a few minutes before
	// the alarm, now after it.
	if !sc.Stop.Equal(sc.Stop.Truncate(time.Minute)) || !sc.FirstRecord.Equal(sc.Stop.Add(-40*time.Minute)) {
		t.Errorf("stop %s, first record %s: want whole minutes, 40 apart", sc.Stop, sc.FirstRecord)
	}
	if d := sc.AlarmTime.Sub(sc.Stop); d < 7*time.Minute || d > 10*time.Minute {
		t.Errorf("alarm %s is %s after the stop %s, want about 8 minutes", sc.AlarmTime, d, sc.Stop)
	}
	if !sc.Now.After(sc.AlarmTime) || sc.Now.Sub(sc.AlarmTime) > 30*time.Second || !sc.Now.Equal(sc.Now.Truncate(time.Second)) {
		t.Errorf("now %s, alarm %s: want whole seconds just after the alarm", sc.Now, sc.AlarmTime)
	}
	if sc.AlarmTime.Before(before.Add(-time.Second)) || sc.AlarmTime.After(time.Now().Add(time.Second)) {
		t.Errorf("alarm time %s is not moto's clock during the seed (%s…now)", sc.AlarmTime, before)
	}
}
