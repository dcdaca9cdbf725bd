package live_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/ctemu"
	"github.com/vpnaudit/vpnaudit/internal/faultproxy"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// defaults points the standard chain at endpoint with vpnaudit's default
// retry settings (mototest.Isolate sets AWS_MAX_ATTEMPTS=1 for moto).
func defaults(t *testing.T, endpoint string) collect.Clients {
	t.Helper()
	mototest.Isolate(t, endpoint, mototest.Region)
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
	cfg, err := live.LoadConfig(context.Background(), live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return live.Clients(cfg, live.Options{})
}

// oneCall is one read per service, through vpnaudit's clients.
var oneCall = map[string]func(context.Context, collect.Clients) error{
	"cloudtrail": func(ctx context.Context, c collect.Clients) error {
		_, err := c.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(50)})
		return err
	},
	"ec2": func(ctx context.Context, c collect.Clients) error {
		_, err := c.EC2.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{})
		return err
	},
	"monitoring": func(ctx context.Context, c collect.Clients) error {
		_, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
		return err
	},
	"logs": func(ctx context.Context, c collect.Clients) error {
		// moto answers ResourceNotFoundException for the group: an answer,
		// not a fault, so the call ends there.
		_, err := c.Logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/vpc/none")})
		return err
	},
	"sts": func(ctx context.Context, c collect.Clients) error {
		_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
}

// Every transient fault the proxy injects is retried with vpnaudit's
// default settings, for every protocol vpnaudit speaks: the first attempt
// draws the fault, the second is answered.
func TestFaultsRetried(t *testing.T) {
	moto := mototest.Start(t)
	emu := ctemu.Start(t, testenv.Fixture(t, "lab-console-stop"), ctemu.Options{Rate: -1})
	kinds := []faultproxy.Kind{faultproxy.Throttle, faultproxy.Status500, faultproxy.Status503, faultproxy.Reset, faultproxy.Truncate, faultproxy.Slow}
	for _, service := range []string{"cloudtrail", "ec2", "monitoring", "logs", "sts"} {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/%s", service, kind), func(t *testing.T) {
				target := moto.URL
				if service == "cloudtrail" {
					target = emu.URL
				}
				p := faultproxy.Start(t, faultproxy.Options{Target: target, Script: []faultproxy.Kind{kind},
					Only: func(c faultproxy.Call) bool { return c.Service == service }})
				err := oneCall[service](context.Background(), defaults(t, p.URL))
				if err != nil && !strings.Contains(err.Error(), "ResourceNotFoundException") {
					t.Errorf("the call failed: %v", err)
				}
				var got []string
				for _, e := range p.Log() {
					got = append(got, string(e.Fault))
				}
				want := []string{string(kind), ""}
				if kind == faultproxy.Slow { // slow is an answer, not a failure
					want = []string{string(kind)}
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("requests drew %q, want %q (the fault, then one retry)", got, want)
				}
			})
		}
	}
}
