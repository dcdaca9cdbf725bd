package report

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Invisible and control runes are escaped, and decode back to themselves.
func TestEscapeInvisible(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"ua":"ok"}`, `{"ua":"ok"}`},
		{"{\"ua\":\"a\u009b2Jb\"}", `{"ua":"a\u009b2Jb"}`},
		{"{\"name\":\"\u202eevil\u2066\"}", `{"name":"\u202eevil\u2066"}`},
		{"{\"zw\":\"x\u200by\ufeff\"}", `{"zw":"x\u200by\ufeff"}`},
		{`{"jp":"東京"}`, `{"jp":"東京"}`},
	}
	for _, tt := range tests {
		got := string(escapeInvisible([]byte(tt.in)))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("escapeInvisible(%q) (-want +got):\n%s", tt.in, diff)
		}
		var a, b map[string]string
		if err := json.Unmarshal([]byte(tt.in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(got), &b); err != nil {
			t.Fatalf("escaped JSON does not parse: %v", err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("escaping changed the values (-in +out):\n%s", diff)
		}
	}
}
