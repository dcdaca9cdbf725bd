package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
)

// source is where the evidence comes from: a bundle (--from) or AWS.
type source struct {
	clients collect.Clients
	now     time.Time
	region  string
	account string
	b       *bundle.Bundle
	rec     *live.Recorder
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
			clients: collect.Clients{CloudWatch: b.CloudWatch(), CloudTrail: b.CloudTrail(), Logs: b.Logs(), EC2: b.EC2(), STS: b.STS(), AutoScaling: b.AutoScaling()}}
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
		rec, err := live.NewRecorder(dir)
		if err != nil {
			return nil, usagef("%v", err)
		}
		s.rec, opts.Recorder = rec, rec
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
	err := s.rec.Close(s.region, account, s.now)
	s.rec = nil
	return err
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
