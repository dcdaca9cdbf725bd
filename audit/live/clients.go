package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/vpnaudit/vpnaudit/audit/collect"
)

// Options configure the live clients.
type Options struct {
	// Region and Profile override the standard chain when set.
	Region  string
	Profile string
	// MaxAttempts bounds each call's attempts. 0 means the standard
	// AWS_MAX_ATTEMPTS variable when set, else 6: throttled CloudTrail pages
	// are retried with adaptive back-off (capped at 5 s, so a call that keeps
	// failing costs seconds, not minutes) rather than lost. Against an
	// emulator use 1: unimplemented calls answer HTTP 500, which the SDK
	// would retry.
	MaxAttempts int
	// Recorder, when set, records every call as a bundle.
	Recorder *Recorder
	// CloudTrailRate is the rate, in requests a second, the CloudTrail
	// client keeps to on its own side (every attempt waits its turn, the
	// context's end ends the wait): 0 means DefaultCloudTrailRate, the
	// LookupEvents quota of 2 a second; negative turns pacing off.
	CloudTrailRate float64
}

// Retry defaults: enough to ride out throttling, bounded so a call that
// keeps failing is reported in seconds.
const (
	defaultAttempts = 6
	maxBackoff      = 5 * time.Second
)

// LoadConfig resolves credentials and region the way the AWS CLI does.
func LoadConfig(ctx context.Context, o Options) (aws.Config, error) {
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = defaultAttempts
		// A custom retryer makes the SDK skip AWS_MAX_ATTEMPTS: honour it here.
		if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil && n > 0 {
			attempts = n
		}
	}
	opts := []func(*config.LoadOptions) error{
		// The SDK's own log lines ("failed to discard remaining HTTP
		// response body" after a cut-short answer it then retries) would
		// land on stderr between vpnaudit's progress and messages: every
		// failure that matters is reported by vpnaudit, in the coverage.
		config.WithLogger(logging.Nop{}),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
				ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) { retryOptions(so, attempts) })
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, Explain(fmt.Errorf("load AWS configuration: %w", err), o.Profile)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region is set: pass --region, set AWS_REGION, or give your profile a region (aws configure set region REGION)")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = detachedBody{cfg.HTTPClient}
	return cfg, nil
}

// DetachedBodies wraps an HTTP client the way LoadConfig does (see
// detachedBody), for tests that build their own SDK configuration and must
// not lose answers.
func DetachedBodies(c aws.HTTPClient) aws.HTTPClient { return detachedBody{c} }

// detachedBody hands the transport its own copy of each request body.
//
// The SDK closes a request's body as soon as the response headers arrive,
// while net/http's write loop may still read it once more to check that
// nothing follows the Content-Length; that read fails, the write loop
// closes the connection, and the answer being read is lost ("use of closed
// network connection", aws-sdk-go-v2#2737) — about 1 call in 100 against a
// local endpoint in our measurements, none with the body detached. The
// bodies are small JSON or form documents: every call is a read.
type detachedBody struct{ c aws.HTTPClient }

func (d detachedBody) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return d.c.Do(r)
}

// retryOptions sets the standard retry options under the adaptive mode.
//
// Beyond the SDK's own list (throttling codes, HTTP 500/502/503/504,
// connection resets and refusals, timeouts), a response cut short — the
// body ending before its Content-Length (io.ErrUnexpectedEOF) or the
// connection closing before any answer (io.EOF) — is retried: the SDK
// leaves both to the caller, and every call vpnaudit makes is a read, so
// each is safe to repeat.
func retryOptions(so *retry.StandardOptions, attempts int) {
	so.MaxBackoff = maxBackoff
	so.Backoff = backoff{throttle: retry.IsErrorThrottles(so.Throttles), max: maxBackoff}
	so.MaxAttempts = attempts
	so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(cutShort))
}

// Back-off bases: a throttled call waits on the scale of the quota's
// second, any other failure (a 5xx, a reset, a cut answer) is retried
// within a fraction of a second.
const (
	throttleBase  = time.Second
	transientBase = 50 * time.Millisecond
)

// backoff is the SDK's forthcoming back-off (AWS_NEW_RETRIES_2026):
// full jitter over min(base × 2^attempt, max), with a 1 s base for
// throttling errors and 50 ms for the rest. The SDK's current one waits up
// to 2 s, 4 s, then max after any failure, which made a run with a third
// of its calls failing take 20 times as long as a clean one.
type backoff struct {
	throttle retry.IsErrorThrottle
	max      time.Duration
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	base := transientBase
	if b.throttle.IsErrorThrottle(err) == aws.TrueTernary {
		base = throttleBase
	}
	d := b.max
	if attempt < 30 {
		d = min(base<<attempt, b.max)
	}
	return time.Duration(rand.Int64N(int64(d) + 1)), nil
}

// cutShort says a read's answer was cut short: retryable.
func cutShort(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// Clients builds the collector's clients from cfg. Each is read-only, and
// records its calls when o.Recorder is set. CloudWatch speaks AWS JSON 1.0,
// which AWS and emulators such as moto both accept (the SDK's default,
// Smithy RPC v2 CBOR, is not implemented by moto).
func Clients(cfg aws.Config, o Options) collect.Clients {
	stack := []func(*middleware.Stack) error{addReadOnly}
	if o.Recorder != nil {
		stack = append(stack, o.Recorder.add)
	}
	ctStack := stack // CloudTrail's calls are paced to its quota
	if p := cloudTrailPacer(o.CloudTrailRate); p != nil {
		ctStack = append(append([]func(*middleware.Stack) error{}, stack...), addPacer(p))
	}
	return collect.Clients{
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(c *cloudwatch.Options) {
			c.APIOptions = append(c.APIOptions, stack...)
			c.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801)
		}),
		CloudTrail:  cloudtrail.NewFromConfig(cfg, func(c *cloudtrail.Options) { c.APIOptions = append(c.APIOptions, ctStack...) }),
		Logs:        cloudwatchlogs.NewFromConfig(cfg, func(c *cloudwatchlogs.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
		Insights:    cloudwatchlogs.NewFromConfig(cfg, func(c *cloudwatchlogs.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
		EC2:         ec2.NewFromConfig(cfg, func(c *ec2.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
		STS:         sts.NewFromConfig(cfg, func(c *sts.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
		AutoScaling: autoscaling.NewFromConfig(cfg, func(c *autoscaling.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
		// A custom endpoint (an emulator) takes path-style bucket addresses.
		S3: s3.NewFromConfig(cfg, func(c *s3.Options) {
			c.APIOptions = append(c.APIOptions, stack...)
			c.UsePathStyle = cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
			// Delivered flow-log objects often carry no checksum: no log line per object.
			c.DisableLogOutputChecksumValidationSkipped = true
		}),
		Athena: athena.NewFromConfig(cfg, func(c *athena.Options) { c.APIOptions = append(c.APIOptions, stack...) }),
	}
}
