package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is a fault the proxy injects.
type Kind string

// The faults, in the order a request's draw is matched against their
// rates.
const (
	// Throttle answers the service's own throttling error: CloudTrail and
	// CloudWatch Logs ThrottlingException (JSON, HTTP 400), CloudWatch
	// Throttling (HTTP 400), EC2 RequestLimitExceeded (XML, HTTP 503),
	// STS and Auto Scaling Throttling (query XML, HTTP 400).
	Throttle Kind = "throttle"
	// Status500 and Status503 answer HTTP 500 (InternalFailure,
	// InternalError for EC2) and 503 (ServiceUnavailable, Unavailable).
	Status500 Kind = "http-500"
	Status503 Kind = "http-503"
	// Reset closes the connection with a TCP RST (SO_LINGER 0) once the
	// request has been read, before anything is answered.
	Reset Kind = "reset"
	// Truncate forwards the request and sends the upstream's status and
	// headers with the full Content-Length but only half the body, then
	// closes the connection.
	Truncate Kind = "truncate"
	// Slow waits Options.SlowDelay before forwarding.
	Slow Kind = "slow"
	// RepeatToken forwards, then rewrites the answer's pagination token to
	// the one this operation answered before (a token cycle).
	RepeatToken Kind = "repeat-token"
	// EmptyPage answers a page with no items and a fresh pagination token
	// that leads back to the page asked for (JSON protocols' paginated
	// operations only).
	EmptyPage Kind = "empty-page"
	// AccessDenied answers the service's access-denied error naming the
	// IAM action (permanent failures only).
	AccessDenied Kind = "access-denied"
	// NotImplemented answers HTTP 501, as emulators answer an operation
	// they lack (permanent failures only; the SDK does not retry 501).
	NotImplemented Kind = "not-implemented"
)

// transient are the kinds a request may draw, in draw order.
var transient = []Kind{Throttle, Status500, Status503, Reset, Truncate, Slow, RepeatToken, EmptyPage}

// Permanent makes every call of one operation fail the same way.
type Permanent struct {
	// Service is the SigV4 signing name (cloudtrail, logs, monitoring for
	// CloudWatch, ec2, sts, autoscaling); Operation the API operation
	// (empty: every operation of the service).
	Service, Operation string
	// Kind is the failure (AccessDenied, Status500, Status503, Throttle,
	// Reset).
	Kind Kind
}

// Options configure a proxy.
type Options struct {
	// Target is the upstream endpoint (moto, the CloudTrail emulator).
	Target string
	// Seed seeds the draws: the same seed and the same request order give
	// the same faults.
	Seed int64
	// Rates are each transient kind's probability per request; their sum
	// is at most 1.
	Rates map[Kind]float64
	// SlowDelay is Slow's wait (0: 2 s).
	SlowDelay time.Duration
	// Permanent failures, matched before any draw.
	Permanent []Permanent
	// Only, when set, limits transient faults to the calls it accepts.
	Only func(Call) bool
	// Script, when set, gives the first requests (that Only accepts)
	// these faults in order ("" for none) before the draws begin.
	Script []Kind
	// MaxFaultsPerCall, when above 0, bounds the transient faults one SDK
	// call draws across its attempts (its Amz-Sdk-Invocation-Id): once it
	// has drawn that many, its next attempts are forwarded untouched. With
	// fewer than the client's attempts, every transient fault is survived
	// whatever the draws.
	MaxFaultsPerCall int
}

// Call identifies a request.
type Call struct {
	// Service is the SigV4 signing name; Operation the API operation.
	Service, Operation string
	// Protocol is "json" (X-Amz-Target), "ec2" (EC2's query protocol) or
	// "query" (the other query-protocol services).
	Protocol string
}

func (c Call) String() string { return c.Service + ":" + c.Operation }

// Entry is one request the proxy handled.
type Entry struct {
	Call  Call
	Fault Kind // "" when forwarded untouched
}

// Proxy is a running fault-injecting reverse proxy.
type Proxy struct {
	// URL is the proxy's endpoint.
	URL string

	o      Options
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	target *url.URL
	client *http.Client

	mu        sync.Mutex
	rng       *rand.Rand
	log       []Entry
	lastToken map[string]string // pagination → the last token answered
	detours   map[string]string // EmptyPage's tokens → the token they stand for
	seq       int
	scripted  int
	perCall   map[string]int // invocation → transient faults drawn
}

// New starts a proxy in front of o.Target.
func New(o Options) (*Proxy, error) {
	target, err := url.Parse(o.Target)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not a URL", o.Target)
	}
	sum := 0.0
	for k, r := range o.Rates {
		if r < 0 {
			return nil, fmt.Errorf("faultproxy: rate of %s is negative", k)
		}
		sum += r
	}
	if sum > 1 {
		return nil, fmt.Errorf("faultproxy: the rates add up to %g, more than 1", sum)
	}
	if o.SlowDelay <= 0 {
		o.SlowDelay = 2 * time.Second
	}
	p := &Proxy{o: o, target: target, rng: rand.New(rand.NewSource(o.Seed)),
		lastToken: map[string]string{}, detours: map[string]string{}, perCall: map[string]int{},
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // moto and the emulator ignore it; SigV4 signed it
		},
		Transport:      p.client.Transport,
		ModifyResponse: p.modify,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Start is New for a test: the proxy closes when the test ends.
func Start(t testing.TB, o Options) *Proxy {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Log returns the requests handled so far, in order.
func (p *Proxy) Log() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Entry(nil), p.log...)
}

// Counts returns how many times each fault was injected.
func (p *Proxy) Counts() map[Kind]int {
	out := map[Kind]int{}
	for _, e := range p.Log() {
		if e.Fault != "" {
			out[e.Fault]++
		}
	}
	return out
}

// ctxKey carries a request's call and fault to ModifyResponse.
type ctxKey struct{}

type reqState struct {
	call  Call
	fault Kind
	// pagination names the request's pagination: the call and its
	// parameters without the token.
	pagination string
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	call := identify(r, body)
	fault := p.draw(call)
	if fault == EmptyPage {
		if _, ok := paginated[call.String()]; !ok || call.Protocol != "json" {
			fault = ""
		}
	}
	if fault == RepeatToken {
		if _, ok := paginated[call.String()]; !ok {
			fault = ""
		}
	}
	if fault != "" && !p.permanent(call) && p.o.MaxFaultsPerCall > 0 {
		if id := r.Header.Get("Amz-Sdk-Invocation-Id"); id != "" {
			p.mu.Lock()
			if p.perCall[id] >= p.o.MaxFaultsPerCall {
				fault = ""
			} else {
				p.perCall[id]++
			}
			p.mu.Unlock()
		}
	}
	body = p.restoreToken(call, body)
	p.mu.Lock()
	p.log = append(p.log, Entry{Call: call, Fault: fault})
	p.seq++
	seq := p.seq
	p.mu.Unlock()

	switch fault {
	case Throttle, Status500, Status503, AccessDenied, NotImplemented:
		writeError(w, call, fault, seq)
		return
	case Reset:
		reset(w)
		return
	case EmptyPage:
		p.emptyPage(w, call, body, seq)
		return
	case Truncate:
		p.truncate(w, r, body)
		return
	case Slow:
		select {
		case <-time.After(p.o.SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	st := reqState{call: call, fault: fault, pagination: pagination(call, body)}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
}

// permanent reports whether a permanent failure matches the call.
func (p *Proxy) permanent(c Call) bool {
	for _, f := range p.o.Permanent {
		if f.Service == c.Service && (f.Operation == "" || f.Operation == c.Operation) {
			return true
		}
	}
	return false
}

// draw picks the request's fault: a permanent one, else at most one
// transient kind by the seeded draw.
func (p *Proxy) draw(c Call) Kind {
	for _, f := range p.o.Permanent {
		if f.Service == c.Service && (f.Operation == "" || f.Operation == c.Operation) {
			return f.Kind
		}
	}
	if p.o.Only != nil && !p.o.Only(c) {
		return ""
	}
	p.mu.Lock()
	x := p.rng.Float64()
	if p.scripted < len(p.o.Script) {
		k := p.o.Script[p.scripted]
		p.scripted++
		p.mu.Unlock()
		return k
	}
	p.mu.Unlock()
	acc := 0.0
	for _, k := range transient {
		acc += p.o.Rates[k]
		if x < acc {
			return k
		}
	}
	return ""
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/[^/]+/([^/]+)/aws4_request`)

// identify names the call: the service from the SigV4 credential scope,
// the operation from X-Amz-Target or the query's Action.
func identify(r *http.Request, body []byte) Call {
	var c Call
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.Service = m[1]
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		c.Protocol = "json"
		c.Operation = target[strings.LastIndex(target, ".")+1:]
		return c
	}
	c.Protocol = "query"
	if c.Service == "ec2" {
		c.Protocol = "ec2"
	}
	if v, err := url.ParseQuery(string(body)); err == nil {
		c.Operation = v.Get("Action")
	}
	if c.Operation == "" {
		c.Operation = r.URL.Query().Get("Action")
	}
	return c
}

// paginated are the JSON operations whose pages the token faults touch,
// with their token member and item list.
var paginated = map[string]struct{ token, items string }{
	"cloudtrail:LookupEvents":               {"NextToken", "Events"},
	"logs:FilterLogEvents":                  {"nextToken", "events"},
	"monitoring:GetMetricData":              {"NextToken", "MetricDataResults"},
	"monitoring:DescribeAlarmHistory":       {"NextToken", "AlarmHistoryItems"},
	"monitoring:DescribeAlarms":             {"NextToken", "MetricAlarms"},
	"ec2:DescribeNetworkInterfaces":         {"nextToken", ""},
	"ec2:DescribeTransitGatewayAttachments": {"nextToken", ""},
}

// modify rewrites a forwarded answer: RepeatToken's token, and every
// answer's token is remembered as the operation's last.
func (p *Proxy) modify(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(ctxKey{}).(reqState)
	pg, ok := paginated[st.call.String()]
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	token, set := readToken(st.call.Protocol, pg.token, body)
	key := st.pagination
	p.mu.Lock()
	prev := p.lastToken[key]
	if token != "" {
		p.lastToken[key] = token
	}
	p.mu.Unlock()
	if st.fault == RepeatToken && token != "" && prev != "" && prev != token {
		body = set(prev)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// readToken returns the answer's pagination token and a function writing
// another one in its place.
func readToken(protocol, member string, body []byte) (string, func(string) []byte) {
	if protocol == "json" {
		var doc map[string]json.RawMessage
		if json.Unmarshal(body, &doc) != nil {
			return "", nil
		}
		var tok string
		json.Unmarshal(doc[member], &tok)
		return tok, func(v string) []byte {
			doc[member], _ = json.Marshal(v)
			out, _ := json.Marshal(doc)
			return out
		}
	}
	re := regexp.MustCompile(`<` + member + `>([^<]*)</` + member + `>`)
	m := re.FindSubmatch(body)
	if m == nil {
		return "", nil
	}
	return string(m[1]), func(v string) []byte {
		return re.ReplaceAll(body, []byte("<"+member+">"+v+"</"+member+">"))
	}
}

var queryToken = regexp.MustCompile(`(?i)(^|&)NextToken=[^&]*`)

// pagination names the pagination a request belongs to: its call and
// parameters without the pagination token.
func pagination(c Call, body []byte) string {
	pg := paginated[c.String()]
	if c.Protocol == "json" {
		var in map[string]json.RawMessage
		if json.Unmarshal(body, &in) == nil {
			delete(in, pg.token)
			body, _ = json.Marshal(in)
		}
	} else {
		body = queryToken.ReplaceAll(body, nil)
	}
	return c.String() + " " + string(body)
}

// emptyPage answers a page without items whose token leads back to the
// page asked for.
func (p *Proxy) emptyPage(w http.ResponseWriter, c Call, body []byte, seq int) {
	pg := paginated[c.String()]
	var in map[string]json.RawMessage
	json.Unmarshal(body, &in)
	var asked string
	json.Unmarshal(in[pg.token], &asked)
	detour := fmt.Sprintf("faultproxy-empty-%d", seq)
	p.mu.Lock()
	p.detours[detour] = asked
	p.mu.Unlock()
	raw, _ := json.Marshal(map[string]any{pg.token: detour, pg.items: []any{}})
	w.Header().Set("Content-Type", jsonContentType(c))
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw)
}

// restoreToken replaces an EmptyPage token in a request by the token it
// stands for (none for the first page).
func (p *Proxy) restoreToken(c Call, body []byte) []byte {
	pg, ok := paginated[c.String()]
	if !ok || c.Protocol != "json" || !bytes.Contains(body, []byte("faultproxy-empty-")) {
		return body
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return body
	}
	var tok string
	json.Unmarshal(in[pg.token], &tok)
	p.mu.Lock()
	orig, found := p.detours[tok]
	p.mu.Unlock()
	if !found {
		return body
	}
	if orig == "" {
		delete(in, pg.token)
	} else {
		in[pg.token], _ = json.Marshal(orig)
	}
	out, _ := json.Marshal(in)
	return out
}

// truncate forwards the request and sends half the answer's body under
// the full Content-Length, then closes the connection.
func (p *Proxy) truncate(w http.ResponseWriter, r *http.Request, body []byte) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target.ResolveReference(&url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}).String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	full, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	resp.Header.Del("Content-Length")
	resp.Header.Del("Transfer-Encoding")
	resp.Header.Write(buf)
	fmt.Fprintf(buf, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(full))
	buf.Write(full[:len(full)/2])
	buf.Flush()
}

// reset closes the client's connection with a TCP RST.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func jsonContentType(c Call) string {
	if c.Service == "monitoring" {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

// iamPrefix is the IAM action prefix of a signing name.
func iamPrefix(service string) string {
	if service == "monitoring" {
		return "cloudwatch"
	}
	return service
}

// errorShape is a fault's HTTP status and error code in a protocol.
func errorShape(c Call, k Kind) (status int, code, msg string) {
	switch k {
	case Throttle:
		switch {
		case c.Protocol == "ec2":
			return 503, "RequestLimitExceeded", "Request limit exceeded."
		case c.Service == "monitoring" || c.Protocol == "query":
			return 400, "Throttling", "Rate exceeded"
		}
		return 400, "ThrottlingException", "Rate exceeded"
	case Status500:
		if c.Protocol == "ec2" {
			return 500, "InternalError", "An internal error has occurred"
		}
		return 500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."
	case Status503:
		if c.Protocol == "ec2" {
			return 503, "Unavailable", "The server is overloaded and can't handle the request."
		}
		return 503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
	case AccessDenied:
		msg = fmt.Sprintf("User: arn:aws:sts::123456789012:assumed-role/vpnaudit/test is not authorized to perform: %s:%s because no identity-based policy allows the %s:%s action",
			iamPrefix(c.Service), c.Operation, iamPrefix(c.Service), c.Operation)
		switch {
		case c.Protocol == "ec2":
			return 403, "UnauthorizedOperation", "You are not authorized to perform this operation. " + msg
		case c.Service == "monitoring" || c.Protocol == "query":
			return 403, "AccessDenied", msg
		}
		return 400, "AccessDeniedException", msg
	case NotImplemented:
		return 501, "NotImplemented", fmt.Sprintf("%s %s is not implemented by this endpoint", c.Service, c.Operation)
	}
	return 500, "InternalFailure", string(k)
}

// writeError answers the fault in the call's protocol: AWS JSON's
// {"__type", "message"} (with CloudWatch's query-compatible
// x-amzn-query-error header), EC2's <Response><Errors>, or the query
// protocol's <ErrorResponse>.
func writeError(w http.ResponseWriter, c Call, k Kind, seq int) {
	status, code, msg := errorShape(c, k)
	reqID := fmt.Sprintf("faultproxy-%08d", seq)
	var raw []byte
	switch c.Protocol {
	case "json":
		w.Header().Set("Content-Type", jsonContentType(c))
		w.Header().Set("X-Amzn-Requestid", reqID)
		if c.Service == "monitoring" {
			kind := "Sender"
			if status >= 500 {
				kind = "Receiver"
			}
			w.Header().Set("X-Amzn-Query-Error", code+";"+kind)
		}
		raw, _ = json.Marshal(map[string]string{"__type": code, "message": msg})
	case "ec2":
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		raw = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, xmlEscape(msg), reqID)
	default:
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		raw = fmt.Appendf(nil, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			kind, code, xmlEscape(msg), reqID)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(status)
	w.Write(raw)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
