package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// progress keeps one status line on a terminal's stderr with the latest
// step of every source ("cloudtrail: 3 pages, 120 changes · metrics: …"),
// redrawn in place as the concurrent sources report.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	width  int
	order  []string
	latest map[string]string
}

func newProgress(w io.Writer, width int) *progress {
	return &progress{w: w, width: width, latest: map[string]string{}}
}

// update records a source's step and redraws the line.
func (p *progress) update(source, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.latest[source]; !ok {
		p.order = append(p.order, source)
	}
	p.latest[source] = msg
	var parts []string
	for _, s := range p.order {
		parts = append(parts, s+": "+p.latest[s])
	}
	line := strings.Join(parts, " · ")
	if r := []rune(line); p.width > 1 && len(r) >= p.width {
		line = "…" + string(r[len(r)-p.width+2:])
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
}

// done clears the line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
}
