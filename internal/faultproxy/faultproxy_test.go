package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/ctemu"
	"github.com/vpnaudit/vpnaudit/internal/faultproxy"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// config is an SDK configuration for endpoint: static credentials and no
// retries (every fault is seen as it is) except of a response the SDK's
// own client lost: now and then it closes the connection it is reading
// ("use of closed network connection", aws-sdk-go-v2#2737).
func config(endpoint string) aws.Config {
	return aws.Config{
		Region:       "eu-central-1",
		BaseEndpoint: aws.String(endpoint),
		// No answer lost by the SDK (aws-sdk-go-v2#2737), so no retry
		// shifts the proxy's seeded draws or its remembered tokens.
		HTTPClient: live.DetachedBodies(awshttp.NewBuildableClient()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					return aws.BoolTernary(strings.Contains(err.Error(), "use of closed network connection"))
				})}
			})
		},
	}
}

// calls are one read of each service vpnaudit uses, through the real SDK
// clients (CloudWatch in AWS JSON 1.0, as vpnaudit sends it).
func calls(cfg aws.Config) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"cloudtrail": func(ctx context.Context) error {
			_, err := cloudtrail.NewFromConfig(cfg).LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(5)})
			return err
		},
		"logs": func(ctx context.Context) error {
			_, err := cloudwatchlogs.NewFromConfig(cfg).FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
			return err
		},
		"monitoring": func(ctx context.Context) error {
			c := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801) })
			_, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
			return err
		},
		"ec2": func(ctx context.Context) error {
			_, err := ec2.NewFromConfig(cfg).DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{})
			return err
		},
		"sts": func(ctx context.Context) error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		"autoscaling": func(ctx context.Context) error {
			_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
			return err
		},
	}
}

// upstream answers 200 with an empty JSON object: the error faults never
// reach it.
func upstream(t *testing.T) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	t.Cleanup(s.Close)
	return s.URL
}

type answer struct {
	Code string
	HTTP int
}

// Each service's throttling error, 500, 503 and access denial come back in
// its own protocol, as the SDK decodes them.
func TestErrorShapes(t *testing.T) {
	want := map[faultproxy.Kind]map[string]answer{
		faultproxy.Throttle: {
			"cloudtrail": {"ThrottlingException", 400}, "logs": {"ThrottlingException", 400}, "monitoring": {"Throttling", 400},
			"ec2": {"RequestLimitExceeded", 503}, "sts": {"Throttling", 400}, "autoscaling": {"Throttling", 400},
		},
		faultproxy.Status500: {
			"cloudtrail": {"InternalFailure", 500}, "logs": {"InternalFailure", 500}, "monitoring": {"InternalFailure", 500},
			"ec2": {"InternalError", 500}, "sts": {"InternalFailure", 500}, "autoscaling": {"InternalFailure", 500},
		},
		faultproxy.Status503: {
			"cloudtrail": {"ServiceUnavailable", 503}, "logs": {"ServiceUnavailable", 503}, "monitoring": {"ServiceUnavailable", 503},
			"ec2": {"Unavailable", 503}, "sts": {"ServiceUnavailable", 503}, "autoscaling": {"ServiceUnavailable", 503},
		},
		faultproxy.AccessDenied: {
			"cloudtrail": {"AccessDeniedException", 400}, "logs": {"AccessDeniedException", 400}, "monitoring": {"AccessDenied", 403},
			"ec2": {"UnauthorizedOperation", 403}, "sts": {"AccessDenied", 403}, "autoscaling": {"AccessDenied", 403},
		},
	}
	up := upstream(t)
	for kind, services := range want {
		t.Run(string(kind), func(t *testing.T) {
			var perm []faultproxy.Permanent
			for s := range services {
				perm = append(perm, faultproxy.Permanent{Service: s, Kind: kind})
			}
			p := faultproxy.Start(t, faultproxy.Options{Target: up, Permanent: perm})
			got := map[string]answer{}
			for s, call := range calls(config(p.URL)) {
				err := call(context.Background())
				var ae smithy.APIError
				var re *awshttp.ResponseError
				if !errors.As(err, &ae) || !errors.As(err, &re) {
					t.Errorf("%s: %v, want an API error", s, err)
					continue
				}
				got[s] = answer{ae.ErrorCode(), re.HTTPStatusCode()}
				if kind == faultproxy.AccessDenied {
					if w := "access denied: the credentials lack "; !strings.HasPrefix(collect.Why(err), w) {
						t.Errorf("%s: collect.Why says %q, want %q…", s, collect.Why(err), w)
					}
				}
			}
			if diff := cmp.Diff(services, got); diff != "" {
				t.Errorf("error code and HTTP status per service (-want +got):\n%s", diff)
			}
		})
	}
}

// A reset connection and a truncated body reach the SDK as transport
// errors.
func TestConnectionFaults(t *testing.T) {
	dir := testenv.Fixture(t, "lab-console-stop")
	emu := ctemu.Start(t, dir, ctemu.Options{Rate: -1})
	tests := []struct {
		kind faultproxy.Kind
		want []string // one of these in the error
	}{
		{faultproxy.Reset, []string{"connection reset by peer", "EOF"}},
		{faultproxy.Truncate, []string{"unexpected EOF"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			p := faultproxy.Start(t, faultproxy.Options{Target: emu.URL, Permanent: []faultproxy.Permanent{{Service: "cloudtrail", Kind: tt.kind}}})
			err := calls(config(p.URL))["cloudtrail"](context.Background())
			if err == nil {
				t.Fatal("the call succeeded")
			}
			found := false
			for _, w := range tt.want {
				found = found || strings.Contains(err.Error(), w)
			}
			if !found {
				t.Errorf("error %v, want one of %q", err, tt.want)
			}
		})
	}
}

// pageThrough pages LookupEvents through the proxy, returning the event
// IDs, the tokens answered and the errors met.
func pageThrough(t *testing.T, url string, maxPages int) (ids, tokens []string, err error) {
	t.Helper()
	c := cloudtrail.NewFromConfig(config(url))
	in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(10)}
	for page := 0; page < maxPages; page++ {
		out, err := c.LookupEvents(context.Background(), in)
		if err != nil {
			return ids, tokens, err
		}
		for _, e := range out.Events {
			ids = append(ids, aws.ToString(e.EventId))
		}
		tokens = append(tokens, aws.ToString(out.NextToken))
		if out.NextToken == nil {
			return ids, tokens, nil
		}
		in.NextToken = out.NextToken
	}
	return ids, tokens, nil
}

// Pagination faults: an empty page with a token leads back to the page
// asked for (nothing is lost), and a repeated token is the token the
// pagination answered before.
func TestPaginationFaults(t *testing.T) {
	emu := ctemu.Start(t, testenv.Fixture(t, "lab-console-stop"), ctemu.Options{Rate: -1})
	clean, cleanTokens, err := pageThrough(t, emu.URL, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(cleanTokens) < 3 {
		t.Fatalf("%d pages: the fixture needs at least 3", len(cleanTokens))
	}

	t.Run("empty pages", func(t *testing.T) {
		p := faultproxy.Start(t, faultproxy.Options{Target: emu.URL, Seed: 1, Rates: map[faultproxy.Kind]float64{faultproxy.EmptyPage: 0.5}})
		got, tokens, err := pageThrough(t, p.URL, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(clean, got); diff != "" {
			t.Errorf("events through empty pages (-want +got):\n%s", diff)
		}
		n := p.Counts()[faultproxy.EmptyPage]
		if n == 0 || len(tokens) != len(cleanTokens)+n {
			t.Errorf("%d empty pages injected, %d pages read; want some, and %d+%d pages", n, len(tokens), len(cleanTokens), n)
		}
	})

	t.Run("repeated token", func(t *testing.T) {
		p := faultproxy.Start(t, faultproxy.Options{Target: emu.URL, Rates: map[faultproxy.Kind]float64{faultproxy.RepeatToken: 1}})
		_, tokens, err := pageThrough(t, p.URL, 2)
		if err != nil {
			t.Fatal(err)
		}
		// Page 1 has no token before it; page 2 answers page 1's token
		// again instead of its own.
		want := []string{cleanTokens[0], cleanTokens[0]}
		if diff := cmp.Diff(want, tokens); diff != "" {
			t.Errorf("tokens answered (-want +got):\n%s", diff)
		}
	})
}

// The same seed and the same requests draw the same faults; a slow answer
// is still the right answer. (Plain HTTP requests: the SDK's client may
// repeat a request it lost, which would add a draw.)
func TestSeededDraws(t *testing.T) {
	emu := ctemu.Start(t, testenv.Fixture(t, "lab-console-stop"), ctemu.Options{Rate: -1})
	rates := map[faultproxy.Kind]float64{faultproxy.Throttle: 0.2, faultproxy.Status503: 0.1, faultproxy.Slow: 0.2}
	run := func(seed int64) []faultproxy.Kind {
		p := faultproxy.Start(t, faultproxy.Options{Target: emu.URL, Seed: seed, Rates: rates, SlowDelay: 10 * time.Millisecond})
		var kinds []faultproxy.Kind
		for i := 0; i < 40; i++ {
			req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader(`{"MaxResults":5}`))
			req.Header.Set("X-Amz-Target", "CloudTrail_20131101.LookupEvents")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261103/eu-central-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			e := p.Log()[i]
			kinds = append(kinds, e.Fault)
			ok := resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"Events":[{`)
			if (e.Fault == "" || e.Fault == faultproxy.Slow) != ok {
				t.Errorf("request %d: fault %q, answer HTTP %d %.80s", i, e.Fault, resp.StatusCode, body)
			}
		}
		return kinds
	}
	a, b := run(42), run(42)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("seed 42 twice (-first +second):\n%s", diff)
	}
	counts := map[faultproxy.Kind]int{}
	for _, k := range a {
		counts[k]++
	}
	if counts[faultproxy.Throttle] == 0 || counts[faultproxy.Status503] == 0 || counts[faultproxy.Slow] == 0 || counts[""] == 0 {
		t.Errorf("40 draws at 20/10/20%%: %v, want every kind and clean requests", counts)
	}
}

// A permanent failure hits only its operation.
func TestPermanentOnlyItsOperation(t *testing.T) {
	p := faultproxy.Start(t, faultproxy.Options{Target: upstream(t),
		Permanent: []faultproxy.Permanent{{Service: "ec2", Operation: "DescribeVpnConnections", Kind: faultproxy.AccessDenied}}})
	cfg := config(p.URL)
	if err := calls(cfg)["ec2"](context.Background()); collect.Why(err) != "access denied: the credentials lack ec2:DescribeVpnConnections (add it to the policy in the README)" {
		t.Errorf("DescribeVpnConnections: %q", collect.Why(err))
	}
	_, err := ec2.NewFromConfig(cfg).DescribeNetworkAcls(context.Background(), &ec2.DescribeNetworkAclsInput{})
	var ae smithy.APIError
	if errors.As(err, &ae) {
		t.Errorf("DescribeNetworkAcls failed with %v, want it forwarded", err)
	}
}
