package flowlog_test

// Conformance tests over the published samples in ../shared/conformance (see
// its README): every record must come out with the values its publisher
// expects.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// TypedValue renders a field through the Record's typed accessor for it (or
// Int or Get for fields without one), as text: addresses in netip form,
// numbers in decimal, start and end as RFC 3339 UTC.
func TypedValue(r *flowlog.Record, name string) (string, bool) {
	itoa := func(v int, ok bool) (string, bool) { return strconv.Itoa(v), ok }
	i64 := func(v int64, ok bool) (string, bool) { return strconv.FormatInt(v, 10), ok }
	ip := func(v interface{ String() string }, ok bool) (string, bool) { return v.String(), ok }
	ts := func(v time.Time, ok bool) (string, bool) { return v.Format(time.RFC3339), ok }
	switch name {
	case "version":
		return itoa(r.Version())
	case "account-id":
		return r.AccountID()
	case "interface-id":
		return r.InterfaceID()
	case "vpc-id":
		return r.VpcID()
	case "subnet-id":
		return r.SubnetID()
	case "instance-id":
		return r.InstanceID()
	case "srcaddr":
		return ip(r.SrcAddr())
	case "dstaddr":
		return ip(r.DstAddr())
	case "pkt-srcaddr":
		return ip(r.PktSrcAddr())
	case "pkt-dstaddr":
		return ip(r.PktDstAddr())
	case "srcport":
		return itoa(r.SrcPort())
	case "dstport":
		return itoa(r.DstPort())
	case "protocol":
		return itoa(r.Protocol())
	case "tcp-flags":
		return itoa(r.TCPFlags())
	case "packets":
		return i64(r.Packets())
	case "bytes":
		return i64(r.Bytes())
	case "start":
		return ts(r.Start())
	case "end":
		return ts(r.End())
	case "action":
		a, ok := r.Action()
		return string(a), ok
	case "log-status":
		s, ok := r.LogStatus()
		return string(s), ok
	case "flow-direction":
		d, ok := r.FlowDirection()
		return string(d), ok
	}
	if r.Format().IsNumeric(name) {
		return i64(r.Int(name))
	}
	return r.Get(name)
}

// ---- elastic/integrations ----

// Field lists Elastic's pipeline picks by field count (see the corpus README).
var (
	elasticV5All = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
	elasticECS   = elasticV5All + " ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id"
	elasticV8    = elasticECS + " reject-reason"
	elasticTGW   = "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service"
)

// elasticFormat picks the format of a headerless Elastic sample the way
// Elastic's pipeline does: by the field count of its first record. Files with
// header lines get the default format, which their first header replaces.
func elasticFormat(t *testing.T, data []byte) flowlog.Format {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "{") {
			var m struct{ Message string }
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			line = m.Message
		}
		fields := strings.Fields(line)
		switch {
		case fields[0] == "version": // a header line
			return flowlog.DefaultFormat
		case len(fields) == 14:
			return flowlog.DefaultFormat
		case len(fields) == 29:
			return mustFormat(t, elasticV5All)
		case len(fields) == 39:
			return mustFormat(t, elasticECS)
		case len(fields) == 40:
			return mustFormat(t, elasticV8)
		case len(fields) == 36 && strings.HasPrefix(fields[3], "tgw-"):
			return mustFormat(t, elasticTGW)
		}
		t.Fatalf("no Elastic field list has %d fields: %s", len(fields), line)
	}
	t.Fatal("no record in the file")
	return flowlog.Format{}
}

// elasticPaths maps a flow-log field to the ECS document paths where Elastic's
// pipeline puts its value. Where several paths are listed, every one present
// must hold the value and at least one must be present (pipeline versions
// differ: ecs-cluster-arn is aws.vpcflow.ecs_cluster_arn in one and
// orchestrator.cluster.id in another).
var elasticPaths = func() map[string][]string {
	m := map[string][]string{
		"version":                    {"aws.vpcflow.version"},
		"account-id":                 {"aws.vpcflow.account_id", "cloud.account.id"},
		"interface-id":               {"aws.vpcflow.interface_id"},
		"srcaddr":                    {"source.address", "source.ip"},
		"dstaddr":                    {"destination.address", "destination.ip"},
		"srcport":                    {"source.port"},
		"dstport":                    {"destination.port"},
		"protocol":                   {"network.iana_number"},
		"packets":                    {"source.packets", "network.packets"},
		"bytes":                      {"source.bytes", "network.bytes"},
		"start":                      {"event.start"},
		"end":                        {"event.end", "@timestamp"},
		"action":                     {"aws.vpcflow.action", "event.action"},
		"log-status":                 {"aws.vpcflow.log_status"},
		"vpc-id":                     {"aws.vpcflow.vpc_id"},
		"subnet-id":                  {"aws.vpcflow.subnet_id"},
		"instance-id":                {"aws.vpcflow.instance_id", "cloud.instance.id"},
		"tcp-flags":                  {"aws.vpcflow.tcp_flags"},
		"type":                       {"aws.vpcflow.type"},
		"pkt-srcaddr":                {"aws.vpcflow.pkt_srcaddr"},
		"pkt-dstaddr":                {"aws.vpcflow.pkt_dstaddr"},
		"region":                     {"cloud.region"},
		"az-id":                      {"cloud.availability_zone"},
		"sublocation-type":           {"aws.vpcflow.sublocation.type"},
		"sublocation-id":             {"aws.vpcflow.sublocation.id"},
		"pkt-src-aws-service":        {"aws.vpcflow.pkt_src_service"},
		"pkt-dst-aws-service":        {"aws.vpcflow.pkt_dst_service"},
		"flow-direction":             {"network.direction"},
		"traffic-path":               {"aws.vpcflow.traffic_path"},
		"ecs-cluster-arn":            {"aws.vpcflow.ecs_cluster_arn", "orchestrator.cluster.id"},
		"ecs-cluster-name":           {"orchestrator.cluster.name"},
		"ecs-container-instance-arn": {"orchestrator.resource.name"},
		"ecs-container-instance-id":  {"orchestrator.resource.id"},
		"ecs-service-name":           {"service.name"},
		"reject-reason":              {"event.reason"},
		"resource-type":              {"aws.vpcflow.resource_type"},
	}
	for _, f := range strings.Fields(elasticV8 + " " + elasticTGW) {
		if _, ok := m[f]; !ok && (strings.HasPrefix(f, "ecs-") || strings.HasPrefix(f, "tgw-") || strings.HasPrefix(f, "packets-lost-")) {
			m[f] = []string{"aws.vpcflow." + strings.ReplaceAll(f, "-", "_")}
		}
	}
	return m
}()

// elasticTimePaths hold RFC 3339 times with milliseconds.
var elasticTimePaths = map[string]bool{"event.start": true, "event.end": true, "@timestamp": true}

// lookup returns the value at a dotted path of a decoded JSON document.
func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// elasticWant returns the value Elastic expects for a field, read from its
// paths, and false when the document has none. Elastic keeps "-" in
// cloud.region and cloud.availability_zone of some samples; that is read as
// absent, like "-" everywhere else.
func elasticWant(t *testing.T, doc map[string]any, paths []string) (string, bool) {
	var vals []string
	for _, path := range paths {
		v, ok := lookup(doc, path)
		if !ok {
			continue
		}
		s := fmt.Sprint(v) // json.Number or string
		if s == "-" {
			continue
		}
		if elasticTimePaths[path] {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
			s = ts.UTC().Format(time.RFC3339)
		}
		vals = append(vals, s)
	}
	if len(vals) == 0 {
		return "", false
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return fmt.Sprintf("paths %v disagree: %q", paths, vals), true
		}
	}
	return vals[0], true
}

func TestConformanceElastic(t *testing.T) {
	dir := filepath.Join(ConformanceDir(t), "elastic-vpcflow")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			expected := readExpected[[]map[string]any](t, path+"-expected.json")
			rd := flowlog.NewReader(bytes.NewReader(data), flowlog.ReaderOptions{Format: elasticFormat(t, data)})
			n := 0
			for ; rd.Next(); n++ {
				if n >= len(expected) {
					t.Errorf("line %d: record %d has no expected document", rd.Line(), n+1)
					continue
				}
				doc, rec := expected[n], rd.Record()
				// The expected document says which record it describes.
				if orig, _ := lookup(doc, "event.original"); orig != rec.String() {
					t.Errorf("line %d: record\n%s\ndoes not match event.original\n%v", rd.Line(), rec, orig)
				}
				want, got := map[string]string{}, map[string]string{}
				for _, name := range rec.Format().Fields() {
					paths, ok := elasticPaths[name]
					if !ok {
						t.Fatalf("no Elastic mapping for field %s", name)
					}
					if v, ok := elasticWant(t, doc, paths); ok {
						want[name] = v
					}
					if v, ok := TypedValue(rec, name); ok {
						got[name] = v
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("line %d (-elastic +flowlog):\n%s", rd.Line(), diff)
				}
			}
			if n != len(expected) {
				t.Errorf("got %d records, Elastic expects %d", n, len(expected))
			}
			if err := rd.Err(); err != nil {
				t.Error(err)
			}
			if m := rd.Malformed(); len(m) != 0 {
				t.Errorf("malformed lines: %v", m)
			}
		})
	}
}

// readExpected decodes the "expected" member of a corpus -expected.json file,
// keeping numbers as json.Number.
func readExpected[T any](t *testing.T, path string) T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Expected T }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v.Expected
}

// ---- obsrvbl-oss/flowlogs-reader ----

// flowlogsReaderView renders a record the way flowlogs-reader's expectations
// are written: underscored names, "-" fields dropped, numbers as integers,
// start and end as UTC times.
func flowlogsReaderView(t *testing.T, rec *flowlog.Record) map[string]any {
	m := map[string]any{}
	for _, name := range rec.Format().Fields() {
		key := strings.ReplaceAll(name, "-", "_")
		switch {
		case name == "start" || name == "end":
			if v, ok := TypedValue(rec, name); ok {
				m[key] = v
			}
		case rec.Format().IsNumeric(name):
			if v, ok := rec.Int(name); ok {
				m[key] = v
			}
		default:
			if v, ok := TypedValue(rec, name); ok {
				m[key] = v
			}
		}
	}
	return m
}

// normalizeExpected turns json.Number into int64, as upstream's values are ints.
func normalizeExpected(t *testing.T, m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			i, err := n.Int64()
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			out[k] = i
			continue
		}
		out[k] = v
	}
	return out
}

func TestConformanceFlowlogsReader(t *testing.T) {
	dir := filepath.Join(ConformanceDir(t), "flowlogs-reader-vpcflow")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	// Lines upstream rejects; every other line must parse.
	wantMalformed := map[string][]string{
		"v5-s3-file.log": {"4: wrong number of fields: got 2, the format has 29"},
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			type record struct {
				line int64
				view map[string]any
			}
			var got []record
			rd := flowlog.NewReader(f, flowlog.ReaderOptions{})
			for rd.Next() {
				got = append(got, record{rd.Line(), flowlogsReaderView(t, rd.Record())})
			}
			if err := rd.Err(); err != nil {
				t.Fatal(err)
			}
			var malformed []string
			for _, e := range rd.Malformed() {
				malformed = append(malformed, fmt.Sprintf("%d: %v", e.Line, e.Err))
			}
			if diff := cmp.Diff(wantMalformed[name], malformed); diff != "" {
				t.Errorf("malformed lines (-want +got):\n%s", diff)
			}

			expected := readExpected[[]map[string]any](t, path+"-expected.json")
			if _, partial := expected[0]["fields"]; partial {
				// [{line, fields}]: assertions about some fields of some lines.
				for _, e := range expected {
					line, _ := e["line"].(json.Number).Int64()
					want := normalizeExpected(t, e["fields"].(map[string]any))
					var view map[string]any
					for _, r := range got {
						if r.line == line {
							view = r.view
						}
					}
					if view == nil {
						t.Errorf("line %d: no record", line)
						continue
					}
					subset := map[string]any{}
					for k := range want {
						if v, ok := view[k]; ok {
							subset[k] = v
						}
					}
					if diff := cmp.Diff(want, subset); diff != "" {
						t.Errorf("line %d (-flowlogs-reader +flowlog):\n%s", line, diff)
					}
				}
				return
			}
			// One object per valid record, in order.
			var want, views []map[string]any
			for _, e := range expected {
				want = append(want, normalizeExpected(t, e))
			}
			for _, r := range got {
				views = append(views, r.view)
			}
			if diff := cmp.Diff(want, views); diff != "" {
				t.Errorf("records (-flowlogs-reader +flowlog):\n%s", diff)
			}
		})
	}
}

// ---- awsdocs/amazon-vpc-user-guide ----

// docAnnotation is the " #..." comment the docs print after some records.
var docAnnotation = regexp.MustCompile(`\s+#.*$`)

func TestConformanceAWSDocs(t *testing.T) {
	dir := filepath.Join(ConformanceDir(t), "awsdocs-vpcflow")
	tests := []struct {
		log, format   string // format "" is the default format
		stripComments bool
		wantMalformed []string
	}{
		{log: "default-format-v2.log"},
		{log: "custom-tcp-flags-v3.log", format: "custom-tcp-flags-v3.format"},
		{log: "custom-nat-gateway.log", format: "custom-nat-gateway.format"},
		{
			// As printed in the docs, with annotations: not valid records.
			log: "custom-nat-gateway-instance-eni.log", format: "custom-nat-gateway.format",
			wantMalformed: []string{
				"1: wrong number of fields: got 16, the format has 6",
				"2: wrong number of fields: got 17, the format has 6",
			},
		},
		{log: "custom-nat-gateway-instance-eni.log", format: "custom-nat-gateway.format", stripComments: true},
		{log: "custom-transit-gateway.log", format: "custom-transit-gateway.format"},
		{log: "custom-v5-traffic-path.log", format: "custom-v5-traffic-path.format"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.log] = true
		name := tt.log
		if tt.stripComments {
			name += " without annotations"
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.log))
			if err != nil {
				t.Fatal(err)
			}
			format := flowlog.DefaultFormat
			if tt.format != "" {
				spec, err := os.ReadFile(filepath.Join(dir, tt.format))
				if err != nil {
					t.Fatal(err)
				}
				if format, err = flowlog.ParseFormat(string(spec)); err != nil {
					t.Fatal(err)
				}
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if tt.stripComments {
				for i, l := range lines {
					lines[i] = docAnnotation.ReplaceAllString(l, "")
				}
				data = []byte(strings.Join(lines, "\n") + "\n")
			}
			rd := flowlog.NewReader(bytes.NewReader(data), flowlog.ReaderOptions{Format: format})
			records := 0
			for rd.Next() {
				records++
				rec := rd.Record()
				// Every token in its position; "-" is absent.
				tokens := strings.Fields(lines[rd.Line()-1])
				want := map[string]string{}
				for i, name := range format.Fields() {
					if tokens[i] != "-" {
						want[name] = tokens[i]
					}
				}
				if diff := cmp.Diff(want, FieldsOf(rec)); diff != "" {
					t.Errorf("line %d, Get (-docs +flowlog):\n%s", rd.Line(), diff)
				}
				// The typed accessors agree (times compared as epoch seconds).
				typed := map[string]string{}
				for _, name := range format.Fields() {
					v, ok := TypedValue(rec, name)
					if name == "start" || name == "end" {
						var n int64
						n, ok = rec.Int(name)
						v = strconv.FormatInt(n, 10)
					}
					if ok {
						typed[name] = v
					}
				}
				if diff := cmp.Diff(want, typed); diff != "" {
					t.Errorf("line %d, typed accessors (-docs +flowlog):\n%s", rd.Line(), diff)
				}
			}
			if err := rd.Err(); err != nil {
				t.Fatal(err)
			}
			var malformed []string
			for _, e := range rd.Malformed() {
				malformed = append(malformed, fmt.Sprintf("%d: %v", e.Line, e.Err))
			}
			if diff := cmp.Diff(tt.wantMalformed, malformed); diff != "" {
				t.Errorf("malformed lines (-want +got):\n%s", diff)
			}
			if want := len(lines) - len(tt.wantMalformed); records != want {
				t.Errorf("got %d records, want %d", records, want)
			}
		})
	}
	// Every sample is tested: a new one needs a row above.
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		if !covered[filepath.Base(l)] {
			t.Errorf("sample %s is not tested", filepath.Base(l))
		}
	}
}
