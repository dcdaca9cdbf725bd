package ctemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

// The API's documented limits (DESIGN §6).
const (
	// DefaultRate is LookupEvents' quota: 2 requests per second per account
	// and region.
	DefaultRate = 2.0
	// DefaultBurst is how many requests the bucket holds when idle.
	DefaultBurst = 2
	// MaxPageSize is the most events one page holds (MaxResults' maximum).
	MaxPageSize = 50
)

// targetPrefixes are the X-Amz-Target prefixes CloudTrail accepts: the Go
// SDK sends the short one, botocore (the AWS CLI) the long one.
var targetPrefixes = []string{"CloudTrail_20131101.", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."}

// Options are the emulator's knobs.
type Options struct {
	// Rate is the token bucket's refill rate in requests per second (0:
	// DefaultRate; negative: no limit). A request finding the bucket empty
	// is answered with ThrottlingException.
	Rate float64
	// Burst is the bucket's capacity (0: DefaultBurst).
	Burst int
	// PageSize caps the events of a page below MaxResults (0 or more than
	// MaxPageSize: MaxPageSize).
	PageSize int
	// Fault, when set, is asked about every request after the rate limit
	// admitted it (n counts admitted requests from 1); a non-nil Fault is
	// answered instead of the events.
	Fault func(n int, in *cloudtrail.LookupEventsInput) *Fault
	// OnRequest, when set, is called for every request once it has been
	// answered, in the order answered.
	OnRequest func(Request)
}

// Fault is an answer the emulator gives instead of a page.
type Fault struct {
	// Status is the HTTP status (0: 400 when Type is set, else 500).
	Status int
	// Type and Message make the JSON 1.1 error body
	// {"__type": Type, "message": Message}; an empty Type sends no body.
	Type, Message string
	// Delay is waited before answering (the request's cancellation ends
	// the wait).
	Delay time.Duration
}

// Request is one request the emulator answered.
type Request struct {
	// N counts every request received, from 1.
	N int
	// At is when it was answered.
	At time.Time
	// Input is the request as decoded (nil when it did not decode).
	Input *cloudtrail.LookupEventsInput
	// Events is the number of events answered; Token is the NextToken
	// answered.
	Events int
	Token  string
	// Throttled says the rate limit refused it; Err is the error type
	// answered, if any.
	Throttled bool
	Err       string
}

// Server is a running emulator.
type Server struct {
	// URL is the endpoint to give the SDK (BaseEndpoint or
	// AWS_ENDPOINT_URL_CLOUDTRAIL).
	URL string

	o   Options
	ct  *bundle.CloudTrail
	srv *httptest.Server

	mu        sync.Mutex
	tokens    float64
	last      time.Time
	received  int
	admitted  int
	throttled int
	log       []Request
}

// New serves LookupEvents over the bundle in dir (its cloudtrail/
// LookupEvents*.json files) until Close.
func New(dir string, o Options) (*Server, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("ctemu: %w", err)
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.PageSize <= 0 || o.PageSize > MaxPageSize {
		o.PageSize = MaxPageSize
	}
	s := &Server{o: o, ct: b.CloudTrail(), tokens: float64(o.Burst), last: time.Now()}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s, nil
}

// Start is New for a test: the server closes when the test ends.
func Start(t testing.TB, dir string, o Options) *Server {
	t.Helper()
	s, err := New(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Requests returns how many requests arrived, Throttled how many of them
// the rate limit refused.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Throttled returns how many requests were answered with ThrottlingException
// by the rate limit.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Log returns every request answered so far, in order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// admit takes a token from the bucket; it returns the request's number,
// the admitted count and whether it was admitted.
func (s *Server) admit() (n, admitted int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	n = s.received
	if s.o.Rate > 0 {
		now := time.Now()
		s.tokens = math.Min(float64(s.o.Burst), s.tokens+now.Sub(s.last).Seconds()*s.o.Rate)
		s.last = now
		if s.tokens < 1 {
			s.throttled++
			return n, s.admitted, false
		}
		s.tokens--
	}
	s.admitted++
	return n, s.admitted, true
}

func (s *Server) record(r Request) {
	r.At = time.Now()
	s.mu.Lock()
	s.log = append(s.log, r)
	s.mu.Unlock()
	if s.o.OnRequest != nil {
		s.o.OnRequest(r)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n, admitted, ok := s.admit()
	req := Request{N: n}
	defer func() { s.record(req) }()
	if !ok {
		req.Throttled, req.Err = true, "ThrottlingException"
		writeError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op := ""
	for _, p := range targetPrefixes {
		if rest, found := strings.CutPrefix(target, p); found {
			op = rest
		}
	}
	if r.Method != http.MethodPost || op != "LookupEvents" {
		req.Err = "UnknownOperationException"
		writeError(w, http.StatusBadRequest, req.Err, fmt.Sprintf("the CloudTrail emulator answers only LookupEvents (X-Amz-Target %q)", target))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		req.Err = "SerializationException"
		writeError(w, http.StatusBadRequest, req.Err, err.Error())
		return
	}
	in, err := decodeInput(body)
	if err != nil {
		req.Err = "SerializationException"
		writeError(w, http.StatusBadRequest, req.Err, err.Error())
		return
	}
	req.Input = in
	if s.o.Fault != nil {
		if f := s.o.Fault(admitted, in); f != nil {
			req.Err = f.Type
			if f.Delay > 0 {
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
			}
			status := f.Status
			if status == 0 {
				status = http.StatusInternalServerError
				if f.Type != "" {
					status = http.StatusBadRequest
				}
			}
			writeError(w, status, f.Type, f.Message)
			return
		}
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > MaxPageSize) {
		req.Err = "InvalidMaxResultsException"
		writeError(w, http.StatusBadRequest, req.Err, "MaxResults must be between 1 and 50")
		return
	}
	limit := s.o.PageSize
	if in.MaxResults != nil && int(*in.MaxResults) < limit {
		limit = int(*in.MaxResults)
	}
	q := *in
	q.MaxResults = aws.Int32(int32(limit))
	out, err := s.ct.LookupEvents(r.Context(), &q)
	if bundle.IsNotInBundle(err) {
		out, err = &cloudtrail.LookupEventsOutput{}, nil // no events recorded: an empty trail
	}
	if err != nil {
		typ, msg := errorType(err)
		req.Err = typ
		writeError(w, http.StatusBadRequest, typ, msg)
		return
	}
	req.Events, req.Token = len(out.Events), aws.ToString(out.NextToken)
	raw, err := encodeOutput(out)
	if err != nil {
		req.Err = "InternalFailure"
		writeError(w, http.StatusInternalServerError, req.Err, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("ctemu-%08d", n))
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw)
}

// errorType splits the bundle reader's "TypeException: message" errors;
// anything else is a bad token or an invalid request.
func errorType(err error) (string, string) {
	msg := err.Error()
	if typ, rest, ok := strings.Cut(msg, ": "); ok && strings.HasSuffix(typ, "Exception") && !strings.Contains(typ, " ") {
		return typ, rest
	}
	if strings.Contains(msg, "NextToken") {
		return "InvalidNextTokenException", msg
	}
	return "ValidationException", msg
}

// writeError answers an AWS JSON 1.1 error: the type in the body's __type
// and in X-Amzn-ErrorType, as CloudTrail does.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if typ == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("X-Amzn-Errortype", typ)
	raw, _ := json.Marshal(map[string]string{"__type": typ, "message": msg})
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(status)
	w.Write(raw)
}

// wireInput is LookupEvents' request document.
type wireInput struct {
	StartTime        json.RawMessage
	EndTime          json.RawMessage
	EventCategory    string
	LookupAttributes []struct{ AttributeKey, AttributeValue string }
	MaxResults       *int32
	NextToken        *string
}

func decodeInput(body []byte) (*cloudtrail.LookupEventsInput, error) {
	var w wireInput
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("the request body is not a LookupEvents document: %v", err)
	}
	in := &cloudtrail.LookupEventsInput{MaxResults: w.MaxResults, NextToken: w.NextToken, EventCategory: cttypes.EventCategory(w.EventCategory)}
	var err error
	if in.StartTime, err = epoch(w.StartTime); err != nil {
		return nil, fmt.Errorf("StartTime: %v", err)
	}
	if in.EndTime, err = epoch(w.EndTime); err != nil {
		return nil, fmt.Errorf("EndTime: %v", err)
	}
	for _, a := range w.LookupAttributes {
		in.LookupAttributes = append(in.LookupAttributes, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKey(a.AttributeKey), AttributeValue: aws.String(a.AttributeValue)})
	}
	return in, nil
}

// epoch reads a JSON 1.1 timestamp: epoch seconds, possibly fractional.
func epoch(raw json.RawMessage) (*time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("want epoch seconds, got %s", raw)
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return &t, nil
}

// wireEvent is one event as LookupEvents sends it: EventTime in epoch
// seconds, CloudTrailEvent a JSON string.
type wireEvent struct {
	EventId         string         `json:",omitempty"`
	EventName       string         `json:",omitempty"`
	ReadOnly        string         `json:",omitempty"`
	AccessKeyId     string         `json:",omitempty"`
	EventTime       *float64       `json:",omitempty"`
	EventSource     string         `json:",omitempty"`
	Username        string         `json:",omitempty"`
	Resources       []wireResource `json:",omitempty"`
	CloudTrailEvent string         `json:",omitempty"`
}

type wireResource struct {
	ResourceType string `json:",omitempty"`
	ResourceName string `json:",omitempty"`
}

type wireOutput struct {
	Events    []wireEvent
	NextToken *string `json:",omitempty"`
}

func encodeOutput(out *cloudtrail.LookupEventsOutput) ([]byte, error) {
	w := wireOutput{Events: []wireEvent{}, NextToken: out.NextToken}
	for _, e := range out.Events {
		we := wireEvent{
			EventId: aws.ToString(e.EventId), EventName: aws.ToString(e.EventName), ReadOnly: aws.ToString(e.ReadOnly),
			AccessKeyId: aws.ToString(e.AccessKeyId), EventSource: aws.ToString(e.EventSource), Username: aws.ToString(e.Username),
			CloudTrailEvent: aws.ToString(e.CloudTrailEvent),
		}
		if e.EventTime != nil {
			f := float64(e.EventTime.UnixNano()) / 1e9
			we.EventTime = &f
		}
		for _, r := range e.Resources {
			we.Resources = append(we.Resources, wireResource{ResourceType: aws.ToString(r.ResourceType), ResourceName: aws.ToString(r.ResourceName)})
		}
		w.Events = append(w.Events, we)
	}
	return json.Marshal(w)
}
