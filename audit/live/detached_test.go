package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// closingBody fails every read after Close, as the SDK's request body does.
type closingBody struct {
	r      io.Reader
	closed bool
}

func (b *closingBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read on closed body")
	}
	return b.r.Read(p)
}

func (b *closingBody) Close() error { b.closed = true; return nil }

type captureClient struct{ req *http.Request }

func (c *captureClient) Do(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// The transport gets a body of its own: closing the SDK's after the call
// leaves it readable, and GetBody gives it again.
func TestDetachedBody(t *testing.T) {
	orig := &closingBody{r: strings.NewReader(`{"MaxResults":50}`)}
	req, _ := http.NewRequest(http.MethodPost, "http://localhost/", orig)
	capture := &captureClient{}
	if _, err := (detachedBody{capture}).Do(req); err != nil {
		t.Fatal(err)
	}
	orig.Close() // what the SDK does once the headers are in
	got, err := io.ReadAll(capture.req.Body)
	if err != nil || string(got) != `{"MaxResults":50}` {
		t.Errorf("the transport's body read %q, %v after the SDK closed its own", got, err)
	}
	again, _ := capture.req.GetBody()
	if b, _ := io.ReadAll(again); string(b) != `{"MaxResults":50}` {
		t.Errorf("GetBody gave %q", b)
	}
}

// BenchmarkLostAnswers counts the answers the SDK's client loses
// (aws-sdk-go-v2#2737) per 1000 single-attempt calls against a local
// server, with the SDK's HTTP client as is and with the body detached.
//
//	go test ./audit/live -run '^$' -bench LostAnswers
func BenchmarkLostAnswers(b *testing.B) {
	page := bytes.Repeat([]byte("x"), 60000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"Events":[],"Pad":"%s"}`, page)
	}))
	defer srv.Close()
	for _, detach := range []bool{false, true} {
		b.Run(fmt.Sprintf("detached=%v", detach), func(b *testing.B) {
			var hc aws.HTTPClient = awshttp.NewBuildableClient()
			if detach {
				hc = detachedBody{hc}
			}
			c := cloudtrail.New(cloudtrail.Options{Region: "eu-central-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: hc, RetryMaxAttempts: 1,
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
				})})
			lost := 0
			for i := 0; i < b.N; i++ {
				if _, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{}); err != nil {
					lost++
				}
			}
			b.ReportMetric(float64(lost)*1000/float64(b.N), "lost/1000")
		})
	}
}
