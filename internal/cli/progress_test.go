package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 200)
	p.update("cloudtrail", "1 pages, 50 changes")
	p.update("metrics", "fetching 16 metric series")
	p.update("cloudtrail", "2 pages, 80 changes")
	p.done()
	want := []string{"",
		"cloudtrail: 1 pages, 50 changes",
		"cloudtrail: 1 pages, 50 changes · metrics: fetching 16 metric series",
		"cloudtrail: 2 pages, 80 changes · metrics: fetching 16 metric series",
		""}
	if diff := cmp.Diff(want, strings.Split(b.String(), "\r\x1b[K")); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestProgressFitsTheTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 40)
	p.update("cloudtrail", "2 pages, 80 changes")
	p.update("flow-logs", "/vpc/flowlogs/datacenter: 4 pages")
	frame := strings.TrimPrefix(b.String()[strings.LastIndex(b.String(), "\r\x1b[K"):], "\r\x1b[K")
	if n := len([]rune(frame)); n >= 40 || !strings.HasSuffix(frame, "datacenter: 4 pages") || !strings.HasPrefix(frame, "…") {
		t.Errorf("frame %q (%d runes): want under 40 runes, cut on the left, ending with the latest step", frame, n)
	}
}
