// Package audit holds vpnaudit's evidence model: plain Go types (standard library
// only) describing what one investigation of a CloudWatch alarm found — the
// incident, the resources on the affected path, the CloudTrail changes, the
// aggregated flow-log traffic, the metric series and what each source could or
// could not cover.
//
// The model is the contract between the collector (package audit/collect, the
// only place the AWS SDK lives), the correlation engine (package correlate,
// pure) and the renderers (package report). It also carries the pure
// helpers the collector needs before it can ask its next question: turning
// alarm history into episodes and choosing the one meant (incident.go), and
// aggregating flow-log records per interface, peer and minute while they
// stream past (traffic.go), so memory grows with the flows of interest, not
// with the number of records.
//
// Every time in the model is UTC.
package audit
