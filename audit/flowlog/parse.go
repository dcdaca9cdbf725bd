package flowlog

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
)

// Errors a [FieldError] or a record-level parse error wraps; test with errors.Is.
var (
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrNotNumber   = errors.New("not a number")
	ErrOutOfRange  = errors.New("number out of range")
	ErrNotAddress  = errors.New("not an IP address")
	ErrEmptyRecord = errors.New("empty record")
)

// FieldError is a value that does not fit its field.
type FieldError struct {
	Pos   int    // position of the field, from 1
	Name  string // the field's name
	Value string // the offending value, shortened if very long
	Err   error  // ErrNotNumber, ErrOutOfRange or ErrNotAddress
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("field %d (%s): %q: %v", e.Pos, e.Name, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// maxErrorValue bounds how much of a bad value an error message quotes.
const maxErrorValue = 64

func newFieldError(d *formatData, i int, v []byte, err error) *FieldError {
	s := string(v[:min(len(v), maxErrorValue)])
	if len(v) > maxErrorValue {
		s += "..."
	}
	return &FieldError{Pos: i + 1, Name: d.names[i], Value: s, Err: err}
}

// Parser parses records of one [Format].
type Parser struct {
	f Format
}

// NewParser returns a Parser for records of format f.
func NewParser(f Format) *Parser { return &Parser{f: f} }

// Format returns the parser's format.
func (p *Parser) Format() Format { return p.f }

// Parse parses one record into rec, reusing rec's storage: it does not
// allocate once rec has grown to the size of the format's records (except to
// decode an IPv6 address). Values are separated by one or more spaces or tabs;
// a trailing CR or LF is ignored.
//
// A record whose number of values differs from the format's, a numeric field
// whose value is not a non-negative decimal integer (ports must be at most
// 65535 and protocol at most 255), and an address field whose value is not an
// IP address are errors; the error names the field and the value. After an
// error rec holds no fields.
func (p *Parser) Parse(line []byte, rec *Record) error {
	d := p.f.data()
	n := len(d.names)
	rec.prepare(d, line)
	buf := rec.buf

	// Split into fields, counting past n so the error can say how many there were.
	got := 0
	for i := 0; ; {
		for i < len(buf) && isSep[buf[i]] {
			i++
		}
		if i >= len(buf) {
			break
		}
		start := i
		for i < len(buf) && !isSep[buf[i]] {
			i++
		}
		if got < n {
			rec.spans[got] = span{start, i}
		}
		got++
	}
	if got != n {
		rec.clear()
		if got == 0 {
			return ErrEmptyRecord
		}
		return fmt.Errorf("%w: got %d, the format has %d", ErrFieldCount, got, n)
	}

	// Decode numbers and addresses; "-" is absent.
	for i, k := range d.kinds {
		if k == kindString {
			continue
		}
		v := buf[rec.spans[i].start:rec.spans[i].end]
		if k == kindNumber {
			if isDash(v) {
				rec.nums[i] = -1
				continue
			}
			x, err := parseNumber(v)
			if err == nil && x > d.limits[i] {
				err = ErrOutOfRange
			}
			if err != nil {
				rec.clear()
				return newFieldError(d, i, v, err)
			}
			rec.nums[i] = x
			continue
		}
		if isDash(v) {
			rec.addrs[i] = netip.Addr{}
			continue
		}
		a, ok := parseIPv4(v)
		if !ok {
			var err error
			// Slow path: IPv6, or an error. The conversion allocates.
			if a, err = netip.ParseAddr(string(v)); err != nil {
				rec.clear()
				return newFieldError(d, i, v, ErrNotAddress)
			}
		}
		rec.addrs[i] = a
	}
	return nil
}

// prepare copies line into the record and sizes its storage for format d.
func (r *Record) prepare(d *formatData, line []byte) {
	n := len(d.names)
	r.f = d
	r.buf = append(r.buf[:0], line...)
	if cap(r.spans) < n {
		r.spans = make([]span, n)
		r.nums = make([]int64, n)
		r.addrs = make([]netip.Addr, n)
	}
	r.spans = r.spans[:n]
	r.nums = r.nums[:n]
	r.addrs = r.addrs[:n]
}

// clear leaves the record without fields, keeping its storage.
func (r *Record) clear() {
	r.f = nil
	r.buf = r.buf[:0]
	r.spans = r.spans[:0]
	r.nums = r.nums[:0]
	r.addrs = r.addrs[:0]
}

// isSep marks the bytes that separate values. AWS writes single spaces; some
// samples have double spaces, and tabs or a trailing CR are tolerated.
var isSep = [256]bool{' ': true, '\t': true, '\r': true, '\n': true}

// parseNumber parses a non-negative decimal integer that fits in an int64.
func parseNumber(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, ErrNotNumber
	}
	var v uint64
	for i, c := range b {
		c -= '0'
		if c > 9 {
			return 0, ErrNotNumber
		}
		if i >= 19 { // 19 digits cannot overflow a uint64; more cannot fit an int64
			return 0, digitsOrNot(b[i:])
		}
		v = v*10 + uint64(c)
	}
	if v > math.MaxInt64 {
		return 0, ErrOutOfRange
	}
	return int64(v), nil
}

// digitsOrNot tells a too-long number from a non-number.
func digitsOrNot(b []byte) error {
	for _, c := range b {
		if c < '0' || c > '9' {
			return ErrNotNumber
		}
	}
	return ErrOutOfRange
}

// parseIPv4 parses a dotted-decimal IPv4 address without allocating. It is as
// strict as netip.ParseAddr (no leading zeros); anything it rejects goes to
// netip.ParseAddr, which handles IPv6 and reports errors.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	n, octet, digits := 0, 0, 0
	for _, c := range b {
		if c == '.' {
			if digits == 0 || n == 3 {
				return netip.Addr{}, false
			}
			ip[n] = byte(octet)
			n, octet, digits = n+1, 0, 0
			continue
		}
		if c < '0' || c > '9' || (digits > 0 && octet == 0) {
			return netip.Addr{}, false
		}
		octet = octet*10 + int(c-'0')
		digits++
		if octet > 255 {
			return netip.Addr{}, false
		}
	}
	if n != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(octet)
	return netip.AddrFrom4(ip), true
}
