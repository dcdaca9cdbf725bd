package cli

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/redact"
)

// A second Ctrl-C may abort while the run is writing its bundle: whatever
// the interleaving, the target holds a whole bundle or nothing, and no
// temporary directory (recording, unredacted copy, redacted copy in
// progress) is left beside it.
func TestSourceAbortWhileFinishing(t *testing.T) {
	for _, redacted := range []bool{false, true} {
		for i := 0; i < 20; i++ {
			parent := t.TempDir()
			target := filepath.Join(parent, "bundle")
			recDir := target
			s := &source{region: "eu-central-1", now: time.Date(2026, 11, 3, 22, 0, 0, 0, time.UTC), recordTo: target}
			if redacted {
				recDir = filepath.Join(parent, ".bundle.unredacted-1")
				s.redactor = redact.New("seed")
			}
			rec, err := live.NewRecorder(recDir)
			if err != nil {
				t.Fatal(err)
			}
			s.rec = rec
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); s.abort() }()
			ferr := s.finish("111122223333")
			wg.Wait()
			s.abort() // the hard stop's cleanup may come last

			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			switch {
			case len(names) == 0:
				// Aborted before the bundle was complete.
			case len(names) == 1 && names[0] == "bundle":
				if _, err := os.Stat(filepath.Join(target, "bundle.json")); err != nil {
					t.Fatalf("redacted=%v: the target exists without its manifest (finish: %v): %v", redacted, ferr, err)
				}
			default:
				t.Fatalf("redacted=%v: left beside the target: %v (finish: %v)", redacted, names, ferr)
			}
		}
	}
}
