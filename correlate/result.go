package correlate

import (
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// Verdict statuses and confidences.
const (
	StatusRootCause    = "root_cause"
	StatusInconclusive = "inconclusive"

	High   = "high"
	Medium = "medium"
	Low    = "low"
)

// Timeline kinds and roles.
const (
	KindChange  = "change"
	KindTraffic = "traffic"
	KindMetric  = "metric"
	KindAlarm   = "alarm"
	KindState   = "state"

	RoleCause   = "cause"
	RoleEffect  = "effect"
	RoleContext = "context"
)

// Result is one correlated investigation: everything every renderer needs.
type Result struct {
	Evidence   *audit.Evidence
	Impact     Impact
	Verdict    Verdict
	Hypotheses []Hypothesis
	Timeline   []Entry
	Gaps       []FlowGap
	Rejects    []RejectOnset
	Silences   []Silence
	Shifts     []Shift
	// Unrelated counts the window's changes that touch nothing on the path.
	Unrelated int
}

// Impact is the incident's time frame.
type Impact struct {
	BreachStartedAt time.Time
	FiredAt         time.Time
	RecoveredAt     *time.Time
	// Duration runs from breach start to recovery, or to the collection
	// time when the alarm had not recovered (Ongoing).
	Duration time.Duration
	Ongoing  bool
	// TimeToDetect runs from breach start to the alarm.
	TimeToDetect time.Duration
}

// Verdict is the answer.
type Verdict struct {
	Status     string
	Confidence string
	Summary    string
	Cause      *Cause
	// Chain links the cause to the alarm step by step.
	Chain []string
	// ConfidenceWhy says what set the confidence.
	ConfidenceWhy []string
	// Recommendations are follow-ups that fit the cause's class (or the
	// absence of one), for the postmortem's action items.
	Recommendations []string
}

// Cause is the root cause when there is one.
type Cause struct {
	Kind      string // api_call
	Change    audit.Change
	Mechanism string
	// Class groups causes for recommendations: appliance-stopped,
	// appliance-changed, address, security-group, network-acl, route,
	// tgw-route, vpn, autoscaling, other.
	Class string
	// Targets are the path's resources the call touched.
	Targets []audit.Resource
	// Effects are changes made by AWS services as a consequence (an Auto
	// Scaling termination after a desired-capacity change).
	Effects []audit.Change
}

// Hypothesis is one candidate cause, scored.
type Hypothesis struct {
	Rank      int
	Change    audit.Change
	Score     float64
	Mechanism string
	Targets   []audit.Resource
	// Relation, Timing and Corroboration are the score's factors (0–1).
	Relation      float64
	Timing        float64
	Corroboration float64
	Why           []string
	WhyNot        []string
}

// Entry is one timeline line.
type Entry struct {
	Time      time.Time
	Kind      string
	Role      string
	Summary   string
	Resources []string
	Source    string
	EventID   string
}

// FlowGap is a flow series that went quiet around the breach.
type FlowGap struct {
	Key audit.FlowKey
	// LastSeen is the end of the last minute with traffic; the traffic
	// stopped within Uncertainty before it (the flow log's aggregation
	// interval).
	LastSeen    time.Time
	Uncertainty time.Duration
	ResumedAt   *time.Time
	// BaselinePerMin is the records per minute before the gap.
	BaselinePerMin float64
	// OneWay says the opposite direction on the interface went on: traffic
	// was sent and no longer answered.
	OneWay  bool
	FlowLog string
	// LogGroup is where the records live (a log group, or an S3
	// destination); Source names the call that read them (the timeline's
	// source).
	LogGroup string
	Source   string
}

// RejectOnset is REJECT traffic that appeared around the breach.
type RejectOnset struct {
	Key      audit.FlowKey
	FirstAt  time.Time
	Records  int64
	LogGroup string
	Source   string
}

// Silence is an interface that reported NODATA (no traffic at all).
type Silence struct {
	Interface string
	From      time.Time
	To        time.Time
	LogGroup  string
	Source    string
}

// Shift is a level shift in a metric series.
type Shift struct {
	Series  audit.MetricID
	Subject string
	Label   string
	// At is the first datapoint at the new level (or, for Stopped, the
	// first missing one).
	At     time.Time
	Before float64
	After  float64
	// Direction is "drop" or "rise"; Stopped means the series stopped
	// reporting (EC2 does not publish metrics for a stopped instance).
	Direction string
	Stopped   bool
}
