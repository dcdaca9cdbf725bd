package flowlog

import (
	"net/netip"
	"time"
)

// Record is one parsed flow-log record. It holds a copy of the line, so it stays
// valid after the caller reuses its buffer, until the Record is parsed into
// again. A Record is reused across lines to avoid allocations; copy out what
// must outlive the next parse.
//
// Every accessor reports whether the field is present: false when the format
// has no such field or the record has "-" in it, which AWS writes when a value
// does not apply (for example the addresses of a NODATA record).
//
// Accessors that return a string allocate it; [Record.Value] returns the bytes
// without allocating.
type Record struct {
	f     *formatData
	buf   []byte       // the record's text
	spans []span       // where each field's value is in buf
	nums  []int64      // numeric fields' values; -1 when absent
	addrs []netip.Addr // address fields' values; the zero Addr when absent
}

type span struct{ start, end int }

// Action is the value of the action field.
type Action string

// Actions written by AWS.
const (
	ActionAccept Action = "ACCEPT"
	ActionReject Action = "REJECT"
)

// LogStatus is the value of the log-status field.
type LogStatus string

// Log statuses written by AWS.
const (
	LogStatusOK       LogStatus = "OK"       // data is logging normally
	LogStatusNoData   LogStatus = "NODATA"   // no traffic during the aggregation interval
	LogStatusSkipData LogStatus = "SKIPDATA" // some records were skipped (capacity or internal error)
)

// FlowDirection is the value of the flow-direction field (version 5).
type FlowDirection string

// Flow directions written by AWS, relative to the interface where traffic is captured.
const (
	FlowIngress FlowDirection = "ingress"
	FlowEgress  FlowDirection = "egress"
)

// Format returns the format the record was parsed with.
func (r *Record) Format() Format {
	if r.f == nil {
		return Format{}
	}
	return Format{r.f}
}

// Raw returns the record's text (for a JSON-wrapped line, the unwrapped
// message). The slice is owned by the Record.
func (r *Record) Raw() []byte { return r.buf }

// String returns the record's text.
func (r *Record) String() string { return string(r.buf) }

// Len returns the number of fields.
func (r *Record) Len() int { return len(r.spans) }

// Value returns the text of the i-th field (from 0) without allocating, and
// false if it is "-" or i is out of range. The slice is owned by the Record.
func (r *Record) Value(i int) ([]byte, bool) {
	if i < 0 || i >= len(r.spans) {
		return nil, false
	}
	b := r.buf[r.spans[i].start:r.spans[i].end]
	if isDash(b) {
		return nil, false
	}
	return b, true
}

// Get returns the text of the named field, and false if the format has no such
// field or its value is "-".
func (r *Record) Get(name string) (string, bool) {
	if r.f == nil {
		return "", false
	}
	i, ok := r.f.index[name]
	if !ok {
		return "", false
	}
	b, ok := r.Value(i)
	return string(b), ok
}

// Int returns the value of the named numeric field, and false if the format has
// no such numeric field or its value is "-".
func (r *Record) Int(name string) (int64, bool) {
	if r.f == nil {
		return 0, false
	}
	i, ok := r.f.index[name]
	if !ok || r.f.kinds[i] != kindNumber || r.nums[i] < 0 {
		return 0, false
	}
	return r.nums[i], true
}

func isDash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

func (r *Record) pos(id fieldID) int {
	if r.f == nil {
		return -1
	}
	return int(r.f.pos[id])
}

func (r *Record) bytesOf(id fieldID) ([]byte, bool) {
	i := r.pos(id)
	if i < 0 {
		return nil, false
	}
	return r.Value(i)
}

func (r *Record) str(id fieldID) (string, bool) {
	b, ok := r.bytesOf(id)
	return string(b), ok
}

func (r *Record) num(id fieldID) (int64, bool) {
	i := r.pos(id)
	if i < 0 || r.nums[i] < 0 {
		return 0, false
	}
	return r.nums[i], true
}

func (r *Record) addr(id fieldID) (netip.Addr, bool) {
	i := r.pos(id)
	if i < 0 || !r.addrs[i].IsValid() {
		return netip.Addr{}, false
	}
	return r.addrs[i], true
}

// epochMillisThreshold separates epoch seconds from epoch milliseconds: 1e11
// seconds is in the year 5138, while 1e11 milliseconds is in 1973. Some
// exports write start and end in milliseconds.
const epochMillisThreshold = 1e11

func (r *Record) time(id fieldID) (time.Time, bool) {
	v, ok := r.num(id)
	if !ok {
		return time.Time{}, false
	}
	if v > epochMillisThreshold {
		return time.UnixMilli(v).UTC(), true
	}
	return time.Unix(v, 0).UTC(), true
}

// Version returns the version field: the flow-log version of the record.
func (r *Record) Version() (int, bool) { v, ok := r.num(fieldVersion); return int(v), ok }

// AccountID returns the account-id field. It is text: account ids keep their
// leading zeros, and AWS writes "unknown" for some AWS-managed interfaces.
func (r *Record) AccountID() (string, bool) { return r.str(fieldAccountID) }

// InterfaceID returns the interface-id field (eni-...).
func (r *Record) InterfaceID() (string, bool) { return r.str(fieldInterfaceID) }

// VpcID returns the vpc-id field.
func (r *Record) VpcID() (string, bool) { return r.str(fieldVpcID) }

// SubnetID returns the subnet-id field.
func (r *Record) SubnetID() (string, bool) { return r.str(fieldSubnetID) }

// InstanceID returns the instance-id field.
func (r *Record) InstanceID() (string, bool) { return r.str(fieldInstanceID) }

// SrcAddr returns the srcaddr field.
func (r *Record) SrcAddr() (netip.Addr, bool) { return r.addr(fieldSrcAddr) }

// DstAddr returns the dstaddr field.
func (r *Record) DstAddr() (netip.Addr, bool) { return r.addr(fieldDstAddr) }

// PktSrcAddr returns the pkt-srcaddr field: the packet-level (original) source,
// which differs from srcaddr for traffic through a NAT gateway or a transit
// gateway.
func (r *Record) PktSrcAddr() (netip.Addr, bool) { return r.addr(fieldPktSrcAddr) }

// PktDstAddr returns the pkt-dstaddr field: the packet-level (original) destination.
func (r *Record) PktDstAddr() (netip.Addr, bool) { return r.addr(fieldPktDstAddr) }

// SrcPort returns the srcport field. ICMP records have port 0.
func (r *Record) SrcPort() (int, bool) { v, ok := r.num(fieldSrcPort); return int(v), ok }

// DstPort returns the dstport field. ICMP records have port 0.
func (r *Record) DstPort() (int, bool) { v, ok := r.num(fieldDstPort); return int(v), ok }

// Protocol returns the protocol field, an IANA protocol number (6 TCP, 17 UDP, 1 ICMP).
func (r *Record) Protocol() (int, bool) { v, ok := r.num(fieldProtocol); return int(v), ok }

// Packets returns the packets field.
func (r *Record) Packets() (int64, bool) { return r.num(fieldPackets) }

// Bytes returns the bytes field.
func (r *Record) Bytes() (int64, bool) { return r.num(fieldBytes) }

// TCPFlags returns the tcp-flags field: the OR of the TCP flags seen during the
// aggregation interval (FIN 1, SYN 2, RST 4, SYN-ACK 18).
func (r *Record) TCPFlags() (int, bool) { v, ok := r.num(fieldTCPFlags); return int(v), ok }

// Start returns the start field in UTC. Values above 1e11 are read as epoch
// milliseconds, others as epoch seconds.
func (r *Record) Start() (time.Time, bool) { return r.time(fieldStart) }

// End returns the end field in UTC, read like [Record.Start].
func (r *Record) End() (time.Time, bool) { return r.time(fieldEnd) }

// Action returns the action field.
func (r *Record) Action() (Action, bool) {
	b, ok := r.bytesOf(fieldAction)
	if !ok {
		return "", false
	}
	switch string(b) { // does not allocate
	case string(ActionAccept):
		return ActionAccept, true
	case string(ActionReject):
		return ActionReject, true
	}
	return Action(b), true
}

// LogStatus returns the log-status field.
func (r *Record) LogStatus() (LogStatus, bool) {
	b, ok := r.bytesOf(fieldLogStatus)
	if !ok {
		return "", false
	}
	switch string(b) {
	case string(LogStatusOK):
		return LogStatusOK, true
	case string(LogStatusNoData):
		return LogStatusNoData, true
	case string(LogStatusSkipData):
		return LogStatusSkipData, true
	}
	return LogStatus(b), true
}

// FlowDirection returns the flow-direction field (version 5).
func (r *Record) FlowDirection() (FlowDirection, bool) {
	b, ok := r.bytesOf(fieldFlowDirection)
	if !ok {
		return "", false
	}
	switch string(b) {
	case string(FlowIngress):
		return FlowIngress, true
	case string(FlowEgress):
		return FlowEgress, true
	}
	return FlowDirection(b), true
}
