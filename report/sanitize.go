package report

import (
	"strings"
	"unicode/utf8"
)

// Sanitize makes one evidence string safe to print on a terminal or in a
// document, as a single line. Every string that comes from the evidence
// (names, tags, user agents, error messages, request parameters,
// summaries) goes through it before it is laid out, in every format:
//
//   - escape sequences are removed with their payloads: CSI (ESC [ …
//     final), OSC (ESC ] … BEL or ST), DCS, SOS, PM and APC strings, other
//     ESC sequences, and the 8-bit C1 forms of all of them;
//   - line breaks (CR, LF, CRLF, VT, FF, NEL, U+2028, U+2029) and tabs
//     become one space;
//   - the other C0 and C1 controls, DEL, and the Unicode bidirectional
//     overrides and isolates (which reorder what the reader sees) are
//     removed;
//   - bytes that are not UTF-8 become U+FFFD.
func Sanitize(s string) string { return sanitize(s, false) }

// SanitizeBlock is Sanitize for multi-line text (a pretty-printed request,
// an error message that quotes evidence): line breaks are kept as "\n",
// everything else is treated as Sanitize does.
func SanitizeBlock(s string) string { return sanitize(s, true) }

const (
	esc = 0x1b
	bel = 0x07
	// 8-bit C1 controls that open or close sequences.
	c1DCS = 0x90
	c1SOS = 0x98
	c1CSI = 0x9b
	c1ST  = 0x9c
	c1OSC = 0x9d
	c1PM  = 0x9e
	c1APC = 0x9f
)

func sanitize(s string, multiline bool) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	newline := func() {
		if multiline {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b.WriteString("\uFFFD")
			i++
			continue
		}
		switch {
		case r == esc:
			i = skipEscape(s, i+n)
			continue
		case r == c1CSI:
			i = skipCSI(s, i+n)
			continue
		case r == c1OSC || r == c1DCS || r == c1SOS || r == c1PM || r == c1APC:
			i = skipString(s, i+n)
			continue
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				n++
			}
			newline()
		case r == '\n' || r == '\v' || r == '\f' || r == 0x85 || r == '\u2028' || r == '\u2029':
			newline()
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// Other controls: dropped.
		case bidiControl(r):
			// Dropped: they reorder the text a reader sees.
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clean reports whether s needs no change (the common case).
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			// Multi-byte: check the runes from here on.
			for _, r := range s[i:] {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
					bidiControl(r) || r == '\u2028' || r == '\u2029' {
					return false
				}
			}
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

func bidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// skipEscape skips the rest of an ESC sequence whose ESC ended just before
// i and returns the index after it.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return skipString(s, i+1)
	case c >= 0x20 && c <= 0x2f:
		// nF: intermediates, then one final byte.
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		// Two-byte sequence (ESC 7, ESC c, ESC \ …).
		return i + 1
	}
	// A lone ESC before a control or non-ASCII: only the ESC goes.
	return i
}

// skipCSI skips a control sequence's parameter, intermediate and final
// bytes. A byte that cannot belong to it ends it without being consumed.
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c <= 0x3f:
			i++
		case c >= 0x40 && c <= 0x7e:
			return i + 1
		default:
			return i
		}
	}
	return i
}

// skipString skips an OSC, DCS, SOS, PM or APC payload up to and including
// its terminator (BEL, ESC \ or the 8-bit ST); an unterminated one runs to
// the end, as it would on a terminal.
func skipString(s string, i int) int {
	const st8 = string(rune(c1ST))
	for i < len(s) {
		switch {
		case s[i] == bel:
			return i + 1
		case s[i] == esc:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			// ESC starts something else: the string ends here.
			return i
		case strings.HasPrefix(s[i:], st8):
			return i + len(st8)
		}
		i++
	}
	return i
}
