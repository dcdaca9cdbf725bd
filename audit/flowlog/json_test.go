package flowlog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name   string
		format string
		line   string
		want   string
	}{
		{
			name: "v2: numbers as numbers, account id as a string",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
			want: `{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":"172.31.16.139","dstaddr":"172.31.16.21","srcport":20641,"dstport":22,"protocol":6,"packets":20,"bytes":4249,"start":1418530010,"end":1418530070,"action":"ACCEPT","log-status":"OK"}`,
		},
		{
			name: "dashes are null",
			line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
			want: `{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":null,"dstaddr":null,"srcport":null,"dstport":null,"protocol":null,"packets":null,"bytes":null,"start":1431280876,"end":1431280934,"action":null,"log-status":"NODATA"}`,
		},
		{
			name:   "format order is key order; leading zeros are not kept in numbers",
			format: "${log-status} ${tcp-flags} ${account-id} ${traffic-path} ${packets-lost-mtu-exceeded} ${srcaddr}",
			line:   "OK 019 000000000000 8 0 2001:db8::1",
			want:   `{"log-status":"OK","tcp-flags":19,"account-id":"000000000000","traffic-path":8,"packets-lost-mtu-exceeded":0,"srcaddr":"2001:db8::1"}`,
		},
		{
			name:   "strings are escaped",
			format: "future-field type",
			line:   "a\"b\\c\x01\x1f\u2028\u2029\xffé\x7f IPv4",
			want:   `{"future-field":"a\"b\\c\u0001\u001f\u2028\u2029\ufffdé` + "\x7f" + `","type":"IPv4"}`,
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
				t.Fatal(err)
			}
			got := string(rec.AppendJSON([]byte("prefix:")))
			if diff := cmp.Diff("prefix:"+tt.want, got); diff != "" {
				t.Errorf("AppendJSON (-want +got):\n%s", diff)
			}
			if !json.Valid([]byte(tt.want)) {
				t.Errorf("invalid JSON: %s", tt.want)
			}
			m, err := json.Marshal(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(m)); diff != "" {
				t.Errorf("json.Marshal (-want +got):\n%s", diff)
			}
		})
	}
	var empty flowlog.Record
	if got := string(empty.AppendJSON(nil)); got != "{}" {
		t.Errorf("empty record AppendJSON = %s, want {}", got)
	}
}

// TestJSONStringsMatchEncodingJSON checks string escaping against encoding/json
// (without HTML escaping) over every byte value and some multi-byte sequences.
func TestJSONStringsMatchEncodingJSON(t *testing.T) {
	var values []string
	for c := range 256 {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue // separators cannot be in a value
		}
		values = append(values, "x"+string([]byte{byte(c)})+"y")
	}
	values = append(values, "é", "日本", "\u2028", "\u2029", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "🙂", "<&>")
	f := mustFormat(t, "future-field")
	p := flowlog.NewParser(f)
	var rec flowlog.Record
	for _, v := range values {
		if err := p.Parse([]byte(v), &rec); err != nil {
			t.Fatalf("Parse(%q): %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]string{"future-field": v}); err != nil {
			t.Fatal(err)
		}
		got := string(rec.AppendJSON(nil)) + "\n"
		if diff := cmp.Diff(want.String(), got); diff != "" {
			t.Errorf("value %q (-encoding/json +AppendJSON):\n%s", v, diff)
		}
	}
}

func TestConvertGolden(t *testing.T) {
	dir := filepath.Join("testdata", "convert")
	input, err := os.ReadFile(filepath.Join(dir, "input.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	stats, err := flowlog.Convert([]flowlog.Input{
		{Name: "input.log", Reader: bytes.NewReader(input)},
		{Name: "input.log.gz", Reader: bytes.NewReader(gz(t, string(input)))},
	}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("output line %d is not valid JSON: %s", i+1, line)
		}
	}
	wantStats := flowlog.Stats{Inputs: 2, Lines: 34, Records: 22, NoData: 2, SkipData: 4, Headers: 4, Blank: 2, Malformed: 6}
	if diff := cmp.Diff(wantStats, stats); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	golden(t, filepath.Join(dir, "want.jsonl"), out.Bytes())
	golden(t, filepath.Join(dir, "want.stderr"), errOut.Bytes())
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestConvertInputs(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.log")
	if err := os.WriteFile(plain, []byte(recA+"\nbogus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gzipped := filepath.Join(dir, "b.log.gz")
	if err := os.WriteFile(gzipped, gz(t, hdrNAT+"\n"+recNAT+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.log")
	natFormat := mustFormat(t, hdrNAT)

	var out, errOut bytes.Buffer
	stats, err := flowlog.Convert([]flowlog.Input{
		{Name: plain},
		{Name: missing},
		{Name: gzipped},
		{Name: "-", Reader: strings.NewReader(recNAT + "\n" + recA + "\n")}, // a given reader wins over stdin
	}, &natFormat, &out, &errOut)

	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Convert error = %v, want one naming %s", err, missing)
	}
	wantOut := `{"instance-id":null,"interface-id":"eni-1235b8ca123456789","srcaddr":"10.0.1.5","dstaddr":"10.0.0.220","pkt-srcaddr":"10.0.1.5","pkt-dstaddr":"203.0.113.5"}` + "\n"
	wantOut = wantOut + wantOut // once from b.log.gz (header), once from stdin (--log-format)
	if diff := cmp.Diff(wantOut, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	wantErr := plain + ":1: wrong number of fields: got 14, the format has 6\n" +
		plain + ":2: wrong number of fields: got 1, the format has 6\n" +
		"<stdin>:2: wrong number of fields: got 14, the format has 6\n"
	if diff := cmp.Diff(wantErr, errOut.String()); diff != "" {
		t.Errorf("malformed report (-want +got):\n%s", diff)
	}
	wantStats := flowlog.Stats{Inputs: 3, Lines: 6, Records: 2, Headers: 1, Malformed: 3}
	if diff := cmp.Diff(wantStats, stats); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConvertWriteError(t *testing.T) {
	var input strings.Builder
	for range 2000 { // more than the output buffer holds
		input.WriteString(recA + "\n")
	}
	_, err := flowlog.Convert([]flowlog.Input{
		{Name: "x", Reader: strings.NewReader(input.String())},
		{Name: "never-opened.log"},
	}, nil, failWriter{}, nil)
	if err == nil || err.Error() != "writing output: disk full" {
		t.Errorf("Convert error = %v, want writing output: disk full", err)
	}
}
