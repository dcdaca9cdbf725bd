package ctemu_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/ctemu"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// client is the real SDK client pointed at the emulator. Only connection
// errors are retried, so every answer the emulator gives is seen as it is:
// the SDK's client now and then reads a pooled connection its own write
// loop closed ("use of closed network connection", aws-sdk-go-v2#2737),
// which its default retryer retries and a single attempt would not.
func client(url string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:       "eu-central-1",
		BaseEndpoint: aws.String(url),
		HTTPClient:   live.DetachedBodies(awshttp.NewBuildableClient()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		}),
	})
}

// event is what the tests compare of an event.
type event struct {
	ID, Name, ReadOnly, Source, User string
	Time                             time.Time
	Resources                        int
	Raw                              int // len(CloudTrailEvent)
}

func events(es []cttypes.Event) []event {
	var out []event
	for _, e := range es {
		out = append(out, event{aws.ToString(e.EventId), aws.ToString(e.EventName), aws.ToString(e.ReadOnly), aws.ToString(e.EventSource),
			aws.ToString(e.Username), aws.ToTime(e.EventTime).UTC(), len(e.Resources), len(aws.ToString(e.CloudTrailEvent))})
	}
	return out
}

type lookup interface {
	LookupEvents(context.Context, *cloudtrail.LookupEventsInput, ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// all pages through in and returns every event and the page sizes.
func all(t *testing.T, c lookup, in cloudtrail.LookupEventsInput) ([]event, []int) {
	t.Helper()
	p := cloudtrail.NewLookupEventsPaginator(c, &in)
	var got []event
	var sizes []int
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", len(sizes)+1, err)
		}
		got = append(got, events(out.Events)...)
		sizes = append(sizes, len(out.Events))
		if len(sizes) > 1000 {
			t.Fatal("more than 1000 pages")
		}
	}
	return got, sizes
}

// The emulator answers what the bundle replay answers, through the real
// SDK client's JSON 1.1 serialisation, page by page.
func TestLookupEventsLikeTheBundle(t *testing.T) {
	dir := testenv.Fixture(t, "lab-console-stop")
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start, end := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)
	attr := func(k cttypes.LookupAttributeKey, v string) []cttypes.LookupAttribute {
		return []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
	}
	tests := []struct {
		name      string
		o         ctemu.Options
		in        cloudtrail.LookupEventsInput
		wantSizes func(total int) []int
	}{
		{"writes in the window", ctemu.Options{}, cloudtrail.LookupEventsInput{StartTime: &start, EndTime: &end,
			LookupAttributes: attr(cttypes.LookupAttributeKeyReadOnly, "false"), MaxResults: aws.Int32(50)}, pages(50)},
		{"everything, default page", ctemu.Options{}, cloudtrail.LookupEventsInput{StartTime: &start, EndTime: &end}, pages(50)},
		{"MaxResults 7", ctemu.Options{}, cloudtrail.LookupEventsInput{StartTime: &start, EndTime: &end, MaxResults: aws.Int32(7)}, pages(7)},
		{"page size knob 20 under MaxResults 50", ctemu.Options{PageSize: 20}, cloudtrail.LookupEventsInput{StartTime: &start, EndTime: &end,
			MaxResults: aws.Int32(50)}, pages(20)},
		{"by event name", ctemu.Options{}, cloudtrail.LookupEventsInput{LookupAttributes: attr(cttypes.LookupAttributeKeyEventName, "StopInstances")}, pages(50)},
		{"by resource name", ctemu.Options{}, cloudtrail.LookupEventsInput{StartTime: &start, EndTime: &end,
			LookupAttributes: attr(cttypes.LookupAttributeKeyResourceName, "i-0d7632e693e938e41")}, pages(50)},
		{"empty window", ctemu.Options{}, cloudtrail.LookupEventsInput{StartTime: aws.Time(start.Add(-48 * time.Hour)), EndTime: aws.Time(start.Add(-47 * time.Hour))}, pages(50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Rate = -1 // pacing is tested below
			s := ctemu.Start(t, dir, tt.o)
			want, _ := all(t, bundleAt(b, tt.o.PageSize), tt.in)
			got, sizes := all(t, client(s.URL), tt.in)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSizes(len(want)), sizes); diff != "" {
				t.Errorf("page sizes for %d events (-want +got):\n%s", len(want), diff)
			}
			// At least one request a page: a page whose answer the client
			// lost to aws-sdk-go-v2#2737 is asked again.
			if got := s.Requests(); got < len(sizes) {
				t.Errorf("%d requests counted, want at least %d", got, len(sizes))
			}
		})
	}
}

// bundleAt is the bundle replay with the emulator's page size.
func bundleAt(b *bundle.Bundle, size int) lookup {
	return lookupFunc(func(ctx context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
		q := *in
		if size > 0 && (q.MaxResults == nil || *q.MaxResults > int32(size)) {
			q.MaxResults = aws.Int32(int32(size))
		}
		return b.CloudTrail().LookupEvents(ctx, &q)
	})
}

type lookupFunc func(context.Context, *cloudtrail.LookupEventsInput, ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)

func (f lookupFunc) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, o ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	return f(ctx, in, o...)
}

// pages returns the page sizes of total events in pages of n (one empty
// page for none, as the API answers).
func pages(n int) func(int) []int {
	return func(total int) []int {
		if total == 0 {
			return []int{0}
		}
		var out []int
		for ; total > 0; total -= n {
			out = append(out, min(n, total))
		}
		return out
	}
}

// Errors come back in CloudTrail's shape: HTTP 400, the type the SDK
// turns into the error code, the message.
func TestErrors(t *testing.T) {
	dir := testenv.Fixture(t, "lab-console-stop")
	two := []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")},
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StopInstances")},
	}
	later, earlier := time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		o        ctemu.Options
		calls    int // the last call's error is checked
		in       cloudtrail.LookupEventsInput
		wantCode string
		wantMsg  string
		wantHTTP int
	}{
		{"throttled past the burst", ctemu.Options{Rate: 0.001, Burst: 2}, 3, cloudtrail.LookupEventsInput{}, "ThrottlingException", "Rate exceeded", 400},
		{"two lookup attributes", ctemu.Options{Rate: -1}, 1, cloudtrail.LookupEventsInput{LookupAttributes: two}, "InvalidLookupAttributesException", "at most one lookup attribute", 400},
		{"start after end", ctemu.Options{Rate: -1}, 1, cloudtrail.LookupEventsInput{StartTime: &later, EndTime: &earlier}, "InvalidTimeRangeException", "after EndTime", 400},
		{"bad token", ctemu.Options{Rate: -1}, 1, cloudtrail.LookupEventsInput{NextToken: aws.String("nope")}, "InvalidNextTokenException", "invalid NextToken", 400},
		{"MaxResults over 50", ctemu.Options{Rate: -1}, 1, cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException", "between 1 and 50", 400},
		{"fault hook: a 503 on the second request", ctemu.Options{Rate: -1, Fault: func(n int, _ *cloudtrail.LookupEventsInput) *ctemu.Fault {
			if n == 2 {
				return &ctemu.Fault{Status: 503, Type: "ServiceUnavailableException", Message: "try later"}
			}
			return nil
		}}, 2, cloudtrail.LookupEventsInput{}, "ServiceUnavailableException", "try later", 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ctemu.Start(t, dir, tt.o)
			c := client(s.URL)
			var err error
			for i := 0; i < tt.calls; i++ {
				in := tt.in
				_, err = c.LookupEvents(context.Background(), &in)
				if i < tt.calls-1 && err != nil {
					if tt.o.Burst > 0 && s.Requests()-s.Throttled() == tt.o.Burst {
						// A connection error retried by the client spent a
						// token early: the bucket is as empty as the case
						// wants it.
						break
					}
					t.Fatalf("call %d: %v", i+1, err)
				}
			}
			if tt.o.Burst > 0 {
				if served := s.Requests() - s.Throttled(); served != tt.o.Burst {
					t.Errorf("%d requests served before throttling, want the burst of %d", served, tt.o.Burst)
				}
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v, want an API error %s", err, tt.wantCode)
			}
			if ae.ErrorCode() != tt.wantCode || !strings.Contains(ae.ErrorMessage(), tt.wantMsg) {
				t.Errorf("error %s: %q, want %s: …%s…", ae.ErrorCode(), ae.ErrorMessage(), tt.wantCode, tt.wantMsg)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.wantHTTP {
				t.Errorf("error %v, want HTTP %d", err, tt.wantHTTP)
			}
			wantThrottled := 0
			if tt.wantCode == "ThrottlingException" {
				wantThrottled = 1
			}
			if got := s.Throttled(); got != wantThrottled {
				t.Errorf("%d throttled, want %d", got, wantThrottled)
			}
		})
	}
}

// The AWS CLI's (botocore's) long X-Amz-Target is accepted too; anything
// else is refused.
func TestTargets(t *testing.T) {
	s := ctemu.Start(t, testenv.Fixture(t, "lab-console-stop"), ctemu.Options{Rate: -1})
	tests := []struct {
		target   string
		want     int
		wantBody string
	}{
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", 200, `"Events":[`},
		{"CloudTrail_20131101.LookupEvents", 200, `"EventTime":17`},
		{"CloudTrail_20131101.StopLogging", 400, `"__type":"UnknownOperationException"`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(`{"MaxResults":1}`))
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("HTTP %d %s, want %d with %s", resp.StatusCode, body, tt.want, tt.wantBody)
			}
		})
	}
}
