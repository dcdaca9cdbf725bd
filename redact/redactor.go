package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Redactor replaces account IDs, addresses, access key IDs and user names
// by stable tokens. The same value always gets the same token from one
// Redactor, whichever entry point meets it: redact the report and the
// bundle of one run with the same Redactor and they still agree. A
// Redactor is safe for concurrent use.
type Redactor struct {
	mu sync.Mutex

	pan4, pan6 *cryptoPAn
	tokenKey   []byte
	addrs      map[netip.Addr]netip.Addr

	// accounts maps account IDs to their tokens; knownAccounts are the
	// account IDs met in an account context (learned), which are then
	// replaced wherever they stand as a word.
	accounts      map[string]string
	accountTokens map[string]bool
	knownAccounts map[string]bool

	// keys maps access key IDs and unique IDs (AKIA…, AROA…) to tokens.
	keys   map[string]string
	keySeq int

	// users maps user names to user-N; knownUsers are the names learned
	// from identity contexts, replaced wherever they stand as a word;
	// keepUsers are session names of AWS service-linked roles, kept.
	users      map[string]string
	userSeq    int
	knownUsers map[string]bool
	keepUsers  map[string]bool
	// names indexes knownUsers by first byte, longest first; nil when it
	// must be rebuilt.
	names map[byte][]string

	// formats are the flow-log formats per log group of the bundle being
	// redacted ("" holds every format seen).
	formats map[string][]flowlog.Format
}

// New returns a Redactor whose tokens are derived from seed: the same seed
// gives the same tokens for the same values met in the same order. Pass a
// fresh random seed per run for attachments; a fixed one in tests.
func New(seed string) *Redactor {
	master := sha256.Sum256([]byte("vpnaudit/redact v1\x00" + seed))
	derive := func(label string) [32]byte {
		m := hmac.New(sha256.New, master[:])
		m.Write([]byte(label))
		var k [32]byte
		copy(k[:], m.Sum(nil))
		return k
	}
	tk := derive("tokens")
	return &Redactor{
		pan4:          newCryptoPAn(derive("crypto-pan ipv4"), protected4),
		pan6:          newCryptoPAn(derive("crypto-pan ipv6"), protected6),
		tokenKey:      tk[:],
		addrs:         map[netip.Addr]netip.Addr{},
		accounts:      map[string]string{},
		accountTokens: map[string]bool{},
		knownAccounts: map[string]bool{},
		keys:          map[string]string{},
		users:         map[string]string{},
		knownUsers:    map[string]bool{},
		keepUsers:     map[string]bool{},
		formats:       map[string][]flowlog.Format{},
	}
}

// Addr returns the anonymized form of an IP address (see the package
// documentation); it is exported for tests and for callers that hold
// addresses outside a report or bundle.
func (r *Redactor) Addr(a netip.Addr) netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr(a)
}

// Text redacts one free-text string with the rules of the package
// documentation, as Result does with every string of a report.
func (r *Redactor) Text(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.learnString(s)
	return r.value(s)
}

func (r *Redactor) addr(a netip.Addr) netip.Addr {
	if m, ok := r.addrs[a]; ok {
		return m
	}
	var m netip.Addr
	switch {
	case a.Is4():
		b := a.As4()
		var o [4]byte
		copy(o[:], r.pan4.anonymize(b[:]))
		m = netip.AddrFrom4(o)
	case a.Is4In6():
		// ::ffff:a.b.c.d maps as a.b.c.d does, so that both spellings of
		// one host stay one host.
		v4 := r.addr(a.Unmap()).As4()
		var o [16]byte
		o[10], o[11] = 0xff, 0xff
		copy(o[12:], v4[:])
		m = netip.AddrFrom16(o)
	default:
		b := a.As16()
		var o [16]byte
		copy(o[:], r.pan6.anonymize(b[:]))
		m = netip.AddrFrom16(o)
	}
	m = m.WithZone(a.Zone())
	r.addrs[a] = m
	return m
}

// prefix maps a.b.c.d/n: the address is mapped and /n kept; a canonical
// prefix (host bits zero, as in 10.20.0.0/16 or 0.0.0.0/0) stays canonical,
// which by prefix preservation is the image of every address inside it.
func (r *Redactor) prefix(a netip.Addr, bits int) netip.Prefix {
	m := r.addr(a)
	if p, err := a.Prefix(bits); err == nil && p.Addr() == a {
		q, _ := m.Prefix(bits)
		return q
	}
	return netip.PrefixFrom(m, bits)
}

// account returns the token of a 12-digit account ID: 9999 followed by
// eight digits derived from the value, unique within the Redactor.
func (r *Redactor) account(id string) string {
	if t, ok := r.accounts[id]; ok {
		return t
	}
	m := hmac.New(sha256.New, r.tokenKey)
	m.Write([]byte("account\x00" + id))
	n := binary.BigEndian.Uint64(m.Sum(nil)) % 1e8
	var t string
	for {
		t = fmt.Sprintf("9999%08d", n)
		if !r.accountTokens[t] && !r.knownAccounts[t] && t != id {
			break
		}
		n = (n + 1) % 1e8
	}
	r.accounts[id] = t
	r.accountTokens[t] = true
	return t
}

// key returns the token of an access key ID or unique ID: its four-letter
// prefix, REDACTED and a counter, padded to the original length.
func (r *Redactor) key(id string) string {
	if t, ok := r.keys[id]; ok {
		return t
	}
	r.keySeq++
	width := max(len(id)-len("AKIA")-len("REDACTED"), 4)
	t := fmt.Sprintf("%sREDACTED%0*d", id[:4], width, r.keySeq)
	r.keys[id] = t
	return t
}

// user returns the token of a user name (user-N), or the name itself when
// it is not personal: empty, root, an AWS resource ID, an AWS service.
func (r *Redactor) user(name string) string {
	if keepName(name) || r.keepUsers[name] {
		return name
	}
	if t, ok := r.users[name]; ok {
		return t
	}
	var t string
	for {
		r.userSeq++
		t = fmt.Sprintf("user-%d", r.userSeq)
		if !r.knownUsers[t] {
			break
		}
	}
	r.users[name] = t
	return t
}

// keepName reports whether a name found where a user name goes is kept.
func keepName(name string) bool {
	switch {
	case name == "", name == "root", name == "AWS Internal", strings.EqualFold(name, "HIDDEN_DUE_TO_SECURITY_REASONS"):
		return true
	case strings.HasSuffix(name, ".amazonaws.com"), resourceID.MatchString(name):
		return true
	}
	return false
}

// resourceID matches AWS resource IDs (i-0123abcd…, eni-…, vpn-…): they are
// needed to act on a report and are not personal.
var resourceID = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)

// learnUser records a name met in an identity context.
func (r *Redactor) learnUser(name string) {
	name = strings.TrimSpace(name)
	if keepName(name) || r.keepUsers[name] || r.knownUsers[name] {
		return
	}
	if accessKey.MatchString(name) || isAccountID(name) {
		return // handled by their own rules
	}
	r.knownUsers[name] = true
	r.names = nil
}

// learnAccount records an account ID met in an account context.
func (r *Redactor) learnAccount(id string) {
	if isAccountID(id) {
		r.knownAccounts[id] = true
	}
}

// nameIndex returns the known user names by first byte, longest first.
func (r *Redactor) nameIndex() map[byte][]string {
	if r.names != nil {
		return r.names
	}
	idx := map[byte][]string{}
	for n := range r.knownUsers {
		if len(n) < 3 {
			continue // too short to be told from ordinary words
		}
		idx[n[0]] = append(idx[n[0]], n)
	}
	for _, ns := range idx {
		sort.Slice(ns, func(i, j int) bool {
			if len(ns[i]) != len(ns[j]) {
				return len(ns[i]) > len(ns[j])
			}
			return ns[i] < ns[j]
		})
	}
	r.names = idx
	return idx
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
