package flowlog_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// addrEqual lets cmp compare netip.Addr values.
var addrEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// Typed is what a record's typed accessors return; a nil pointer is a field
// the accessor reports as absent.
type Typed struct {
	Version                     *int
	AccountID, InterfaceID      *string
	SrcAddr, DstAddr            *netip.Addr
	PktSrcAddr, PktDstAddr      *netip.Addr
	SrcPort, DstPort            *int
	Protocol, TCPFlags          *int
	Packets, Bytes              *int64
	Start, End                  *time.Time
	Action                      *flowlog.Action
	LogStatus                   *flowlog.LogStatus
	FlowDirection               *flowlog.FlowDirection
	VpcID, SubnetID, InstanceID *string
}

func opt[T any](v T, ok bool) *T {
	if !ok {
		return nil
	}
	return &v
}

func p[T any](v T) *T { return &v }

func unix(s int64) *time.Time { return p(time.Unix(s, 0).UTC()) }

func addr(s string) *netip.Addr { return p(netip.MustParseAddr(s)) }

// TypedOf collects the typed accessors of r.
func TypedOf(r *flowlog.Record) Typed {
	return Typed{
		Version:       opt(r.Version()),
		AccountID:     opt(r.AccountID()),
		InterfaceID:   opt(r.InterfaceID()),
		SrcAddr:       opt(r.SrcAddr()),
		DstAddr:       opt(r.DstAddr()),
		PktSrcAddr:    opt(r.PktSrcAddr()),
		PktDstAddr:    opt(r.PktDstAddr()),
		SrcPort:       opt(r.SrcPort()),
		DstPort:       opt(r.DstPort()),
		Protocol:      opt(r.Protocol()),
		TCPFlags:      opt(r.TCPFlags()),
		Packets:       opt(r.Packets()),
		Bytes:         opt(r.Bytes()),
		Start:         opt(r.Start()),
		End:           opt(r.End()),
		Action:        opt(r.Action()),
		LogStatus:     opt(r.LogStatus()),
		FlowDirection: opt(r.FlowDirection()),
		VpcID:         opt(r.VpcID()),
		SubnetID:      opt(r.SubnetID()),
		InstanceID:    opt(r.InstanceID()),
	}
}

// FieldsOf returns every present field of r by name, read with Get.
func FieldsOf(r *flowlog.Record) map[string]string {
	m := map[string]string{}
	for _, name := range r.Format().Fields() {
		if v, ok := r.Get(name); ok {
			m[name] = v
		}
	}
	return m
}

func mustFormat(t testing.TB, s string) flowlog.Format {
	t.Helper()
	f, err := flowlog.ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParse(t *testing.T) {
	v3 := "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"
	tests := []struct {
		name   string
		format string // "" is the default format
		line   string
		want   Typed
		fields map[string]string // if set, also compare FieldsOf
	}{
		{
			name: "v2 accept",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1235b8ca123456789"),
				SrcAddr: addr("172.31.16.139"), DstAddr: addr("172.31.16.21"), SrcPort: p(20641), DstPort: p(22),
				Protocol: p(6), Packets: p(int64(20)), Bytes: p(int64(4249)), Start: unix(1418530010), End: unix(1418530070),
				Action: p(flowlog.ActionAccept), LogStatus: p(flowlog.LogStatusOK),
			},
			fields: map[string]string{
				"version": "2", "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789",
				"srcaddr": "172.31.16.139", "dstaddr": "172.31.16.21", "srcport": "20641", "dstport": "22",
				"protocol": "6", "packets": "20", "bytes": "4249", "start": "1418530010", "end": "1418530070",
				"action": "ACCEPT", "log-status": "OK",
			},
		},
		{
			name: "v2 reject",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1235b8ca123456789"),
				SrcAddr: addr("172.31.9.69"), DstAddr: addr("172.31.9.12"), SrcPort: p(49761), DstPort: p(3389),
				Protocol: p(6), Packets: p(int64(20)), Bytes: p(int64(4249)), Start: unix(1418530010), End: unix(1418530070),
				Action: p(flowlog.ActionReject), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name: "NODATA: dashes are absent, not zero",
			line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1235b8ca123456789"),
				Start: unix(1431280876), End: unix(1431280934), LogStatus: p(flowlog.LogStatusNoData),
			},
			fields: map[string]string{
				"version": "2", "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789",
				"start": "1431280876", "end": "1431280934", "log-status": "NODATA",
			},
		},
		{
			name: "SKIPDATA",
			line: "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-11111111aaaaaaaaa"),
				Start: unix(1431280876), End: unix(1431280934), LogStatus: p(flowlog.LogStatusSkipData),
			},
		},
		{
			name: "IPv6",
			line: "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1235b8ca123456789"),
				SrcAddr: addr("2001:db8:1234:a100:8d6e:3477:df66:f105"), DstAddr: addr("2001:db8:1234:a102:3304:8879:34cf:4071"),
				SrcPort: p(34892), DstPort: p(22), Protocol: p(6), Packets: p(int64(54)), Bytes: p(int64(8855)),
				Start: unix(1477913708), End: unix(1477913820), Action: p(flowlog.ActionAccept), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name: "ICMP: ports are 0, present",
			line: "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1235b8ca123456789"),
				SrcAddr: addr("203.0.113.12"), DstAddr: addr("172.31.16.139"), SrcPort: p(0), DstPort: p(0),
				Protocol: p(1), Packets: p(int64(4)), Bytes: p(int64(336)),
				Start: unix(1432917027), End: unix(1432917142), Action: p(flowlog.ActionAccept), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name: "millisecond timestamps",
			line: "2 123456789010 eni-4b118871 - - - - - - - 1512564058000 1512564059000 - SKIPDATA",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-4b118871"),
				Start: p(time.Date(2017, 12, 6, 12, 40, 58, 0, time.UTC)), End: p(time.Date(2017, 12, 6, 12, 40, 59, 0, time.UTC)),
				LogStatus: p(flowlog.LogStatusSkipData),
			},
		},
		{
			name: "seconds below the millisecond threshold (1975)",
			line: "5 64111117617 eni-069xxxxxb7a490 89.160.20.156 10.200.0.0 50041 33004 17 52 1 164000066 1640000297 REJECT OK",
			want: Typed{
				Version: p(5), AccountID: p("64111117617"), InterfaceID: p("eni-069xxxxxb7a490"),
				SrcAddr: addr("89.160.20.156"), DstAddr: addr("10.200.0.0"), SrcPort: p(50041), DstPort: p(33004),
				Protocol: p(17), Packets: p(int64(52)), Bytes: p(int64(1)),
				Start: p(time.Date(1975, 3, 14, 3, 34, 26, 0, time.UTC)), End: p(time.Date(2021, 12, 20, 11, 38, 17, 0, time.UTC)),
				Action: p(flowlog.ActionReject), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name:   "custom v3 order with a double space",
			format: v3,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK",
			want: Typed{
				Version: p(3), VpcID: p("vpc-abcdefab012345678"), SubnetID: p("subnet-aaaaaaaa012345678"), InstanceID: p("i-01234567890123456"),
				InterfaceID: p("eni-1235b8ca123456789"), AccountID: p("123456789010"),
				SrcAddr: addr("10.0.0.62"), DstAddr: addr("52.213.180.42"), SrcPort: p(5001), DstPort: p(43638),
				PktSrcAddr: addr("10.0.0.62"), PktDstAddr: addr("52.213.180.42"), Protocol: p(6),
				Bytes: p(int64(967)), Packets: p(int64(14)), Start: unix(1566933133), End: unix(1566933193),
				Action: p(flowlog.ActionAccept), TCPFlags: p(19), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name:   "custom NAT gateway fields",
			format: "${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}",
			line:   "- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.1.5 203.0.113.5",
			want: Typed{
				InterfaceID: p("eni-1235b8ca123456789"), SrcAddr: addr("10.0.0.220"), DstAddr: addr("203.0.113.5"),
				PktSrcAddr: addr("10.0.1.5"), PktDstAddr: addr("203.0.113.5"),
			},
			fields: map[string]string{
				"interface-id": "eni-1235b8ca123456789", "srcaddr": "10.0.0.220", "dstaddr": "203.0.113.5",
				"pkt-srcaddr": "10.0.1.5", "pkt-dstaddr": "203.0.113.5",
			},
		},
		{
			name:   "v5 flow direction and unknown values kept",
			format: "version flow-direction traffic-path action log-status",
			line:   "5 egress 8 DENY PARTIAL",
			want: Typed{
				Version: p(5), FlowDirection: p(flowlog.FlowEgress), Action: p(flowlog.Action("DENY")), LogStatus: p(flowlog.LogStatus("PARTIAL")),
			},
			fields: map[string]string{"version": "5", "flow-direction": "egress", "traffic-path": "8", "action": "DENY", "log-status": "PARTIAL"},
		},
		{
			name:   "account id keeps leading zeros and 'unknown'",
			format: "account-id tgw-src-vpc-account-id",
			line:   "000000000000 unknown",
			want:   Typed{AccountID: p("000000000000")},
			fields: map[string]string{"account-id": "000000000000", "tgw-src-vpc-account-id": "unknown"},
		},
		{
			name: "CRLF, tabs and surrounding spaces",
			line: "  2\t123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK\r\n",
			want: Typed{
				Version: p(2), AccountID: p("123456789010"), InterfaceID: p("eni-1"), SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"),
				SrcPort: p(1), DstPort: p(2), Protocol: p(6), Packets: p(int64(3)), Bytes: p(int64(4)), Start: unix(5), End: unix(6),
				Action: p(flowlog.ActionAccept), LogStatus: p(flowlog.LogStatusOK),
			},
		},
		{
			name: "IPv4-mapped IPv6 and max values",
			line: "2 1 eni-1 ::ffff:10.0.0.1 ::1 65535 0 255 9223372036854775807 0 1 2 ACCEPT OK",
			want: Typed{
				Version: p(2), AccountID: p("1"), InterfaceID: p("eni-1"), SrcAddr: addr("::ffff:10.0.0.1"), DstAddr: addr("::1"),
				SrcPort: p(65535), DstPort: p(0), Protocol: p(255), Packets: p(int64(9223372036854775807)), Bytes: p(int64(0)),
				Start: unix(1), End: unix(2), Action: p(flowlog.ActionAccept), LogStatus: p(flowlog.LogStatusOK),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowlog.DefaultFormat
			if tt.format != "" {
				f = mustFormat(t, tt.format)
			}
			var rec flowlog.Record
			if err := flowlog.NewParser(f).Parse([]byte(tt.line), &rec); err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			if diff := cmp.Diff(tt.want, TypedOf(&rec), addrEqual); diff != "" {
				t.Errorf("Parse(%q) typed accessors (-want +got):\n%s", tt.line, diff)
			}
			if tt.fields != nil {
				if diff := cmp.Diff(tt.fields, FieldsOf(&rec)); diff != "" {
					t.Errorf("Parse(%q) fields (-want +got):\n%s", tt.line, diff)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 22 6 3 400 1418530010 1418530070 ACCEPT OK"
	// replace returns ok with its i-th field (from 0) replaced by v.
	replace := func(i int, v string) string {
		f := strings.Fields(ok)
		f[i] = v
		return strings.Join(f, " ")
	}
	tests := []struct {
		name    string
		format  string
		line    string
		wantErr string
		wantIs  error
	}{
		{name: "one field short", line: "2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 NODATA", wantErr: "wrong number of fields: got 13, the format has 14", wantIs: flowlog.ErrFieldCount},
		{name: "one field too many", line: ok + " extra", wantErr: "wrong number of fields: got 15, the format has 14", wantIs: flowlog.ErrFieldCount},
		{name: "bogus line", line: "bogus line", wantErr: "wrong number of fields: got 2, the format has 14", wantIs: flowlog.ErrFieldCount},
		{name: "empty", line: "", wantErr: "empty record", wantIs: flowlog.ErrEmptyRecord},
		{name: "spaces only", line: "   ", wantErr: "empty record", wantIs: flowlog.ErrEmptyRecord},
		{name: "letter in port", line: replace(5, "8o"), wantErr: `field 6 (srcport): "8o": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "negative bytes", line: replace(9, "-5"), wantErr: `field 10 (bytes): "-5": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "plus sign", line: replace(8, "+5"), wantErr: `field 9 (packets): "+5": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "decimal start", line: replace(10, "1418530010.5"), wantErr: `field 11 (start): "1418530010.5": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "non-numeric version", line: replace(0, "v2"), wantErr: `field 1 (version): "v2": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "port out of range", line: replace(6, "65536"), wantErr: `field 7 (dstport): "65536": number out of range`, wantIs: flowlog.ErrOutOfRange},
		{name: "protocol out of range", line: replace(7, "256"), wantErr: `field 8 (protocol): "256": number out of range`, wantIs: flowlog.ErrOutOfRange},
		{name: "overflow", line: replace(9, "9223372036854775808"), wantErr: `field 10 (bytes): "9223372036854775808": number out of range`, wantIs: flowlog.ErrOutOfRange},
		{name: "very long number", line: replace(9, "123456789012345678901234567890"), wantErr: `field 10 (bytes): "123456789012345678901234567890": number out of range`, wantIs: flowlog.ErrOutOfRange},
		{name: "very long non-number", line: replace(9, "12345678901234567890x"), wantErr: `field 10 (bytes): "12345678901234567890x": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "bad address", line: replace(3, "10.0.0.256"), wantErr: `field 4 (srcaddr): "10.0.0.256": not an IP address`, wantIs: flowlog.ErrNotAddress},
		{name: "host name as address", line: replace(4, "example.com"), wantErr: `field 5 (dstaddr): "example.com": not an IP address`, wantIs: flowlog.ErrNotAddress},
		{name: "leading zero in address", line: replace(4, "10.0.0.01"), wantErr: `field 5 (dstaddr): "10.0.0.01": not an IP address`, wantIs: flowlog.ErrNotAddress},
		{name: "long value is shortened", line: replace(5, strings.Repeat("x", 100)), wantErr: `field 6 (srcport): "` + strings.Repeat("x", 64) + `...": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "traffic-path is numeric", format: "version traffic-path", line: "5 S3", wantErr: `field 2 (traffic-path): "S3": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "packets-lost is numeric", format: "packets-lost-blackhole", line: "x", wantErr: `field 1 (packets-lost-blackhole): "x": not a number`, wantIs: flowlog.ErrNotNumber},
		{name: "pkt-srcaddr is an address", format: "pkt-srcaddr", line: "S3", wantErr: `field 1 (pkt-srcaddr): "S3": not an IP address`, wantIs: flowlog.ErrNotAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowlog.DefaultFormat
			if tt.format != "" {
				f = mustFormat(t, tt.format)
			}
			var rec flowlog.Record
			// A successful parse first, to check that an error leaves no stale fields.
			if err := flowlog.NewParser(flowlog.DefaultFormat).Parse([]byte(ok), &rec); err != nil {
				t.Fatal(err)
			}
			err := flowlog.NewParser(f).Parse([]byte(tt.line), &rec)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error %q", tt.line, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("Parse(%q) error (-want +got):\n%s", tt.line, diff)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Parse(%q) error %v is not %v", tt.line, err, tt.wantIs)
			}
			if rec.Len() != 0 || TypedOf(&rec) != (Typed{}) {
				t.Errorf("after an error the record still has %d fields", rec.Len())
			}
		})
	}
}

func TestParseFieldError(t *testing.T) {
	var rec flowlog.Record
	err := flowlog.NewParser(flowlog.DefaultFormat).Parse([]byte("2 1 eni-1 10.0.0.1 10.0.0.2 http 22 6 3 400 1 2 ACCEPT OK"), &rec)
	var fe *flowlog.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	want := flowlog.FieldError{Pos: 6, Name: "srcport", Value: "http", Err: flowlog.ErrNotNumber}
	if diff := cmp.Diff(want, *fe, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("FieldError (-want +got):\n%s", diff)
	}
}

// TestRecordCopiesLine checks that a record does not alias the caller's buffer.
func TestRecordCopiesLine(t *testing.T) {
	line := []byte("2 123456789010 eni-abc 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK")
	var rec flowlog.Record
	if err := flowlog.NewParser(flowlog.DefaultFormat).Parse(line, &rec); err != nil {
		t.Fatal(err)
	}
	copy(line, strings.Repeat("x", len(line)))
	if got, _ := rec.InterfaceID(); got != "eni-abc" {
		t.Errorf("InterfaceID() = %q after the caller reused its buffer, want eni-abc", got)
	}
	if got := rec.String(); got != "2 123456789010 eni-abc 10.0.0.1 10.0.0.2 1 2 6 3 4 5 6 ACCEPT OK" {
		t.Errorf("String() = %q", got)
	}
}

func TestRecordGeneric(t *testing.T) {
	f := mustFormat(t, "version packets-lost-no-route tgw-id future-field srcaddr")
	var rec flowlog.Record
	if err := flowlog.NewParser(f).Parse([]byte("6 13 tgw-0123 - 10.1.2.3"), &rec); err != nil {
		t.Fatal(err)
	}
	type result struct {
		S    string
		SOK  bool
		N    int64
		NOK  bool
		Raw  string
		RawK bool
	}
	got := map[string]result{}
	for i, name := range append(f.Fields(), "dstaddr") {
		var r result
		r.S, r.SOK = rec.Get(name)
		r.N, r.NOK = rec.Int(name)
		b, ok := rec.Value(i)
		r.Raw, r.RawK = string(b), ok
		got[name] = r
	}
	want := map[string]result{
		"version":               {S: "6", SOK: true, N: 6, NOK: true, Raw: "6", RawK: true},
		"packets-lost-no-route": {S: "13", SOK: true, N: 13, NOK: true, Raw: "13", RawK: true},
		"tgw-id":                {S: "tgw-0123", SOK: true, Raw: "tgw-0123", RawK: true},
		"future-field":          {},
		"srcaddr":               {S: "10.1.2.3", SOK: true, Raw: "10.1.2.3", RawK: true},
		"dstaddr":               {}, // not in the format; Value(5) is out of range
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("generic accessors (-want +got):\n%s", diff)
	}
	var zero flowlog.Record
	if _, ok := zero.Get("version"); ok || zero.Len() != 0 || TypedOf(&zero) != (Typed{}) {
		t.Error("the zero Record has fields")
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	line := []byte("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
	parser := flowlog.NewParser(flowlog.DefaultFormat)
	var rec flowlog.Record
	allocs := testing.AllocsPerRun(100, func() {
		if err := parser.Parse(line, &rec); err != nil {
			t.Fatal(err)
		}
		rec.SrcAddr()
		rec.Start()
		rec.Action()
		rec.LogStatus()
		rec.Value(2)
	})
	if allocs != 0 {
		t.Errorf("Parse and accessors allocate %v times per record, want 0", allocs)
	}
}
