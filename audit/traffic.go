package audit

import "time"

// Flow classes: what a flow-log record means for the VPN path.
const (
	// FlowIPsec is IKE, NAT-T or ESP between the customer gateway and one of
	// the VPN's tunnel endpoints: the tunnels themselves.
	FlowIPsec = "ipsec"
	// FlowCrossVPN is traffic between the customer side and the AWS side:
	// what the tunnels carry.
	FlowCrossVPN = "cross-vpn"
	// FlowOther is the rest of a scoped interface's traffic (kept per
	// interface, direction and action only, as a baseline of liveness).
	FlowOther = "other"
)

// Flow directions.
const (
	DirEgress     = "egress"      // leaving the interface
	DirIngress    = "ingress"     // arriving at the interface
	DirToAWS      = "to-aws"      // cross-VPN, customer side → AWS side
	DirToCustomer = "to-customer" // cross-VPN, AWS side → customer side
)

// FlowKey identifies one aggregated flow series.
type FlowKey struct {
	Interface string
	Class     string
	Direction string
	// Peer is the remote address for IPsec series (a tunnel endpoint), ""
	// for the aggregated classes.
	Peer   string
	Action string // ACCEPT or REJECT
}

// FlowBucket is the traffic of one series in one minute (by record start).
type FlowBucket struct {
	Start time.Time
	// LastEnd is the latest end time of the bucket's records: when its
	// traffic was last seen.
	LastEnd time.Time
	Records int64
	Packets int64
	Bytes   int64
}

// FlowSeries is one aggregated series, buckets oldest first.
type FlowSeries struct {
	Key     FlowKey
	Buckets []FlowBucket
}

// FlowLog is one flow log that covers a scoped resource.
type FlowLog struct {
	ID              string
	ResourceID      string
	TrafficType     string
	DestinationType string // cloud-watch-logs, s3, kinesis-data-firehose
	Destination     string
	LogGroup        string
	Format          string
	// Interval is the maximum aggregation interval in seconds (60 or 600):
	// the uncertainty of any time read from this log's records.
	Interval int
	// Read says whether vpnaudit could read this log's records.
	Read bool
	// ReadBy names the call that delivered them: "logs:FilterLogEvents",
	// "logs:StartQuery" (Logs Insights), "s3:GetObject" or
	// "athena:StartQueryExecution".
	ReadBy string
}

// InterfaceActivity summarises one interface's flow-log records.
type InterfaceActivity struct {
	Interface string
	FlowLog   string
	Records   int64
	// First and Last are the earliest record start and latest record end.
	First time.Time
	Last  time.Time
	// NoData are the windows reported as NODATA (no traffic at all), merged.
	NoData []Window
	// SkipData are windows whose records were skipped by AWS (capacity or
	// internal error), merged: traffic there is unknown, not absent.
	SkipData []Window
}

// Malformed is one record that could not be parsed.
type Malformed struct {
	Where  string // log group/stream and event, or file and line
	Reason string
}

// Traffic is the aggregated flow-log evidence.
type Traffic struct {
	FlowLogs   []FlowLog
	Series     []FlowSeries
	Interfaces []InterfaceActivity
	// Counts over every record read.
	Records   int64
	NoData    int64
	SkipData  int64
	Unrelated int64 // parsed, but on an interface outside the scope
	// MalformedCount counts records that did not parse; Malformed keeps the
	// first ones with where and why.
	MalformedCount int64
	Malformed      []Malformed
}
