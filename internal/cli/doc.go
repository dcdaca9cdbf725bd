// Package cli is vpnaudit's command line: the urfave/cli application, its
// flags (each also read from a VPNAUDIT_* environment variable), and the
// wiring flags → options → collect → correlate → render. main.go only
// calls Run, so tests run the real command in-process.
package cli
