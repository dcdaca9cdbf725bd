package redact

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCryptoPAnReference checks the construction against the reference
// implementation's published sample (Xu et al., key below, no protected
// prefixes).
func TestCryptoPAnReference(t *testing.T) {
	key := [32]byte{21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
		216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2}
	p := newCryptoPAn(key, nil)
	tests := []struct{ in, want string }{
		{"128.11.68.132", "135.242.180.132"},
		{"129.118.74.4", "134.136.186.123"},
		{"130.132.252.244", "133.68.164.234"},
		{"141.223.7.43", "141.167.8.160"},
		{"192.102.249.13", "252.138.62.131"},
		{"24.0.250.221", "100.15.198.226"},
		{"4.3.88.225", "124.60.155.63"},
		{"64.14.118.196", "0.255.183.58"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.in).As4()
		got := netip.AddrFrom4([4]byte(p.anonymize(a[:]))).String()
		if got != tt.want {
			t.Errorf("anonymize(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func randAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if b[0] == 0 { // keep clear of ::ffff:0:0/96, which maps as IPv4
			b[0] = 0x20
		}
		return netip.AddrFrom16(b)
	}
	var b [4]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return netip.AddrFrom4(b)
}

// related returns b sharing a random number of leading bits with a, so the
// pairs cover every common prefix length, not only short ones.
func related(rng *rand.Rand, a netip.Addr) netip.Addr {
	b := a.AsSlice()
	n := len(b) * 8
	keep := rng.IntN(n + 1)
	for i := keep; i < n; i++ {
		if i == keep || rng.IntN(2) == 0 {
			b[i/8] ^= 0x80 >> (i % 8)
		}
	}
	c, _ := netip.AddrFromSlice(b)
	return c
}

func TestPrefixPreservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := New(testSeed)
	for _, v6 := range []bool{false, true} {
		for i := 0; i < 2000; i++ {
			a := randAddr(rng, v6)
			// Half the pairs inside protected ranges.
			if i%2 == 0 {
				if v6 {
					a = netip.MustParseAddr("fd12:3456::").Next()
				} else {
					a = netip.AddrFrom4([4]byte{10, byte(rng.UintN(256)), byte(rng.UintN(256)), byte(rng.UintN(256))})
				}
				a = related(rng, a)
			}
			b := related(rng, a)
			want := commonBits(a.AsSlice(), b.AsSlice())
			ma, mb := r.Addr(a), r.Addr(b)
			if got := commonBits(ma.AsSlice(), mb.AsSlice()); got != want {
				t.Fatalf("%s and %s share %d bits; their images %s and %s share %d", a, b, want, ma, mb, got)
			}
			if a != b && ma == mb {
				t.Fatalf("%s and %s both map to %s", a, b, ma)
			}
		}
	}
}

func TestProtectedRanges(t *testing.T) {
	r := New(testSeed)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range append(append([]netip.Prefix(nil), protected4...), protected6...) {
		for i := 0; i < 200; i++ {
			a := randAddr(rng, p.Addr().Is6())
			// Put a in p.
			b := a.AsSlice()
			pb := p.Addr().AsSlice()
			for j := 0; j < p.Bits(); j++ {
				mask := byte(0x80 >> (j % 8))
				b[j/8] = b[j/8]&^mask | pb[j/8]&mask
			}
			a, _ = netip.AddrFromSlice(b)
			if m := r.Addr(a); !p.Contains(m) {
				t.Fatalf("%s in %s maps to %s, outside it", a, p, m)
			}
		}
	}
	// An address outside every protected range never maps into one.
	for i := 0; i < 5000; i++ {
		a := randAddr(rng, false)
		m := r.Addr(a)
		for _, p := range protected4 {
			if p.Contains(m) != p.Contains(a) {
				t.Fatalf("%s maps to %s: in %s %v, was %v", a, m, p, p.Contains(m), p.Contains(a))
			}
		}
	}
}

func TestAddrDeterministicPerSeed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var addrs []netip.Addr
	for i := 0; i < 200; i++ {
		addrs = append(addrs, randAddr(rng, i%2 == 0))
	}
	images := func(seed string) []netip.Addr {
		r := New(seed)
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, r.Addr(a))
		}
		return out
	}
	one, again, other := images("seed-1"), images("seed-1"), images("seed-2")
	if diff := cmp.Diff(one, again, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("the same seed gave different images (-first +second):\n%s", diff)
	}
	same := 0
	for i := range one {
		if one[i] == other[i] {
			same++
		}
	}
	if same > 2 {
		t.Errorf("%d of %d addresses map alike under two seeds", same, len(one))
	}
}

func TestPrefixMapping(t *testing.T) {
	r := New(testSeed)
	tests := []string{"10.20.0.0/16", "18.198.77.0/24", "0.0.0.0/0", "3.121.204.17/32", "2001:db8:1200::/40", "::/0"}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range tests {
		p := netip.MustParsePrefix(s)
		m := r.prefix(p.Addr(), p.Bits())
		if m.Bits() != p.Bits() || m.Masked() != m {
			t.Errorf("%s maps to %s: want a canonical /%d", p, m, p.Bits())
		}
		if p.Bits() == 0 && m != p {
			t.Errorf("%s maps to %s, want itself", p, m)
		}
		// Every address of the prefix maps into the image.
		for i := 0; i < 100; i++ {
			a := randAddr(rng, p.Addr().Is6())
			b := a.AsSlice()
			pb := p.Addr().AsSlice()
			for j := 0; j < p.Bits(); j++ {
				mask := byte(0x80 >> (j % 8))
				b[j/8] = b[j/8]&^mask | pb[j/8]&mask
			}
			a, _ = netip.AddrFromSlice(b)
			if !m.Contains(r.Addr(a)) {
				t.Errorf("%s in %s maps to %s, outside %s", a, p, r.Addr(a), m)
			}
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
