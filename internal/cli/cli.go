package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/vpnaudit/vpnaudit/report"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=…".
var Version = "dev"

// Exit statuses.
const (
	ExitOK    = 0 // a report was produced, whatever the verdict
	ExitError = 1
	ExitUsage = 2
)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Env is what the command reads from its surroundings.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads environment variables (os.Getenv when nil).
	Getenv func(string) string
	// IsTerminal reports whether a writer is a terminal (false when nil).
	IsTerminal func(io.Writer) bool
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

func (e Env) terminal(w io.Writer) bool { return e.IsTerminal != nil && e.IsTerminal(w) }

// Run runs vpnaudit with args (args[0] is the program name) and returns the
// exit status.
//
// Messages may quote the evidence (names, tags, error texts from a bundle):
// they are sanitised, so no escape sequence reaches the terminal. A panic
// is a bug: it is reported as one, in a sentence, never as a stack trace.
func Run(args []string, env Env) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(env.Stderr, "vpnaudit: internal error: %s\nThis is a bug in vpnaudit: please report it with the command you ran (and, if you can share it, the bundle).\n",
				report.Sanitize(fmt.Sprint(p)))
			code = ExitError
		}
	}()
	app := newApp(env)
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "vpnaudit: %s\nRun 'vpnaudit %s --help' for usage.\n", report.SanitizeBlock(flagMessage(err.Error())), subcommand(args))
		return ExitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(env.Stderr, "vpnaudit: %s\n", report.SanitizeBlock(msg))
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(env.Stderr, "vpnaudit: %s\n", report.SanitizeBlock(err.Error()))
	return ExitError
}

// flagValueError is urfave/cli's message for a flag value it cannot parse.
var flagValueError = regexp.MustCompile(`^invalid value "(.*)" for flag -([a-z][a-z-]*): parse error$`)

// durationFlags are the flags whose values are Go durations.
var durationFlags = map[string]bool{"lookback": true, "after": true, "timeout": true}

// flagMessage says what a value that does not parse should look like.
func flagMessage(msg string) string {
	m := flagValueError.FindStringSubmatch(msg)
	switch {
	case m == nil:
		return msg
	case durationFlags[m[2]]:
		return fmt.Sprintf("--%s %q: not a duration; write it like 90s, 45m or 2h30m", m[2], m[1])
	}
	return fmt.Sprintf("--%s %q: not a valid value for this flag", m[2], m[1])
}

func subcommand(args []string) string {
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

func newApp(env Env) *cli.App {
	return &cli.App{
		Name:      "vpnaudit",
		Usage:     "explain why an AWS Site-to-Site VPN alarm fired: a root-cause timeline from CloudTrail, flow logs and CloudWatch",
		Version:   Version,
		Reader:    env.Stdin,
		Writer:    env.Stdout,
		ErrWriter: env.Stderr,
		// Errors are printed once, by Run.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		Commands: commands(env),
	}
}

// commands returns the subcommands, each turning flag errors into usage
// errors (exit 2) instead of printing its help on standard output.
func commands(env Env) []*cli.Command {
	cmds := []*cli.Command{whyCommand(env), flowsCommand(env), redactCommand(env)}
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	}
	return cmds
}
