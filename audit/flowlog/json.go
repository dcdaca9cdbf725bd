package flowlog

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the record as one JSON object to dst and returns the
// extended buffer. Keys are the AWS field names in format order; numeric
// fields are JSON numbers, other fields strings, and "-" is null. A record
// without fields (after a parse error) is {}.
func (r *Record) AppendJSON(dst []byte) []byte {
	if len(r.spans) == 0 {
		return append(dst, "{}"...)
	}
	d := r.f
	for i, sp := range r.spans {
		dst = append(dst, d.keys[i]...)
		v := r.buf[sp.start:sp.end]
		switch {
		case isDash(v):
			dst = append(dst, "null"...)
		case d.kinds[i] == kindNumber:
			dst = strconv.AppendInt(dst, r.nums[i], 10)
		default:
			dst = appendJSONString(dst, v)
		}
	}
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with [Record.AppendJSON].
func (r *Record) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 2*len(r.buf)+64)), nil
}

// safeASCII marks the ASCII bytes that need no escaping in a JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes like encoding/json
// without HTML escaping: quotes, backslashes and control characters, U+2028
// and U+2029; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
