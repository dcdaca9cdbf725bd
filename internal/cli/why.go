package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/urfave/cli/v2"

	"github.com/vpnaudit/vpnaudit/audit/attime"
	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/correlate"
	"github.com/vpnaudit/vpnaudit/redact"
	"github.com/vpnaudit/vpnaudit/report"
)

func whyCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "why",
		Usage:     "investigate why an alarm fired and print the root-cause timeline",
		UsageText: "vpnaudit why --alarm NAME [--at TIME] [--from BUNDLE] [--format text|markdown|json] [--output FILE]",
		Description: `Finds the alarm's breach, the resources on the VPN path, the CloudTrail changes
before it, the flow-log gaps and the metric drops, and ranks the candidate causes.
Exit status: 0 when a report was produced (whatever the verdict), 1 on an error,
2 on a usage error.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "alarm", Aliases: []string{"a"}, EnvVars: []string{"VPNAUDIT_ALARM"}, Usage: "the CloudWatch alarm's `NAME`"},
			&cli.StringFlag{Name: "at", EnvVars: []string{"VPNAUDIT_AT"}, Usage: "investigate the alarm episode covering `TIME` (default: the latest); RFC 3339, '2006-01-02 15:04[:05] [zone]', epoch seconds, or the Timestamp line of the alarm e-mail; without a zone it is UTC"},
			&cli.StringFlag{Name: "from", EnvVars: []string{"VPNAUDIT_FROM"}, Usage: "read the evidence from the bundle in `DIR` instead of AWS"},
			&cli.StringFlag{Name: "record", EnvVars: []string{"VPNAUDIT_RECORD"}, Usage: "write every AWS call the run makes as an evidence bundle to `DIR` (live runs)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", EnvVars: []string{"VPNAUDIT_FORMAT"}, Usage: "report format: text, markdown or json"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, EnvVars: []string{"VPNAUDIT_OUTPUT"}, Usage: "write the report to `FILE` (atomically) instead of standard output"},
			&cli.DurationFlag{Name: "lookback", Value: 2 * time.Hour, EnvVars: []string{"VPNAUDIT_LOOKBACK"}, Usage: "how far before the breach to read changes, traffic and metrics"},
			&cli.DurationFlag{Name: "after", Value: 30 * time.Minute, EnvVars: []string{"VPNAUDIT_AFTER"}, Usage: "how far past the alarm (or its recovery) to read"},
			&cli.StringFlag{Name: "tz", EnvVars: []string{"VPNAUDIT_TZ"}, Usage: "also show times in the IANA time `ZONE` (e.g. Asia/Tokyo)"},
			&cli.StringFlag{Name: "color", Value: "auto", EnvVars: []string{"VPNAUDIT_COLOR"}, Usage: "colour the text report: auto, always or never (auto: only on a terminal, never with NO_COLOR set; CLICOLOR_FORCE=1 forces it)"},
			&cli.IntFlag{Name: "width", EnvVars: []string{"VPNAUDIT_WIDTH"}, Usage: "wrap the text report at `N` columns (default: the terminal's width, else 100)"},
			&cli.StringFlag{Name: "chart", EnvVars: []string{"VPNAUDIT_CHART"}, Usage: "also write an SVG chart of the key metrics around the incident to `FILE` (linked from the Markdown report)"},
			&cli.BoolFlag{Name: "redact", EnvVars: []string{"VPNAUDIT_REDACT"}, Usage: "replace account IDs, IP addresses, access key IDs and user names with stable tokens in the report, the chart and a --record bundle, for attachments shared outside the team"},
			&cli.StringFlag{Name: "region", EnvVars: []string{"VPNAUDIT_REGION"}, Usage: "AWS region (default: the SDK's region chain)"},
			&cli.StringFlag{Name: "profile", EnvVars: []string{"VPNAUDIT_PROFILE"}, Usage: "AWS shared-config profile"},
			&cli.DurationFlag{Name: "timeout", EnvVars: []string{"VPNAUDIT_TIMEOUT"}, Usage: "stop collecting after `DURATION` and report from the evidence read by then, marked partial (default: no limit; Ctrl-C does the same at any time)"},
			&cli.StringFlag{Name: "push-down", Value: "auto", EnvVars: []string{"VPNAUDIT_PUSH_DOWN"}, Usage: "where flow logs are aggregated: auto (chosen from the estimated volume), always (CloudWatch Logs Insights, or Athena for S3), never (read the records here)"},
			&cli.StringFlag{Name: "athena-workgroup", Value: "primary", EnvVars: []string{"VPNAUDIT_ATHENA_WORKGROUP"}, Usage: "Athena `WORKGROUP` for queries over S3-delivered flow logs and CloudTrail"},
			&cli.StringFlag{Name: "athena-database", EnvVars: []string{"VPNAUDIT_ATHENA_DATABASE"}, Usage: "Athena `DATABASE` holding the flow-log and CloudTrail tables (see the README's DDL); unset: Athena is not used"},
			&cli.StringFlag{Name: "athena-output", EnvVars: []string{"VPNAUDIT_ATHENA_OUTPUT"}, Usage: "S3 `URI` for Athena query results (default: the workgroup's)"},
			&cli.StringFlag{Name: "athena-flow-table", Value: "vpc_flow_logs", EnvVars: []string{"VPNAUDIT_ATHENA_FLOW_TABLE"}, Usage: "Athena `TABLE` of the VPC flow logs"},
			&cli.StringFlag{Name: "athena-trail-table", Value: "cloudtrail_logs", EnvVars: []string{"VPNAUDIT_ATHENA_TRAIL_TABLE"}, Usage: "Athena `TABLE` of the CloudTrail logs"},
		},
		Action: func(c *cli.Context) error { return why(c, env) },
	}
}

func why(c *cli.Context, env Env) error {
	if c.NArg() > 0 {
		return usagef("unexpected argument %q (flags come as --name value)", c.Args().First())
	}
	alarm := c.String("alarm")
	if alarm == "" {
		return usagef("--alarm is required: the name of the CloudWatch alarm that fired")
	}
	format := c.String("format")
	switch format {
	case "text", "markdown", "md", "json":
	default:
		return usagef("--format %q: want text, markdown or json", format)
	}
	var tz *time.Location
	if name := c.String("tz"); name != "" {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return usagef("--tz %q: not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin, UTC)", name)
		}
		tz = loc
	}
	colorMode := c.String("color")
	if colorMode != "auto" && colorMode != "always" && colorMode != "never" {
		return usagef("--color %q: want auto, always or never", colorMode)
	}
	pushDown := collect.PushDown(c.String("push-down"))
	switch pushDown {
	case collect.PushDownAuto, collect.PushDownAlways, collect.PushDownNever:
	default:
		return usagef("--push-down %q: want auto, always or never", pushDown)
	}
	atFlag := c.String("at")
	if atFlag != "" {
		if _, _, err := attime.Parse(atFlag, time.Time{}); err != nil {
			return usagef("--at: %v", err)
		}
	}
	if c.Duration("timeout") < 0 {
		return usagef("--timeout %s: want a positive duration such as 90s or 5m", c.Duration("timeout"))
	}
	for _, name := range []string{"lookback", "after"} {
		if c.IsSet(name) && c.Duration(name) <= 0 {
			return usagef("--%s %s: want a positive duration such as 45m or 2h30m", name, c.Duration(name))
		}
	}
	st := newStopper(c.Context, c.Duration("timeout"), env.Stderr)
	defer st.stop()
	ctx := st.ctx
	src, err := openSource(ctx, c, env)
	if err != nil {
		return err
	}
	defer src.close()
	st.atHardStop(src.abort)
	opts := collect.Options{Alarm: alarm, Now: src.now, Lookback: c.Duration("lookback"), After: c.Duration("after"),
		Region: src.region, Account: src.account, PushDown: pushDown,
		Athena: collect.AthenaOptions{Workgroup: c.String("athena-workgroup"), Database: c.String("athena-database"),
			OutputLocation: c.String("athena-output"), FlowTable: c.String("athena-flow-table"), TrailTable: c.String("athena-trail-table")}}
	if atFlag != "" {
		at, note, err := attime.Parse(atFlag, src.now)
		if err != nil {
			return usagef("--at: %v", err)
		}
		if note != "" {
			fmt.Fprintf(env.Stderr, "vpnaudit: --at %s: %s\n", at.Format(time.RFC3339), note)
		}
		opts.At = &at
	}
	if env.terminal(env.Stderr) {
		p := newProgress(env.Stderr, width(0, Env{Stdout: env.Stderr, IsTerminal: env.IsTerminal, Getenv: env.Getenv}))
		opts.Progress = p.update
		defer p.done()
	}
	if c.Bool("redact") {
		src.redactor = redact.New(randomSeed())
	}
	ev, err := collect.Collect(ctx, src.clients, opts)
	if err != nil {
		src.abort()
		if ctx.Err() != nil {
			return cli.Exit(err.Error(), ExitError)
		}
		return cli.Exit(live.Explain(err, c.String("profile")).Error(), ExitError)
	}
	if ev.Interrupted == "" && src.b != nil && src.b.Manifest.Interrupted != "" {
		// The bundle was recorded by a run stopped early: so is this one.
		ev.Interrupted = src.b.Manifest.Interrupted
	}
	if ev.Interrupted != "" {
		// From a bundle's manifest the reason is untrusted text: no escape
		// sequence reaches the terminal.
		fmt.Fprintf(env.Stderr, "vpnaudit: %s: the report is partial, from the evidence read before then\n", report.Sanitize(ev.Interrupted))
		src.interrupted(ev.Interrupted)
	}
	if err := src.finish(ev.Account); err != nil {
		return cli.Exit(err.Error(), ExitError)
	}
	res := correlate.Correlate(ev)
	if src.redactor != nil {
		res = src.redactor.Result(res)
	}

	out := c.String("output")
	chartPath := c.String("chart")
	if chartPath != "" {
		var svg bytes.Buffer
		if err := report.Chart(&svg, res, report.ChartOptions{TZ: tz}); err != nil {
			return cli.Exit(fmt.Sprintf("render chart: %v", err), ExitError)
		}
		if err := writeFileAtomic(chartPath, svg.Bytes()); err != nil {
			return cli.Exit(err.Error(), ExitError)
		}
	}
	var buf bytes.Buffer
	switch format {
	case "json":
		err = report.JSON(&buf, res)
	case "markdown", "md":
		err = report.Markdown(&buf, res, report.MarkdownOptions{TZ: tz, ChartPath: chartLink(chartPath, out)})
	default:
		color := false
		if out == "" {
			color = useColor(colorMode, env)
		} else {
			color = colorMode == "always"
		}
		err = report.Text(&buf, res, report.TextOptions{Width: width(c.Int("width"), env), Color: color, TZ: tz})
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("render %s report: %v", format, err), ExitError)
	}
	if out == "" {
		_, err = env.Stdout.Write(buf.Bytes())
		return err
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		return cli.Exit(err.Error(), ExitError)
	}
	return nil
}

// chartLink is the chart's path as the Markdown report should link it:
// relative to the report's directory when both are files.
func chartLink(chart, output string) string {
	if chart == "" || output == "" {
		return chart
	}
	abs, err1 := filepath.Abs(chart)
	dir, err2 := filepath.Abs(filepath.Dir(output))
	if err1 != nil || err2 != nil {
		return chart
	}
	if rel, err := filepath.Rel(dir, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return chart
}

// randomSeed keys one run's redaction: tokens are stable within the run
// and unrelated across runs.
func randomSeed() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return time.Now().String()
	}
	return hex.EncodeToString(b)
}

// useColor decides whether the text report on standard output is coloured.
func useColor(mode string, env Env) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if v := env.getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if env.getenv("NO_COLOR") != "" || env.getenv("TERM") == "dumb" {
		return false
	}
	return env.terminal(env.Stdout)
}

func width(flag int, env Env) int {
	if flag > 0 {
		return flag
	}
	if f, ok := env.Stdout.(*os.File); ok && env.terminal(env.Stdout) {
		if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
			return w
		}
	}
	var n int
	if _, err := fmt.Sscan(env.getenv("COLUMNS"), &n); err == nil && n > 0 {
		return n
	}
	return 100
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so an interrupted run never leaves half a report.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
