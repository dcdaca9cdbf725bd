// Command vpnaudit explains why an AWS Site-to-Site VPN alarm fired: it
// correlates the alarm's breach with the resources on the VPN path, the
// CloudTrail changes before it, the VPC flow logs and the metrics, and
// prints a root-cause timeline (text, Markdown or JSON).
package main

import (
	"io"
	"os"
	_ "time/tzdata" // --tz and --at zone names work without a system zoneinfo

	"github.com/mattn/go-isatty"

	"github.com/vpnaudit/vpnaudit/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args, cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		IsTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
		},
	}))
}
