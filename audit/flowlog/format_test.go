package flowlog_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

func TestParseFormat(t *testing.T) {
	v2 := []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{
			name: "DescribeFlowLogs form",
			in:   "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
			want: v2,
		},
		{
			name: "bare names",
			in:   "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
			want: v2,
		},
		{
			name: "extra whitespace, tabs and newline",
			in:   "  ${instance-id}\t${interface-id}   srcaddr\n",
			want: []string{"instance-id", "interface-id", "srcaddr"},
		},
		{
			name: "v5, v7 and v8 fields",
			in:   "${flow-direction} ${traffic-path} ${pkt-src-aws-service} ${ecs-task-arn} ${reject-reason} ${az-id} ${sublocation-id}",
			want: []string{"flow-direction", "traffic-path", "pkt-src-aws-service", "ecs-task-arn", "reject-reason", "az-id", "sublocation-id"},
		},
		{
			name: "transit gateway fields",
			in:   "resource-type tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-pair-attachment-id packets-lost-no-route",
			want: []string{"resource-type", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-pair-attachment-id", "packets-lost-no-route"},
		},
		{
			name: "unknown but valid names are accepted",
			in:   "${version} ${encryption-status} ${some-future-field2}",
			want: []string{"version", "encryption-status", "some-future-field2"},
		},
		{name: "empty", in: "", wantErr: "flow-log format has no fields"},
		{name: "blank", in: "  \t ", wantErr: "flow-log format has no fields"},
		{name: "uppercase", in: "version Srcaddr", wantErr: `flow-log format: field 2: "Srcaddr" is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})`},
		{name: "underscore", in: "${log_status}", wantErr: `flow-log format: field 1: "${log_status}" is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})`},
		{name: "unterminated", in: "${version} ${srcaddr", wantErr: `flow-log format: field 2: "${srcaddr": unterminated ${...}`},
		{name: "empty braces", in: "${}", wantErr: `flow-log format: field 1: "${}" is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})`},
		{name: "dash", in: "version -", wantErr: `flow-log format: field 2: "-" is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})`},
		{name: "comma separated", in: "version,srcaddr", wantErr: `flow-log format: field 1: "version,srcaddr" is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})`},
		{name: "duplicate", in: "version srcaddr ${version}", wantErr: `flow-log format: field 3: "version" repeats field 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := flowlog.ParseFormat(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseFormat(%q) = %v, want error %q", tt.in, f, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("ParseFormat(%q) error (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFormat(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, f.Fields()); diff != "" {
				t.Errorf("ParseFormat(%q).Fields() (-want +got):\n%s", tt.in, diff)
			}
			// String round-trips through ParseFormat.
			g, err := flowlog.ParseFormat(f.String())
			if err != nil {
				t.Fatalf("ParseFormat(%q): %v", f.String(), err)
			}
			if !g.Equal(f) {
				t.Errorf("ParseFormat(String()) = %v, want %v", g, f)
			}
		})
	}
}

func TestParseFormatEmptyIs(t *testing.T) {
	if _, err := flowlog.ParseFormat(""); !errors.Is(err, flowlog.ErrEmptyFormat) {
		t.Errorf("ParseFormat(\"\") error = %v, want ErrEmptyFormat", err)
	}
}

func TestDefaultFormat(t *testing.T) {
	want := "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
	if diff := cmp.Diff(want, flowlog.DefaultFormat.String()); diff != "" {
		t.Errorf("DefaultFormat.String() (-want +got):\n%s", diff)
	}
	var zero flowlog.Format
	if !zero.Equal(flowlog.DefaultFormat) || zero.String() != want {
		t.Errorf("zero Format = %v, want DefaultFormat", zero)
	}
	if got := flowlog.DefaultFormat.Version(); got != 2 {
		t.Errorf("DefaultFormat.Version() = %d, want 2", got)
	}
}

func TestFormatNumeric(t *testing.T) {
	f, err := flowlog.ParseFormat("version account-id interface-id srcaddr srcport dstport protocol packets bytes start end tcp-flags traffic-path packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired action log-status type flow-direction tgw-id region future-field")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, name := range f.Fields() {
		got[name] = f.IsNumeric(name)
	}
	want := map[string]bool{
		"version": true, "srcport": true, "dstport": true, "protocol": true, "packets": true, "bytes": true,
		"start": true, "end": true, "tcp-flags": true, "traffic-path": true,
		"packets-lost-no-route": true, "packets-lost-blackhole": true, "packets-lost-mtu-exceeded": true, "packets-lost-ttl-expired": true,
		"account-id": false, "interface-id": false, "srcaddr": false, "action": false, "log-status": false,
		"type": false, "flow-direction": false, "tgw-id": false, "region": false, "future-field": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IsNumeric (-want +got):\n%s", diff)
	}
	if f.IsNumeric("dstaddr") {
		t.Error(`IsNumeric("dstaddr") = true for a field not in the format`)
	}
	if got, want := f.Index("srcport"), 4; got != want {
		t.Errorf(`Index("srcport") = %d, want %d`, got, want)
	}
	if got := f.Index("dstaddr"); got != -1 {
		t.Errorf(`Index("dstaddr") = %d, want -1`, got)
	}
	if got := f.Version(); got != 6 {
		t.Errorf("Version() = %d, want 6 (transit gateway fields)", got)
	}
}

func TestKnownFields(t *testing.T) {
	// Every field of VPC flow logs v2-v8 and of Transit Gateway flow logs.
	known := map[string]int{
		"version": 2, "account-id": 2, "interface-id": 2, "srcaddr": 2, "dstaddr": 2, "srcport": 2, "dstport": 2,
		"protocol": 2, "packets": 2, "bytes": 2, "start": 2, "end": 2, "action": 2, "log-status": 2,
		"vpc-id": 3, "subnet-id": 3, "instance-id": 3, "tcp-flags": 3, "type": 3, "pkt-srcaddr": 3, "pkt-dstaddr": 3,
		"region": 4, "az-id": 4, "sublocation-type": 4, "sublocation-id": 4,
		"pkt-src-aws-service": 5, "pkt-dst-aws-service": 5, "flow-direction": 5, "traffic-path": 5,
		"ecs-cluster-arn": 7, "ecs-cluster-name": 7, "ecs-container-instance-arn": 7, "ecs-container-instance-id": 7,
		"ecs-container-id": 7, "ecs-second-container-id": 7, "ecs-service-name": 7, "ecs-task-definition-arn": 7,
		"ecs-task-arn": 7, "ecs-task-id": 7,
		"reject-reason": 8,
		"resource-type": 6, "tgw-id": 6, "tgw-attachment-id": 6, "tgw-src-vpc-account-id": 6, "tgw-dst-vpc-account-id": 6,
		"tgw-src-vpc-id": 6, "tgw-dst-vpc-id": 6, "tgw-src-subnet-id": 6, "tgw-dst-subnet-id": 6, "tgw-src-eni": 6,
		"tgw-dst-eni": 6, "tgw-src-az-id": 6, "tgw-dst-az-id": 6, "tgw-pair-attachment-id": 6,
		"packets-lost-no-route": 6, "packets-lost-blackhole": 6, "packets-lost-mtu-exceeded": 6, "packets-lost-ttl-expired": 6,
	}
	got := map[string]int{}
	for name := range known {
		if !flowlog.IsKnownField(name) {
			t.Errorf("IsKnownField(%q) = false", name)
		}
		v, _ := flowlog.FieldVersion(name)
		got[name] = v
	}
	if diff := cmp.Diff(known, got); diff != "" {
		t.Errorf("FieldVersion (-want +got):\n%s", diff)
	}
	if flowlog.IsKnownField("encryption-status") || flowlog.IsKnownField("log_status") {
		t.Error("IsKnownField accepts an unknown name")
	}
}
