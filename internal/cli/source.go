package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/redact"
)

// source is where the evidence comes from: a bundle (--from) or AWS.
type source struct {
	clients collect.Clients
	now     time.Time
	region  string
	account string
	b       *bundle.Bundle
	rec     *live.Recorder
	// recordTo is where the bundle goes; with redaction the recorder writes
	// beside it first and the redacted copy is what lands there.
	recordTo string
	// redactor, when set, redacts the report and the recorded bundle.
	redactor *redact.Redactor

	// mu guards rec and scratch: a second Ctrl-C aborts from the signal
	// watcher while the run may be finishing the bundle.
	mu sync.Mutex
	// scratch are paths a hard stop must remove: the unredacted recording
	// while its redacted copy is written.
	scratch []string
}

// openSource opens the bundle, or loads the AWS configuration and checks
// the credentials with one GetCallerIdentity before anything else, so a
// missing or expired login is one clear message, not six failed sources.
func openSource(ctx context.Context, c *cli.Context, env Env) (*source, error) {
	if from := c.String("from"); from != "" {
		if c.String("record") != "" {
			return nil, usagef("--record writes the calls of a live run; with --from the bundle is already the record")
		}
		b, err := bundle.Open(from)
		if err != nil {
			return nil, cli.Exit(err.Error(), ExitError)
		}
		s := &source{b: b, now: b.Manifest.RecordedAt, region: b.Manifest.Region, account: b.Manifest.AccountId,
			clients: collect.BundleClients(b)}
		if r := c.String("region"); r != "" && s.region != "" && r != s.region {
			fmt.Fprintf(env.Stderr, "vpnaudit: --region %s ignored: the bundle was recorded in %s\n", r, s.region)
		}
		return s, nil
	}
	opts := live.Options{Region: c.String("region"), Profile: c.String("profile")}
	cfg, err := live.LoadConfig(ctx, opts)
	if err != nil {
		return nil, cli.Exit(err.Error(), ExitError)
	}
	s := &source{now: time.Now().UTC(), region: cfg.Region}
	if dir := c.String("record"); dir != "" {
		target := dir
		if c.Bool("redact") {
			// Record privately beside the target; only the redacted copy
			// is written to DIR.
			if err := checkRecordTarget("--record", dir); err != nil {
				return nil, usagef("%v", err)
			}
			target = filepath.Join(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(dir)+".unredacted-"+fmt.Sprint(time.Now().UnixNano()))
		}
		rec, err := live.NewRecorder(target)
		if err != nil {
			return nil, usagef("%v", err)
		}
		s.rec, opts.Recorder, s.recordTo = rec, rec, dir
	}
	s.clients = live.Clients(cfg, opts)
	id, err := s.clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		s.abort()
		return nil, cli.Exit(live.Explain(err, opts.Profile).Error(), ExitError)
	}
	if id.Account != nil {
		s.account = *id.Account
	}
	return s, nil
}

// finish writes the recorded bundle, if any.
func (s *source) finish(account string) error {
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	if rec == nil {
		return nil
	}
	// Close and a concurrent Abort are serialised by the recorder: the
	// bundle is either renamed into place whole or removed.
	err := rec.Close(s.region, account, s.now)
	s.mu.Lock()
	s.rec = nil
	if err == nil && s.redactor != nil {
		raw := rec.Target()
		parent, base := filepath.Split(filepath.Clean(s.recordTo))
		s.scratch = append(s.scratch, raw, filepath.Join(parent, "."+base+".redacting-*"))
	}
	s.mu.Unlock()
	if err != nil || s.redactor == nil {
		return err
	}
	defer s.removeScratch()
	if err := s.redactor.Bundle(rec.Target(), s.recordTo); err != nil {
		return fmt.Errorf("write the redacted bundle %s: %w", s.recordTo, err)
	}
	return nil
}

// interrupted notes in the recording, if any, why the run stopped early.
func (s *source) interrupted(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec != nil {
		s.rec.Interrupted(why)
	}
}

// removeScratch removes the scratch paths (globs allowed).
func (s *source) removeScratch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.scratch {
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
	s.scratch = nil
}

// checkRecordTarget refuses a bundle target that is a file or a non-empty
// directory; what names it in the message.
func checkRecordTarget(what, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s: a file of that name exists; choose a new directory", what, dir)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		return fmt.Errorf("%s %s: the directory exists and is not empty; choose a new one", what, dir)
	}
	return nil
}

// abort discards a recording in progress and any scratch copy; safe to
// call from the signal watcher while the run goes on.
func (s *source) abort() {
	s.mu.Lock()
	if s.rec != nil {
		s.rec.Abort()
		s.rec = nil
	}
	s.mu.Unlock()
	s.removeScratch()
}

func (s *source) close() {
	s.abort()
	if s.b != nil {
		s.b.Close()
	}
}
