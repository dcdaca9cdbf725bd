package redact

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testBundle prepares a copy of testdata/bundle with a gzipped S3 object
// beside the plain one and a symbolic link that must not be followed.
func testBundle(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "bundle")
	copyTree(t, filepath.Join("testdata", "bundle"), src)
	dir := filepath.Join(src, "s3", "AWSLogs", "444455556666", "vpcflowlogs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()+".gz"), gzipBytes(t, raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(secret, []byte(`{"Output": {"AccountId": "111122223333"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(src, "ec2", "DescribeVpcs.json")); err != nil {
		t.Fatal(err)
	}
	return src
}

// dump renders every file of a directory (gzip files decompressed) for a
// golden comparison.
func dump(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return err
			}
			if raw, err = io.ReadAll(zr); err != nil {
				return err
			}
			rel += " (decompressed)"
		}
		b.WriteString("==> " + filepath.ToSlash(rel) + " <==\n")
		b.Write(raw)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestBundleGolden(t *testing.T) {
	src := testBundle(t)
	dst := filepath.Join(t.TempDir(), "out", "redacted")
	if err := New(testSeed).Bundle(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "ec2", "DescribeVpcs.json")); err == nil {
		t.Error("the symbolic link was copied")
	}
	// Every JSON file, and every JSON string that was JSON, still parses.
	filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".json") {
			return err
		}
		raw, _ := os.ReadFile(path)
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	golden(t, "bundle.golden", []byte(dump(t, dst)))
}

// TestBundleKeepsNumbersAndOrder: numbers are written as they were read,
// members stay in order, and a file with nothing to redact is unchanged
// but for indentation.
func TestBundleKeepsNumbersAndOrder(t *testing.T) {
	src := filepath.Join(t.TempDir(), "b")
	if err := os.MkdirAll(filepath.Join(src, "cloudwatch"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := `{"Output": {"Zeta": 1.50, "Alpha": 1793736011000, "Big": 12345678901234567890, "Exp": 1e3, "Html": "<a&b>", "Null": null, "Empty": {}, "List": []}, "Input": {}}`
	if err := os.WriteFile(filepath.Join(src, "cloudwatch", "GetMetricData.json"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "r")
	if err := New(testSeed).Bundle(src, dst); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dst, "cloudwatch", "GetMetricData.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
    "Output": {
        "Zeta": 1.50,
        "Alpha": 1793736011000,
        "Big": 12345678901234567890,
        "Exp": 1e3,
        "Html": "<a&b>",
        "Null": null,
        "Empty": {},
        "List": []
    },
    "Input": {}
}
`
	if diff := cmp.Diff(want, string(raw)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBundleRefuses(t *testing.T) {
	src := testBundle(t)
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, dst, want string
	}{
		{"non-empty target", src, nonEmpty, "is not empty"},
		{"file as target", src, file, "is not a directory"},
		{"target inside the bundle", src, filepath.Join(src, "redacted"), "cannot be inside the bundle"},
		{"target is the bundle", src, src, "is not empty"},
		{"missing bundle", filepath.Join(t.TempDir(), "nope"), filepath.Join(t.TempDir(), "r"), "no such file"},
		{"empty bundle", t.TempDir(), filepath.Join(t.TempDir(), "r"), "holds no files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(testSeed).Bundle(tt.src, tt.dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Bundle = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestBundleLinkedRoot: the bundle named may be a symbolic link to it;
// a target inside it through the link is refused.
func TestBundleLinkedRoot(t *testing.T) {
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(testBundle(t), link); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "r")
	if err := New(testSeed).Bundle(link, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "cloudtrail", "LookupEvents-000.json")); err != nil {
		t.Error(err)
	}
	err := New(testSeed).Bundle(link, filepath.Join(link, "r"))
	if err == nil || !strings.Contains(err.Error(), "cannot be inside the bundle") {
		t.Errorf("Bundle into the bundle through its link = %v", err)
	}
}

// TestBundleEmptyTarget: an existing empty directory is a valid target.
func TestBundleEmptyTarget(t *testing.T) {
	dst := t.TempDir()
	if err := New(testSeed).Bundle(testBundle(t), dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "bundle.json")); err != nil {
		t.Error(err)
	}
}

// TestBundleFailureLeavesNothing: a file that cannot be redacted (a .gz
// that is not gzip) fails the copy, and neither the target nor the
// temporary directory is left behind.
func TestBundleFailureLeavesNothing(t *testing.T) {
	src := testBundle(t)
	if err := os.WriteFile(filepath.Join(src, "s3", "broken.log.gz"), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	err := New(testSeed).Bundle(src, filepath.Join(parent, "redacted"))
	if err == nil || !strings.Contains(err.Error(), "broken.log.gz") {
		t.Fatalf("Bundle = %v, want an error naming broken.log.gz", err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) > 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestFlowRecord(t *testing.T) {
	custom, err := flowlog.ParseFormat("${start} ${end} ${interface-id} ${srcaddr} ${srcport} ${dstaddr} ${dstport} ${protocol} ${bytes} ${packets} ${action} ${log-status} ${version} ${account-id}")
	if err != nil {
		t.Fatal(err)
	}
	tgw, err := flowlog.ParseFormat("${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-src-vpc-account-id} ${tgw-dst-vpc-account-id} ${srcaddr} ${dstaddr} ${bytes}")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		formats []flowlog.Format
		in      string
		want    string
	}{
		{name: "default format; a 12-digit byte count stays",
			in:   "2 123456789012 eni-019c89bfd9382fbb8 10.20.1.25 192.168.10.50 443 55050 6 223 210987654321 1793736012 1793736070 ACCEPT OK",
			want: "2 «a:123456789012» eni-019c89bfd9382fbb8 «ip:10.20.1.25» «ip:192.168.10.50» 443 55050 6 223 210987654321 1793736012 1793736070 ACCEPT OK"},
		{name: "custom order", formats: []flowlog.Format{custom},
			in:   "1793736012 1793736070 eni-019c89bfd9382fbb8 10.20.1.25 443 3.121.204.17 55050 6 123456789012 223 ACCEPT OK 5 210987654321",
			want: "1793736012 1793736070 eni-019c89bfd9382fbb8 «ip:10.20.1.25» 443 «ip:3.121.204.17» 55050 6 123456789012 223 ACCEPT OK 5 «a:210987654321»"},
		{name: "Transit Gateway accounts", formats: []flowlog.Format{tgw},
			in:   "6 TransitGateway 123456789012 tgw-09d21fb7178ead446 111122223333 444455556666 10.20.1.25 192.168.10.50 777777777777",
			want: "6 TransitGateway «a:123456789012» tgw-09d21fb7178ead446 «a:111122223333» «a:444455556666» «ip:10.20.1.25» «ip:192.168.10.50» 777777777777"},
		{name: "NODATA",
			in:   "2 123456789012 eni-06cdb096ec3cb4997 - - - - - - - 1793738011 1793738069 - NODATA",
			want: "2 «a:123456789012» eni-06cdb096ec3cb4997 - - - - - - - 1793738011 1793738069 - NODATA"},
		{name: "IPv6",
			in:   "2 123456789012 eni-019c89bfd9382fbb8 2001:db8::25 fd00::7 443 55050 6 1 2 1793736012 1793736070 ACCEPT OK",
			want: "2 «a:123456789012» eni-019c89bfd9382fbb8 «ip:2001:db8::25» «ip:fd00::7» 443 55050 6 1 2 1793736012 1793736070 ACCEPT OK"},
		{name: "a wrong format is not trusted: addresses where none are expected",
			formats: []flowlog.Format{custom},
			in:      "2 123456789012 eni-019c89bfd9382fbb8 10.20.1.25 192.168.10.50 443 55050 6 223 210987654321 1793736012 1793736070 ACCEPT OK",
			want:    "2 «a:123456789012» eni-019c89bfd9382fbb8 «ip:10.20.1.25» «ip:192.168.10.50» 443 55050 6 223 210987654321 1793736012 1793736070 ACCEPT OK"},
		{name: "not a flow record", in: "tunnel 3.121.204.17 down in account 123456789012",
			want: "tunnel «ip:3.121.204.17» down in account «a:123456789012»"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(testSeed)
			r.flowRecord(tt.in, tt.formats, true)
			got := r.flowRecord(tt.in, tt.formats, false)
			if diff := cmp.Diff(expand(t, r, tt.want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
