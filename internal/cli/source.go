package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	if s.rec == nil {
		return nil
	}
	rec := s.rec
	s.rec = nil
	if s.redactor == nil {
		return rec.Close(s.region, account, s.now)
	}
	raw := rec.Target()
	if err := rec.Close(s.region, account, s.now); err != nil {
		return err
	}
	defer os.RemoveAll(raw)
	if err := s.redactor.Bundle(raw, s.recordTo); err != nil {
		return fmt.Errorf("write the redacted bundle %s: %w", s.recordTo, err)
	}
	return nil
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

// abort discards a recording in progress.
func (s *source) abort() {
	if s.rec != nil {
		s.rec.Abort()
		s.rec = nil
	}
}

func (s *source) close() {
	s.abort()
	if s.b != nil {
		s.b.Close()
	}
}
