package redact

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
	"github.com/vpnaudit/vpnaudit/report"
)

const testSeed = "vpnaudit redact test seed"

// scenario is one fixture and the alarm it is about.
type scenario struct {
	fixture, alarm string
	at             string // RFC 3339, or "" for the latest episode
	// shared names a bundle under shared/examples instead of fixtures/.
	shared bool
}

// required are the scenarios the issue names; the rest of the catalog is
// replayed redacted too (TestBundleCatalog).
var required = []scenario{
	{"lab-console-stop", "VPN-Down", "", false},
	{"eip-disassociated", "pdx3-colo-vpn-down", "", false},
	{"no-api-cause", "syd1-dc-link/TunnelState", "", false},
}

var catalog = []scenario{
	{"sg-revoke-ike", "dub2-vpn-tunnelstate", "", false},
	{"denied-then-stop", "cmh1-vpn-degraded", "", false},
	{"asg-scale-to-zero", "ARN1 VPN tunnels", "", false},
	{"fired-twice", "tyo2-dc-vpn", "2026-11-20T01:15:22Z", false},
	{"fired-twice", "tyo2-dc-vpn", "", false},
	{"tgw-route-deleted", "fra4-onprem-no-traffic-to-dc", "", false},
	{"tunnel1-options", "sea2-primary-tunnel1-down", "", false},
	{"nacl-deny", "lhr3-vpn-tunnels-down", "", false},
	{"srcdst-check", "cle1-vpn-traffic-from-dc", "", false},
	{"vpc-route-removed", "got1-dc-inbound-volume-low", "", false},
	{"vpn-static-route-removed", "branch-static-no-return-traffic", "", false},
	{"stop-cli", "cork1-vpn-state", "", false},
	{"stop-scheduler-lambda", "MEL2 VPN down", "", false},
	{"stop-root", "dfw2-core-tunnelstate", "", false},
	{"custom-format-600s", "osa1-dc-tunnels", "", false},
	{"no-flow-logs", "osl1-link-down", "", false},
	{"alarm-metric-only", "sjc1-dc-vpn", "", false},
	{"hostile-strings", "yul1 VPN 'dc' down #netops", "", false},
	{"lab-stop-appliance", "VPN-Down", "", true},
}

func (sc scenario) dir(t *testing.T) string {
	t.Helper()
	if sc.shared {
		return testenv.Shared(t, "examples", sc.fixture)
	}
	return testenv.Fixture(t, sc.fixture)
}

// investigate collects and correlates the bundle in dir the way the CLI
// does.
func investigate(t *testing.T, dir string, sc scenario) *correlate.Result {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	opt := collect.Options{Alarm: sc.alarm, Now: b.Manifest.RecordedAt, Region: b.Manifest.Region, Account: b.Manifest.AccountId}
	if sc.at != "" {
		at, err := time.Parse(time.RFC3339, sc.at)
		if err != nil {
			t.Fatal(err)
		}
		opt.At = &at
	}
	ev, err := collect.Collect(context.Background(),
		collect.BundleClients(b),
		opt)
	if err != nil {
		t.Fatal(err)
	}
	return correlate.Correlate(ev)
}

// verdict is what redaction must not change.
type verdict struct {
	Status, Confidence, Cause string
	Hypotheses                []hypothesis
}

type hypothesis struct {
	Rank    int
	EventID string
	Score   float64
}

func verdictOf(r *correlate.Result) verdict {
	v := verdict{Status: r.Verdict.Status, Confidence: r.Verdict.Confidence}
	if r.Verdict.Cause != nil {
		v.Cause = r.Verdict.Cause.Change.EventID
	}
	for _, h := range r.Hypotheses {
		v.Hypotheses = append(v.Hypotheses, hypothesis{h.Rank, h.Change.EventID, h.Score})
	}
	return v
}

func reportJSON(t *testing.T, r *correlate.Result) string {
	t.Helper()
	raw, err := json.MarshalIndent(report.ToJSON(r), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestResultKeepsVerdictAndHidesOriginals(t *testing.T) {
	for _, sc := range required {
		t.Run(sc.fixture, func(t *testing.T) {
			dir := sc.dir(t)
			orig := investigate(t, dir, sc)
			before := reportJSON(t, orig)
			red := New(testSeed).Result(orig)
			if diff := cmp.Diff(verdictOf(orig), verdictOf(red)); diff != "" {
				t.Errorf("verdict changed by redaction (-want +got):\n%s", diff)
			}
			if after := reportJSON(t, orig); after != before {
				t.Error("Result changed its argument")
			}
			leaks := findOriginals(t, dir).withImages(New(testSeed)).in(reportJSON(t, red))
			if len(leaks) > 0 {
				t.Errorf("the redacted report still shows %d original values: %v", len(leaks), leaks)
			}
		})
	}
}

func TestBundleReplaysToSameVerdict(t *testing.T) {
	for _, sc := range required {
		t.Run(sc.fixture, func(t *testing.T) { checkBundle(t, sc) })
	}
}

func TestBundleCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole catalog, redacted and replayed")
	}
	for _, sc := range catalog {
		t.Run(sc.fixture+"@"+sc.at, func(t *testing.T) { checkBundle(t, sc) })
	}
}

// checkBundle redacts a fixture bundle, replays the copy and compares the
// verdicts; it also checks that the copy holds none of the originals and
// that the report of the redacted bundle is the redacted report.
func checkBundle(t *testing.T, sc scenario) {
	dir := sc.dir(t)
	orig := investigate(t, dir, sc)
	rd := New(testSeed)
	dst := filepath.Join(t.TempDir(), "redacted")
	if err := rd.Bundle(dir, dst); err != nil {
		t.Fatal(err)
	}
	got := investigate(t, dst, sc)
	if diff := cmp.Diff(verdictOf(orig), verdictOf(got)); diff != "" {
		t.Errorf("verdict of the redacted bundle (-want +got):\n%s", diff)
	}
	originals := findOriginals(t, dir).withImages(rd)
	var leaks []string
	filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, path)
		leaks = append(leaks, originals.in(rel)...)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if info.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v, want 0700", rel, info.Mode().Perm())
			}
			return nil
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", rel, info.Mode().Perm())
		}
		raw, _ := os.ReadFile(path)
		for _, l := range originals.in(string(raw)) {
			leaks = append(leaks, rel+": "+l)
		}
		return nil
	})
	if len(leaks) > 0 {
		t.Errorf("the redacted bundle still shows %d original values, first: %v", len(leaks), leaks[:min(len(leaks), 10)])
	}
	// The same Redactor redacting the original report gives the report of
	// the redacted bundle: every value was replaced consistently, in the
	// bundle and in the report.
	want := reportJSON(t, rd.Result(orig))
	if diff := cmp.Diff(want, reportJSON(t, got)); diff != "" {
		t.Errorf("report of the redacted bundle differs from the redacted report (-want +got):\n%s", diff)
	}
}

// originals are the identifying values of a bundle, found independently
// of the package's own rules.
type originals struct {
	accounts, addrs, keys, users map[string]bool
	// bits are the prefix lengths of the bundle's CIDRs; images the
	// redacted forms of its addresses and CIDR networks, which may by
	// chance equal an original (10.20.0.0/16 maps to 10.20.0.0/16 when
	// Crypto-PAn's eight flip bits for the second octet all come out 0).
	bits   map[int]bool
	images map[string]bool
}

// withImages records the redacted forms of the originals' addresses.
func (o originals) withImages(rd *Redactor) originals {
	o.images = map[string]bool{}
	for s := range o.addrs {
		a := netip.MustParseAddr(s)
		m := rd.Addr(a)
		o.images[m.String()] = true
		for n := range o.bits {
			if p, err := m.Prefix(n); err == nil {
				o.images[p.Addr().String()] = true
			}
		}
	}
	return o
}

var (
	ipv4Find    = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	ipv6Find    = regexp.MustCompile(`\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b`)
	twelveFind  = regexp.MustCompile(`\b\d{12}\b`)
	keyFind     = regexp.MustCompile(`\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16,17}\b`)
	emailFind   = regexp.MustCompile(`[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`)
	sessionFind = regexp.MustCompile(`:(?:assumed-role/[^/"\\]+|user|federated-user)/([^/"\\\s]+)`)
	userFind    = regexp.MustCompile(`(?i)"username"\s*:\s*"([^"]+)"`)
	ctUserFind  = regexp.MustCompile(`\\"userName\\":\\"([^\\]+)\\"`)
	// roleFind finds role names, which are kept (a session named like its
	// role, assumed-role/oncall/oncall, shows the role's name).
	roleFind    = regexp.MustCompile(`assumed-role/([^/"\\]+)/|:role/(?:[^"\\\s]*/)?([^/"\\\s]+)`)
	instanceID  = regexp.MustCompile(`^i-[0-9a-f]+$`)
	versionLike = regexp.MustCompile(`/\d+\.\d+\.\d+\.\d+`)
	// accountFinds find account IDs in account members and ARNs; a bare
	// 12-digit search would also find the tails of request IDs.
	accountFinds = []*regexp.Regexp{
		regexp.MustCompile(`(?i)"[a-z]*(?:accountid|ownerid|account)"\s*:\s*"(\d{12})"`),
		regexp.MustCompile(`(?i)\\"[a-z]*(?:accountid|ownerid|account)\\":\\"(\d{12})\\"`),
		regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):`),
	}
	cidrFind    = regexp.MustCompile(`[0-9a-f][.:][0-9a-f.:]*/(\d{1,3})\b`)
	messageFind = regexp.MustCompile(`"message":\s*"([^"]*)"`)
	// wellKnown are addresses that are the same before and after: the
	// networks of the ranges kept (a canonical 192.168.0.0/16 is itself)
	// and the default route.
	wellKnown = map[string]bool{"0.0.0.0": true, "10.0.0.0": true, "172.16.0.0": true, "192.168.0.0": true,
		"169.254.0.0": true, "100.64.0.0": true, "::": true}
)

// findOriginals reads every file of the bundle in dir for account IDs,
// addresses, access keys and user names. Role names (a session issuer's
// userName) and instance sessions are not user names.
func findOriginals(t *testing.T, dir string) originals {
	t.Helper()
	o := originals{accounts: map[string]bool{}, addrs: map[string]bool{}, keys: map[string]bool{}, users: map[string]bool{}, bits: map[int]bool{}}
	roles := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := string(raw)
		for _, re := range accountFinds {
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				o.accounts[m[1]] = true
			}
		}
		if strings.Contains(path, "FilterLogEvents") {
			for _, m := range messageFind.FindAllStringSubmatch(s, -1) {
				for _, tok := range strings.Fields(m[1]) {
					if twelveFind.MatchString(tok) && len(tok) == 12 {
						o.accounts[tok] = true
					}
				}
			}
		}
		for _, m := range ipv4Find.FindAllStringIndex(s, -1) {
			if versionLike.MatchString(s[max(0, m[0]-1):m[1]]) {
				continue // a product version in a user agent
			}
			if a, err := netip.ParseAddr(s[m[0]:m[1]]); err == nil && !wellKnown[a.String()] {
				o.addrs[a.String()] = true
			}
		}
		for _, m := range cidrFind.FindAllStringSubmatch(s, -1) {
			n, _ := strconv.Atoi(m[1])
			o.bits[n] = true
		}
		for _, m := range ipv6Find.FindAllString(s, -1) {
			if a, err := netip.ParseAddr(m); err == nil && !a.Is4() && !wellKnown[a.String()] {
				o.addrs[a.String()] = true
			}
		}
		for _, m := range keyFind.FindAllString(s, -1) {
			o.keys[m] = true
		}
		for _, m := range emailFind.FindAllString(s, -1) {
			o.users[m] = true
		}
		for _, m := range sessionFind.FindAllStringSubmatch(s, -1) {
			o.users[m[1]] = true
		}
		for _, m := range userFind.FindAllStringSubmatch(s, -1) {
			o.users[m[1]] = true
		}
		for _, m := range ctUserFind.FindAllStringSubmatch(s, -1) {
			o.users[m[1]] = true
		}
		for _, m := range roleFind.FindAllStringSubmatch(s, -1) {
			roles[m[1]+m[2]] = true
		}
		// Session issuers' userNames are role names.
		for _, m := range regexp.MustCompile(`\\"type\\":\\"Role\\",\\"principalId\\":\\"[^\\]*\\",\\"arn\\":\\"[^\\]*\\",\\"accountId\\":\\"[^\\]*\\",\\"userName\\":\\"([^\\]+)\\"`).FindAllStringSubmatch(s, -1) {
			roles[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for u := range o.users {
		if roles[u] || u == "root" || instanceID.MatchString(u) || strings.HasPrefix(u, "AWSServiceRoleFor") {
			delete(o.users, u)
		}
	}
	return o
}

// in returns the originals that occur in s as whole words.
func (o originals) in(s string) []string {
	var out []string
	for _, m := range twelveFind.FindAllString(s, -1) {
		if o.accounts[m] {
			out = append(out, "account "+m)
		}
	}
	for _, m := range ipv4Find.FindAllString(s, -1) {
		if o.addrs[m] && !o.images[m] {
			out = append(out, "address "+m)
		}
	}
	for _, m := range ipv6Find.FindAllString(s, -1) {
		if a, err := netip.ParseAddr(m); err == nil && o.addrs[a.String()] && !o.images[a.String()] {
			out = append(out, "address "+m)
		}
	}
	for _, m := range keyFind.FindAllString(s, -1) {
		if o.keys[m] {
			out = append(out, "key "+m)
		}
	}
	for u := range o.users {
		for i := strings.Index(s, u); i >= 0; {
			end := i + len(u)
			if (i == 0 || !isNameChar(s[i-1])) && nameEnd(s, end) {
				out = append(out, "user "+u)
				break
			}
			next := strings.Index(s[i+1:], u)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	sort.Strings(out)
	return out
}
