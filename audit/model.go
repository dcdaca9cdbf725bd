package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Evidence is everything collected for one investigation.
type Evidence struct {
	Account string
	Region  string
	// CollectedAt is when the evidence was gathered: the wall clock for a live
	// run, the bundle's RecordedAt for a replay.
	CollectedAt time.Time
	// Window is the interval the changes, traffic and metrics were read for.
	Window   Window
	Incident Incident
	Scope    Scope
	// Changes are CloudTrail management events in the window, oldest first.
	Changes  []Change
	Traffic  Traffic
	Metrics  []Series
	Coverage []Coverage
	Calls    []Call
	// Interrupted says why the collection stopped before every source was
	// read ("interrupted by Ctrl-C", "stopped at the --timeout of 2m0s");
	// empty when it finished. The evidence is then partial: each source's
	// coverage says how far it got.
	Interrupted string
}

// Window is a closed time interval.
type Window struct {
	Start time.Time
	End   time.Time
}

// Contains reports whether t lies in the window, bounds included.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && !t.After(w.End) }

// Dimension is a CloudWatch metric dimension.
type Dimension struct {
	Name  string
	Value string
}

// MetricID identifies one CloudWatch metric series as asked for.
type MetricID struct {
	Namespace  string
	Name       string
	Dimensions []Dimension
	Stat       string
	Period     int // seconds
}

// Dimension returns the value of the named dimension, or "".
func (m MetricID) Dimension(name string) string {
	for _, d := range m.Dimensions {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// String renders the metric as `AWS/VPN TunnelState{VpnId=vpn-1} Maximum/60s`.
func (m MetricID) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", m.Namespace, m.Name)
	if len(m.Dimensions) > 0 {
		b.WriteByte('{')
		for i, d := range m.Dimensions {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%s", d.Name, d.Value)
		}
		b.WriteByte('}')
	}
	if m.Stat != "" {
		fmt.Fprintf(&b, " %s/%ds", m.Stat, m.Period)
	}
	return b.String()
}

// SameMetric reports whether a and b name the same metric (namespace, name and
// dimension set, in any order), ignoring statistic and period.
func SameMetric(a, b MetricID) bool {
	if a.Namespace != b.Namespace || a.Name != b.Name || len(a.Dimensions) != len(b.Dimensions) {
		return false
	}
	for _, d := range a.Dimensions {
		if b.Dimension(d.Name) != d.Value {
			return false
		}
	}
	return true
}

// Point is one metric datapoint; Time is the start of its period.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is one metric's datapoints, oldest first.
type Series struct {
	ID MetricID
	// Subject is the resource the series describes (vpn-…, a tunnel's outside
	// IP, i-…, tgw-…).
	Subject string
	// Label says in words what the series is ("TunnelState of tunnel 52.1.2.3").
	Label  string
	Points []Point
}

// Alarm is a CloudWatch metric alarm's definition and current state.
type Alarm struct {
	Name              string
	ARN               string
	Description       string
	Metric            MetricID
	Threshold         float64
	Comparison        string // GreaterThanThreshold, LessThanThreshold, …
	EvaluationPeriods int
	DatapointsToAlarm int
	TreatMissingData  string
	State             string
	StateReason       string
	StateUpdated      time.Time
	Actions           []string
}

// Breaches reports whether value v breaches the alarm's threshold.
func (a Alarm) Breaches(v float64) bool {
	switch a.Comparison {
	case "GreaterThanOrEqualToThreshold":
		return v >= a.Threshold
	case "GreaterThanThreshold":
		return v > a.Threshold
	case "LessThanThreshold":
		return v < a.Threshold
	case "LessThanOrEqualToThreshold":
		return v <= a.Threshold
	}
	return false
}

// ComparisonSymbol is the comparison as an operator ("<", ">=", …).
func (a Alarm) ComparisonSymbol() string {
	switch a.Comparison {
	case "GreaterThanOrEqualToThreshold":
		return ">="
	case "GreaterThanThreshold":
		return ">"
	case "LessThanThreshold":
		return "<"
	case "LessThanOrEqualToThreshold":
		return "<="
	}
	return a.Comparison
}

// Transition is one alarm state change.
type Transition struct {
	Time   time.Time
	From   string
	To     string
	Reason string
	// Evaluated are the datapoints the alarm evaluated for this transition
	// (stateReasonData.evaluatedDatapoints), oldest first.
	Evaluated []Point
	// Source names where the transition was read (DescribeAlarmHistory, or the
	// alarm's StateReasonData when no history was available).
	Source string
}

// Episode is one OK→ALARM transition and, when seen, the return to OK.
type Episode struct {
	FiredAt time.Time
	// BreachStartedAt is the timestamp of the first breaching datapoint of the
	// run that fired the alarm: the breach began within one period after it.
	BreachStartedAt time.Time
	// BreachBasis says how BreachStartedAt was determined.
	BreachBasis string
	RecoveredAt *time.Time
	Reason      string
	Evaluated   []Point
	Source      string
}

// Incident is the alarm and the episode under investigation.
type Incident struct {
	Alarm   Alarm
	Episode Episode
	// Episodes are all OK→ALARM episodes seen, oldest first.
	Episodes []Episode
	// Selection says which episode was chosen and why.
	Selection string
}

// Resource types used in Scope.
const (
	TypeVPN            = "vpn-connection"
	TypeTunnel         = "vpn-tunnel"
	TypeCustomerGW     = "customer-gateway"
	TypeVPNGateway     = "vpn-gateway"
	TypeElasticIP      = "elastic-ip"
	TypeInterface      = "network-interface"
	TypeInstance       = "instance"
	TypeSecurityGroup  = "security-group"
	TypeSubnet         = "subnet"
	TypeVPC            = "vpc"
	TypeRouteTable     = "route-table"
	TypeNetworkACL     = "network-acl"
	TypeTGW            = "transit-gateway"
	TypeTGWAttachment  = "transit-gateway-attachment"
	TypeTGWRouteTable  = "transit-gateway-route-table"
	TypeAutoScaling    = "autoscaling-group"
	TypeLogGroup       = "log-group"
	TypeCloudWatchAlrm = "alarm"
)

// Sides of the VPN a resource sits on.
const (
	SideVPN      = "vpn"              // the VPN connection and its tunnels
	SideCustomer = "customer-gateway" // the customer gateway and what hosts it
	SideAWS      = "aws"              // Transit Gateway / VGW and the VPCs behind it
)

// Resource is one resource on the affected path.
type Resource struct {
	ID   string
	Type string
	Name string // the Name tag, if any
	Side string
	// Relation says how the resource relates to the alarm, in words
	// ("holds the customer gateway's Elastic IP 54.250.33.44").
	Relation string
	// Via says how it was found ("DescribeAddresses public-ip=54.250.33.44").
	Via string
	// Parent is the ID of the resource it was reached from ("" for the
	// alarm's own dimensions).
	Parent string
	State  string
	// Attrs holds type-specific facts (addresses, CIDRs, ASG name, …) with
	// lower-case dash-separated keys.
	Attrs map[string]string
}

// Tunnel is one VPN tunnel and its telemetry.
type Tunnel struct {
	VpnID            string
	OutsideIP        string
	InsideCIDR       string
	Status           string // UP / DOWN
	StatusMessage    string
	LastStatusChange time.Time
	AcceptedRoutes   int
}

// Scope is what is on the affected path.
type Scope struct {
	Resources []Resource
	Tunnels   []Tunnel
	// CustomerSide and AWSSide hold the CIDRs (or /32 and /128 host prefixes)
	// on either side of the VPN; traffic between them crosses the VPN.
	CustomerSide []string
	AWSSide      []string
	// Appliances are the instances hosting the customer gateway.
	Appliances []string
	// ApplianceInterfaces are their ENIs with private addresses.
	ApplianceInterfaces []Interface
}

// Interface is an ENI and its private addresses.
type Interface struct {
	ID        string
	Addresses []string
	VpcID     string
	SubnetID  string
	Instance  string
}

// Find returns the scoped resource with that ID.
func (s Scope) Find(id string) (Resource, bool) {
	for _, r := range s.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// Add appends r unless a resource with its ID is already in scope; it
// reports whether r was added.
func (s *Scope) Add(r Resource) bool {
	if r.ID == "" {
		return false
	}
	if _, ok := s.Find(r.ID); ok {
		return false
	}
	s.Resources = append(s.Resources, r)
	return true
}

// Actor is who made an API call.
type Actor struct {
	// Type is CloudTrail's userIdentity.type (IAMUser, AssumedRole, Root,
	// AWSService, FederatedUser, IdentityCenterUser, AWSAccount, Unknown).
	Type string
	// Name is how a person refers to the actor: "alice",
	// "ci-deployer/gha-8812" (role/session), "root", "autoscaling.amazonaws.com".
	Name        string
	ARN         string
	AccountID   string
	AccessKeyID string
	// InvokedBy is the AWS service that made the call for the principal.
	InvokedBy string
}

// Service reports whether an AWS service made the call itself.
func (a Actor) Service() bool { return a.Type == "AWSService" }

// Change is one CloudTrail management event.
type Change struct {
	EventID     string
	EventName   string
	EventSource string
	Time        time.Time
	Region      string
	ReadOnly    bool
	Actor       Actor
	SourceIP    string
	UserAgent   string
	// Via classifies the user agent: console, cli, sdk, terraform,
	// cloudformation, aws-service, other.
	Via          string
	ErrorCode    string
	ErrorMessage string
	// Resources are the IDs, names and addresses the call touched, from the
	// event's resources list and its request parameters.
	Resources []string
	// Request and Response are requestParameters and responseElements as
	// compact JSON ("" when null).
	Request  string
	Response string
}

// Failed reports whether the call returned an error. Some failures (a
// console sign-in) carry only an error message.
func (c Change) Failed() bool { return c.ErrorCode != "" || c.ErrorMessage != "" }

// Touches reports whether the change names id.
func (c Change) Touches(id string) bool {
	for _, r := range c.Resources {
		if r == id {
			return true
		}
	}
	return false
}

// Coverage statuses.
const (
	CoverageOK      = "ok"
	CoveragePartial = "partial"
	CoverageMissing = "missing"
)

// Coverage says what one source could and could not cover.
type Coverage struct {
	Source string
	Status string
	Detail string
}

// Call counts the API calls made (or replayed) for one operation.
type Call struct {
	Service   string
	Operation string
	Count     int
}

// SortCalls orders calls by service, then operation.
func SortCalls(calls []Call) {
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].Service != calls[j].Service {
			return calls[i].Service < calls[j].Service
		}
		return calls[i].Operation < calls[j].Operation
	})
}
