package report

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want, block string
	}{
		{name: "plain", in: "StopInstances by alice", want: "StopInstances by alice"},
		{name: "unicode", in: "tunnel “1” → down · 東京", want: "tunnel “1” → down · 東京"},
		{name: "CSI colour", in: "\x1b[31mred\x1b[0m", want: "red"},
		{name: "CSI with parameters and intermediates", in: "a\x1b[?1049hb\x1b[1 qc", want: "abc"},
		{name: "CSI unterminated", in: "a\x1b[31", want: "a"},
		{name: "CSI cut by a control", in: "a\x1b[3\nb", want: "a b", block: "a\nb"},
		{name: "OSC 8 hyperlink with BEL", in: "\x1b]8;;http://evil\x07click\x1b]8;;\x07", want: "click"},
		{name: "OSC title with ST", in: "a\x1b]0;pwned\x1b\\b", want: "ab"},
		{name: "OSC unterminated", in: "a\x1b]0;pwned", want: "a"},
		{name: "DCS", in: "a\x1bPq#0;2;0;0;0\x1b\\b", want: "ab"},
		{name: "APC", in: "a\x1b_Gf=100;AAAA\x1b\\b", want: "ab"},
		{name: "two-byte ESC", in: "a\x1bcb\x1b7c", want: "abc"},
		{name: "nF ESC", in: "a\x1b(Bb", want: "ab"},
		{name: "lone ESC at the end", in: "a\x1b", want: "a"},
		{name: "C1 CSI (UTF-8)", in: "a\u009b31mb", want: "ab"},
		{name: "C1 OSC (UTF-8) with C1 ST", in: "a\u009d0;x\u009cb", want: "ab"},
		{name: "C1 other", in: "a\u0084b", want: "ab"},
		{name: "raw 8-bit CSI byte", in: "a\x9b31mb", want: "a\uFFFD31mb"},
		{name: "invalid UTF-8", in: "a\xffb", want: "a\uFFFDb"},
		{name: "BEL NUL DEL", in: "a\x07b\x00c\x7fd", want: "abcd"},
		{name: "backspace overstrike", in: "abc\b\b\bxyz", want: "abcxyz"},
		{name: "newlines", in: "a\nb\r\nc\rd", want: "a b c d", block: "a\nb\nc\nd"},
		{name: "other line breaks", in: "a\vb\fc\u0085d\u2028e\u2029f", want: "a b c d e f", block: "a\nb\nc\nd\ne\nf"},
		{name: "tab", in: "a\tb", want: "a b"},
		{name: "bidi override", in: "file\u202egnp.exe", want: "filegnp.exe"},
		{name: "bidi isolate", in: "a\u2066b\u2069c", want: "abc"},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Sanitize(tc.in)); diff != "" {
				t.Errorf("Sanitize(%q) (-want +got):\n%s", tc.in, diff)
			}
			block := tc.block
			if block == "" {
				block = tc.want
			}
			if diff := cmp.Diff(block, SanitizeBlock(tc.in)); diff != "" {
				t.Errorf("SanitizeBlock(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred", "\x1b]8;;x\x07y", "\u009b1m", "a\r\nb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Sanitize(s), SanitizeBlock(s)} {
			if m := controls.FindString(out); m != "" && m != "\n" {
				t.Fatalf("Sanitize(%q) = %q keeps %q", s, out, m)
			}
		}
		if m := controls.FindString(Sanitize(s)); m != "" {
			t.Fatalf("Sanitize(%q) keeps %q", s, m)
		}
		if Sanitize(Sanitize(s)) != Sanitize(s) {
			t.Fatalf("Sanitize is not idempotent on %q", s)
		}
	})
}
