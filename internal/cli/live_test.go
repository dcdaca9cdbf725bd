package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

// A live run against moto with --record and --redact leaves only the
// redacted bundle, and that bundle replays to the live run's verdict.
func TestLiveRecordRedacted(t *testing.T) {
	s := mototest.Start(t)
	s.Env(t)
	// moto answers HTTP 500 for what it lacks: one attempt, as a user
	// pointing vpnaudit at an emulator would set (README).
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	mototest.Seed(context.Background(), t, s)
	dir := filepath.Join(t.TempDir(), "attachment")
	r := run(t, nil, "why", "--alarm", mototest.AlarmName, "--format", "json", "--record", dir, "--redact")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*"))
	if len(left) != 0 {
		t.Errorf("the unredacted recording was left behind: %v", left)
	}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), mototest.Account) {
			t.Errorf("%s still names the account %s", p, mototest.Account)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	replay := run(t, nil, "why", "--alarm", mototest.AlarmName, "--format", "json", "--from", dir)
	if replay.code != ExitOK {
		t.Fatalf("replay: exit %d: %s", replay.code, replay.stderr)
	}
	if diff := cmp.Diff(verdictOf(t, r.stdout), verdictOf(t, replay.stdout)); diff != "" {
		t.Errorf("the redacted bundle replays differently (-live +replay):\n%s", diff)
	}
}
