package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the watcher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStopperSignals(t *testing.T) {
	tests := []struct {
		name      string
		signals   []os.Signal
		wantCause string
		wantExit  int // 0: no hard exit
		wantOut   string
	}{
		{"Ctrl-C", []os.Signal{os.Interrupt}, "interrupted by Ctrl-C", 0,
			"\nvpnaudit: interrupted by Ctrl-C: finishing the report from the evidence read so far (Ctrl-C again to quit at once)\n"},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, "terminated by SIGTERM", 0,
			"\nvpnaudit: terminated by SIGTERM: finishing the report from the evidence read so far (Ctrl-C again to quit at once)\n"},
		{"Ctrl-C twice", []os.Signal{os.Interrupt, os.Interrupt}, "interrupted by Ctrl-C", 130,
			"\nvpnaudit: interrupted by Ctrl-C: finishing the report from the evidence read so far (Ctrl-C again to quit at once)\n" +
				"\nvpnaudit: stopped; nothing half-written was left behind\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exited := make(chan int, 1)
			hardExit = func(code int) { exited <- code }
			defer func() { hardExit = os.Exit }()
			var stderr syncBuffer
			s := newStopper(context.Background(), 0, &stderr)
			defer s.stop()
			aborted := false
			s.atHardStop(func() { aborted = true })
			for _, sig := range tc.signals {
				s.sigs <- sig
				if sig == tc.signals[0] {
					<-s.ctx.Done() // the first signal cancels
				}
			}
			code := 0
			if tc.wantExit != 0 {
				code = <-exited
			}
			got := struct {
				Cause, Out    string
				Exit          int
				AbortedRecord bool
			}{context.Cause(s.ctx).Error(), stderr.String(), code, aborted}
			want := struct {
				Cause, Out    string
				Exit          int
				AbortedRecord bool
			}{tc.wantCause, tc.wantOut, tc.wantExit, tc.wantExit != 0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStopperTimeout(t *testing.T) {
	var stderr syncBuffer
	s := newStopper(context.Background(), 20*time.Millisecond, &stderr)
	defer s.stop()
	<-s.ctx.Done()
	if diff := cmp.Diff("stopped at the --timeout of 20ms", context.Cause(s.ctx).Error()); diff != "" {
		t.Errorf("cause (-want +got):\n%s", diff)
	}
}

func TestWhyTimeout(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"expired before the alarm is read", []string{"--timeout", "1ns"}, ExitError,
			"vpnaudit: stopped at the --timeout of 1ns before the alarm \"VPN-Down\" was read: there is nothing to report\n"},
		{"negative", []string{"--timeout", "-5s"}, ExitUsage,
			"vpnaudit: --timeout -5s: want a positive duration such as 90s or 5m\n"},
		{"generous", []string{"--timeout", "10m", "--format", "json"}, ExitOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"why", "--alarm", "VPN-Down", "--from", lab}, tc.args...)...)
			stderr := r.stderr
			if i := strings.Index(stderr, "\nRun 'vpnaudit"); i >= 0 {
				stderr = stderr[:i+1]
			}
			if diff := cmp.Diff(struct {
				Code int
				Err  string
			}{tc.wantCode, tc.wantErr}, struct {
				Code int
				Err  string
			}{r.code, stderr}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.wantCode == ExitOK && !strings.Contains(r.stdout, `"partial": false`) {
				t.Errorf("a run that finished is not marked partial=false:\n%.400s", r.stdout)
			}
		})
	}
}

// A bundle recorded by a run stopped early replays to a report marked
// partial, for the same reason.
func TestWhyInterruptedRecording(t *testing.T) {
	src := testenv.Fixture(t, "lab-console-stop")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "bundle.json")
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["Interrupted"] = "interrupted by Ctrl-C"
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(manifest, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", dir, "--format", "json")
	var doc struct {
		Partial     bool   `json:"partial"`
		Interrupted string `json:"interrupted"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stderr)
	}
	type out struct {
		Code        int
		Stderr      string
		Partial     bool
		Interrupted string
	}
	want := out{ExitOK, "vpnaudit: interrupted by Ctrl-C: the report is partial, from the evidence read before then\n", true, "interrupted by Ctrl-C"}
	if diff := cmp.Diff(want, out{r.code, r.stderr, doc.Partial, doc.Interrupted}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A panic is a bug; it reaches the user as one sentence, not a stack trace.
func TestRunRecoversPanic(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	var stderr bytes.Buffer
	// No standard output at all: writing the report panics.
	code := Run([]string{"vpnaudit", "why", "--alarm", "VPN-Down", "--from", lab}, Env{Stderr: &stderr, Getenv: func(string) string { return "" }})
	got := struct {
		Code  int
		First string
	}{code, strings.SplitN(stderr.String(), ":", 3)[0] + ":" + strings.SplitN(stderr.String(), ":", 3)[1]}
	want := struct {
		Code  int
		First string
	}{ExitError, "vpnaudit: internal error"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s\nstderr: %s", diff, stderr.String())
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("a stack trace reached the user:\n%s", stderr.String())
	}
}
