// Package flowlog reads Amazon VPC and Transit Gateway flow-log records.
//
// # Model
//
// A flow log writes one record per line: space-separated values whose meaning
// depends on the flow log's LogFormat (as returned by DescribeFlowLogs, for
// example "${version} ${account-id} ${interface-id} ..."). A [Format] is that
// ordered list of field names. [ParseFormat] accepts both the "${name}" form and
// bare names; [DefaultFormat] is the version-2 default used when a flow log has
// no custom format. Every field of VPC flow logs versions 2 to 8 and of Transit
// Gateway flow logs is known, and a Format knows which fields are numbers.
// Unknown names that look like field names are accepted as text fields, so a
// format that uses a field introduced after this package was written still
// parses.
//
// A [Record] is one parsed line. It keeps a copy of the line and the position of
// every value, so parsing does not allocate per field; numbers and IP addresses
// are decoded and validated while parsing. Typed accessors such as
// [Record.SrcAddr], [Record.Packets] or [Record.Start] return the value and
// whether it is present: a "-" in the record (AWS's mark for "not applicable")
// is reported as absent, never as zero. [Record.Get] returns any field's text.
// A [Parser] parses lines of one Format into a reused Record.
//
// # Streams
//
// A [Reader] reads records from a stream line by line without holding the
// input in memory. It gunzips input that starts with the gzip magic bytes,
// skips blank lines, unwraps lines that are JSON objects with a "message" string
// (as CloudWatch Logs exports and log forwarders write them), and treats a line
// made of field names (the header line of a flow-log object delivered to S3) as
// the format of the lines after it. A line that cannot be parsed is never
// dropped silently: the Reader counts it, remembers its line number and the
// reason (up to a cap, [DefaultMaxErrors]), and can report every one to a
// callback. A line longer than the limit ([DefaultMaxLineBytes]) is such a
// malformed line, not a fatal error.
//
// # JSON
//
// [Record.AppendJSON] writes a record as one JSON object whose keys are the AWS
// field names in format order; numeric fields are JSON numbers, other fields
// strings, and "-" is null. [Convert] is the body of the "vpnaudit flows"
// command: it turns inputs into JSON lines and reports every malformed line as
// "NAME:LINE: reason".
package flowlog
