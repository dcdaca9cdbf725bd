package redact

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./redact -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// placeholder is «kind:value» in a test's expectation: the token r gives
// value. Tokens are memoized, so asking after the scan returns the token
// the scan used, and a value the scan left alone gets a fresh token that
// cannot match.
var placeholder = regexp.MustCompile(`«(a|ip|cidr|host|k|u):([^»]*)»`)

func expand(t *testing.T, r *Redactor, tmpl string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		p := placeholder.FindStringSubmatch(m)
		switch p[1] {
		case "a":
			return r.account(p[2])
		case "ip":
			return r.addr(netip.MustParseAddr(p[2])).String()
		case "cidr":
			pr := netip.MustParsePrefix(p[2])
			return r.prefix(pr.Addr(), pr.Bits()).String()
		case "host":
			return strings.ReplaceAll(r.addr(netip.MustParseAddr(p[2])).String(), ".", "-")
		case "k":
			return r.key(p[2])
		case "u":
			return r.user(p[2])
		}
		t.Fatalf("bad placeholder %s", m)
		return ""
	})
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		// learn are strings met before (in the same report or bundle).
		learn []string
		in    string
		want  string
	}{
		// Account IDs.
		{name: "account in an ARN", in: "arn:aws:iam::123456789012:role/ops", want: "arn:aws:iam::«a:123456789012»:role/ops"},
		{name: "account alone", in: "123456789012", want: "«a:123456789012»"},
		{name: "account after the word account", in: "in account 123456789012 (prod)", want: "in account «a:123456789012» (prod)"},
		{name: "account after AccountId=", in: "AccountId=123456789012", want: "AccountId=«a:123456789012»"},
		{name: "account after owner", in: "OwnerId: 123456789012", want: "OwnerId: «a:123456789012»"},
		{name: "account in an S3 log key", in: "AWSLogs/123456789012/vpcflowlogs/eu-central-1/", want: "AWSLogs/«a:123456789012»/vpcflowlogs/eu-central-1/"},
		{name: "account in an S3 object name", in: "123456789012_vpcflowlogs_eu-central-1_fl-0a1b2c3d_20261103T2150Z_0f3c.log.gz",
			want: "«a:123456789012»_vpcflowlogs_eu-central-1_fl-0a1b2c3d_20261103T2150Z_0f3c.log.gz"},
		{name: "known account anywhere", learn: []string{"arn:aws:iam::111122223333:root"},
			in: "bucket analytics-exports-111122223333-euc1", want: "bucket analytics-exports-«a:111122223333»-euc1"},
		{name: "12-digit count without context", in: "moved 123456789012 bytes", want: "moved 123456789012 bytes"},
		{name: "13 digits", in: "at 1793736011000 ms", want: "at 1793736011000 ms"},
		{name: "tail of a request ID", learn: []string{"arn:aws:iam::247295973595:root"},
			in: "0f6bef90-f3cc-44dd-ac79-247295973595", want: "0f6bef90-f3cc-44dd-ac79-«a:247295973595»"},
		{name: "12 digits inside a word", learn: []string{"arn:aws:iam::123456789012:root"},
			in: "x123456789012 123456789012abc", want: "x123456789012 123456789012abc"},
		{name: "12 digits in a decimal", in: "account ratio 0.123456789012", want: "account ratio 0.123456789012"},

		// IPv4.
		{name: "address", in: "from 18.198.77.14, to 3.121.204.17.", want: "from «ip:18.198.77.14», to «ip:3.121.204.17»."},
		{name: "address with a port", in: "10.0.0.1:500", want: "«ip:10.0.0.1»:500"},
		{name: "CIDR", in: "routes 10.20.0.0/16 and 0.0.0.0/0", want: "routes «cidr:10.20.0.0/16» and 0.0.0.0/0"},
		{name: "host CIDR", in: "18.198.77.14/32", want: "«cidr:18.198.77.14/32»"},
		{name: "address with host bits and a length", in: "10.20.1.25/24", want: "«cidr:10.20.1.25/24»"},
		{name: "address in a key=value", in: "DescribeAddresses public-ip=18.198.77.14", want: "DescribeAddresses public-ip=«ip:18.198.77.14»"},
		{name: "address in a URL", in: "http://10.1.2.3/health", want: "http://«ip:10.1.2.3»/health"},
		{name: "address in quotes", in: `"3.121.204.17"`, want: `"«ip:3.121.204.17»"`},
		{name: "EC2 private host name", in: "ip-192-168-1-10.eu-central-1.compute.internal", want: "ip-«host:192.168.1.10».eu-central-1.compute.internal"},
		{name: "EC2 public host name", in: "ec2-18-198-77-14.eu-central-1.compute.amazonaws.com", want: "ec2-«host:18.198.77.14».eu-central-1.compute.amazonaws.com"},
		{name: "product version", in: "Chrome/130.0.0.0 Safari/537.36 Linux/5.10.1.2", want: "Chrome/130.0.0.0 Safari/537.36 Linux/5.10.1.2"},
		{name: "address in an ARN resource", in: "arn:aws:ec2:eu-central-1:123456789012:elastic-ip/18.198.77.14",
			want: "arn:aws:ec2:eu-central-1:«a:123456789012»:elastic-ip/«ip:18.198.77.14»"},
		{name: "not an address", in: "1.2.3.4.5 999.1.1.1 3.3.1345.0 v1.2.3.4", want: "1.2.3.4.5 999.1.1.1 3.3.1345.0 v1.2.3.4"},

		// IPv6.
		{name: "IPv6", in: "peer 2001:db8::1 up", want: "peer «ip:2001:db8::1» up"},
		{name: "IPv6 CIDR", in: "2001:db8:1200::/40", want: "«cidr:2001:db8:1200::/40»"},
		{name: "IPv6 default route", in: "::/0", want: "::/0"},
		{name: "IPv6 with a zone", in: "fe80::1%eth0", want: "«ip:fe80::1%eth0»"},
		{name: "IPv4-mapped IPv6", in: "::ffff:10.1.2.3", want: "«ip:::ffff:10.1.2.3»"},
		{name: "IPv6 at the end of a sentence", in: "to 2001:db8::5:.", want: "to «ip:2001:db8::5»:."},
		{name: "CloudFormation type", in: "AWS::EC2::EIP AWS::S3::Bucket", want: "AWS::EC2::EIP AWS::S3::Bucket"},
		{name: "clock time", in: "at 21:52:41 and 22:35", want: "at 21:52:41 and 22:35"},
		{name: "MAC address", in: "0a:1b:2c:3d:4e:5f", want: "0a:1b:2c:3d:4e:5f"},

		// Access keys and unique IDs.
		{name: "access key", in: "key AKIAIOSFODNN7EXAMPLE used", want: "key «k:AKIAIOSFODNN7EXAMPLE» used"},
		{name: "session key", in: `"ASIA2G72DRMJ3PBVVE7I"`, want: `"«k:ASIA2G72DRMJ3PBVVE7I»"`},
		{name: "role unique ID with session", in: "AROAL643ECLQBPSSG6XB7:GitHubActions",
			want: "«k:AROAL643ECLQBPSSG6XB7»:«u:GitHubActions»"},
		{name: "role unique ID with an instance session", in: "AROABDLJ5WFLRNHW6SFXA:i-0d7632e693e938e41",
			want: "«k:AROABDLJ5WFLRNHW6SFXA»:i-0d7632e693e938e41"},
		{name: "not a key", in: "ASIAN AKIA123 XAKIAIOSFODNN7EXAMPLE", want: "ASIAN AKIA123 XAKIAIOSFODNN7EXAMPLE"},

		// User names.
		{name: "e-mail", in: "by dana.kowalski@example.com.", want: "by «u:dana.kowalski@example.com»."},
		{name: "SSO actor", in: "AWSReservedSSO_NetworkAdmin_0123456789abcdef/dana.kowalski@example.com (console)",
			want: "AWSReservedSSO_NetworkAdmin_0123456789abcdef/«u:dana.kowalski@example.com» (console)"},
		{name: "IAM user ARN", in: "arn:aws:iam::123456789012:user/ops/marco", want: "arn:aws:iam::«a:123456789012»:user/ops/«u:marco»"},
		{name: "assumed-role ARN", in: "arn:aws:sts::123456789012:assumed-role/ci-deployer/gha-8812",
			want: "arn:aws:sts::«a:123456789012»:assumed-role/ci-deployer/«u:gha-8812»"},
		{name: "SSO ARN", in: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_NetworkAdmin_0123456789abcdef/dana@example.com",
			want: "arn:aws:sts::«a:123456789012»:assumed-role/AWSReservedSSO_NetworkAdmin_0123456789abcdef/«u:dana@example.com»"},
		{name: "instance session kept", in: "arn:aws:sts::123456789012:assumed-role/dc1-appliance-ssm/i-0d7632e693e938e41",
			want: "arn:aws:sts::«a:123456789012»:assumed-role/dc1-appliance-ssm/i-0d7632e693e938e41"},
		{name: "federated user ARN", in: "arn:aws:sts::123456789012:federated-user/bob", want: "arn:aws:sts::«a:123456789012»:federated-user/«u:bob»"},
		{name: "root ARN", in: "arn:aws:iam::123456789012:root", want: "arn:aws:iam::«a:123456789012»:root"},
		{name: "known user in free text", learn: []string{"arn:aws:iam::123456789012:user/marco"},
			in: "StartInstances by marco (AWS CLI); marco.", want: "StartInstances by «u:marco» (AWS CLI); «u:marco»."},
		{name: "session in free text", learn: []string{"arn:aws:sts::123456789012:assumed-role/ci-deployer/gha-8812"},
			in: "by ci-deployer/gha-8812 (SDK)", want: "by ci-deployer/«u:gha-8812» (SDK)"},
		{name: "known name inside a longer name", learn: []string{"AROARTI3AKBKTDDURJXRK:cw-exporter"},
			in: "eks-cw-exporter cw-exporter_x cw-exporter", want: "eks-cw-exporter cw-exporter_x «u:cw-exporter»"},
		{name: "service-linked role session kept", learn: []string{"arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling"},
			in: "by AWSServiceRoleForAutoScaling/AutoScaling", want: "by AWSServiceRoleForAutoScaling/AutoScaling"},

		// What stays.
		{name: "IDs", in: "i-0d7632e693e938e41 eni-06cdb096ec3cb4997 sg-0d9347ec65c0b0dbc 8e2bd7b5-5379-4a54-a789-4b640805398b",
			want: "i-0d7632e693e938e41 eni-06cdb096ec3cb4997 sg-0d9347ec65c0b0dbc 8e2bd7b5-5379-4a54-a789-4b640805398b"},
		{name: "times", in: "2026-11-03T22:41:54Z 2026-11-03 21:52:41 GMT", want: "2026-11-03T22:41:54Z 2026-11-03 21:52:41 GMT"},
		{name: "service principal", in: "autoscaling.amazonaws.com", want: "autoscaling.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(testSeed)
			for _, s := range tt.learn {
				r.Text(s)
			}
			got := r.Text(tt.in)
			want := expand(t, r, tt.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Text(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestTokenShapes checks that tokens look like what they replace, so a
// redacted bundle still parses.
func TestTokenShapes(t *testing.T) {
	r := New(testSeed)
	got := []string{
		r.Text("AKIAIOSFODNN7EXAMPLE"),
		r.Text("ASIA2G72DRMJ3PBVVE7I"),
		r.Text("AROABDLJ5WFLRNHW6SFXA"),
		r.Text("AKIAIOSFODNN7EXAMPLE"),
		r.Text("arn:aws:iam::123456789012:user/marco"),
		r.Text("arn:aws:iam::123456789012:user/alice"),
		r.Text("marco"),
	}
	acct := r.account("123456789012")
	want := []string{
		"AKIAREDACTED00000001",
		"ASIAREDACTED00000002",
		"AROAREDACTED000000003",
		"AKIAREDACTED00000001",
		"arn:aws:iam::" + acct + ":user/user-1",
		"arn:aws:iam::" + acct + ":user/user-2",
		"user-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^9999[0-9]{8}$`).MatchString(acct) {
		t.Errorf("account token %q is not 9999 and eight digits", acct)
	}
	if a, b := r.account("123456789012"), r.account("210987654321"); a == b {
		t.Errorf("two accounts share the token %s", a)
	}
}

// TestTokensAvoidOriginals: a token never equals a value the Redactor has
// met as an original, so two people cannot be merged into one.
func TestTokensAvoidOriginals(t *testing.T) {
	r := New(testSeed)
	r.Text("arn:aws:iam::123456789012:user/user-1")
	got := r.Text("arn:aws:iam::123456789012:user/user-1 and arn:aws:iam::123456789012:user/bob")
	acct := r.account("123456789012")
	want := "arn:aws:iam::" + acct + ":user/user-2 and arn:aws:iam::" + acct + ":user/user-3"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTextGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "text.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := New(testSeed)
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		r.learnString(line)
	}
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		out.WriteString(r.Text(line))
	}
	golden(t, "text.golden", []byte(out.String()))
}
