package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/vpnaudit/vpnaudit/redact"
)

func redactCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "redact",
		Usage:     "write a redacted copy of an evidence bundle, for sharing outside the team",
		ArgsUsage: "SRC DST",
		Description: `Copies the bundle in SRC to DST (which must not exist) with account IDs, IP
addresses (prefix-preserving, so subnets stay subnets), access key IDs and user
names replaced by stable tokens. The copy replays to the same verdict.`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usagef("redact takes two arguments: SRC DST")
			}
			if err := checkRecordTarget("redact", c.Args().Get(1)); err != nil {
				return usagef("%v", err)
			}
			if err := redact.New(randomSeed()).Bundle(c.Args().Get(0), c.Args().Get(1)); err != nil {
				return cli.Exit(err.Error(), ExitError)
			}
			return nil
		},
	}
}
