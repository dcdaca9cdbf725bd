package redact

import (
	"crypto/aes"
	"crypto/cipher"
	"net/netip"
)

// cryptoPAn is prefix-preserving address anonymization after Xu, Fan,
// Ammar and Moon, "Prefix-Preserving IP Address Anonymization" (2002): bit
// i of the output is bit i of the input XOR a pseudo-random function of the
// input's first i bits. Two addresses that share their first n bits map to
// two addresses that share exactly their first n bits, so every subnet maps
// onto a subnet of the same size and containment survives.
//
// The function is the first bit of AES_k(first i bits of the address ‖ the
// rest of pad), with pad = AES_k(second half of the key), as in the
// reference implementation; IPv6 uses the same construction over 128 bits.
//
// One departure, to keep reports readable: on the way down to a protected
// prefix (RFC 1918, shared address space, link-local, unique-local) no bit
// is flipped, so private addresses stay private and link-local tunnel
// inside addresses stay link-local. Any choice of flip bits per prefix is a
// prefix-preserving bijection, so this costs nothing in correctness; its
// price is that the leading bits an address shares with a protected prefix
// are kept (see the package documentation).
type cryptoPAn struct {
	block     cipher.Block
	pad       [16]byte
	protected []netip.Prefix
}

func newCryptoPAn(key [32]byte, protected []netip.Prefix) *cryptoPAn {
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	p := &cryptoPAn{block: b, protected: protected}
	b.Encrypt(p.pad[:], key[16:])
	return p
}

// Protected prefixes: their own bits are kept, the rest of the address is
// anonymized.
var (
	protected4 = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
	}
	protected6 = []netip.Prefix{
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
	}
)

// anonymize maps a (4 or 16 bytes) to its anonymized form.
func (p *cryptoPAn) anonymize(a []byte) []byte {
	n := len(a) * 8
	keep := p.keptBits(a)
	out := make([]byte, len(a))
	copy(out, a)
	var in, enc [16]byte
	for i := keep; i < n; i++ {
		// in = first i bits of a, then pad from bit i on.
		in = p.pad
		full := i / 8
		copy(in[:full], a[:full])
		if rem := i % 8; rem > 0 {
			mask := byte(0xff << (8 - rem))
			in[full] = a[full]&mask | p.pad[full]&^mask
		}
		p.block.Encrypt(enc[:], in[:])
		if enc[0]&0x80 != 0 {
			out[i/8] ^= 0x80 >> (i % 8)
		}
	}
	return out
}

// keptBits returns how many leading bits of a are left unflipped: one more
// than the deepest node, on a's path, that is a proper ancestor of a
// protected prefix.
func (p *cryptoPAn) keptBits(a []byte) int {
	keep := 0
	for _, pr := range p.protected {
		pb := pr.Addr().AsSlice()
		if len(pb) != len(a) {
			continue
		}
		c := min(commonBits(a, pb), pr.Bits()-1)
		keep = max(keep, c+1)
	}
	return keep
}

// commonBits is the length of the common prefix of a and b, in bits.
func commonBits(a, b []byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			n := i * 8
			for x&0x80 == 0 {
				x <<= 1
				n++
			}
			return n
		}
	}
	return len(a) * 8
}
