package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

func flowsCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "flows",
		Usage:     "convert VPC flow-log records to JSON lines (one object per record, AWS field names as keys)",
		ArgsUsage: "[FILE...]  (plain or .gz; none or - reads standard input)",
		Description: `Reads flow-log records as delivered to CloudWatch Logs or S3 and writes one JSON
object per record, keyed by the AWS field names (srcaddr, log-status, ...), numbers as
JSON numbers and "-" as null. A line made only of field names (an S3 object's header)
sets the format for the lines after it. Lines that do not parse are reported on
standard error with their line numbers, and the exit status is then 1.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", EnvVars: []string{"VPNAUDIT_LOG_FORMAT"},
				Usage: "the flow log's LogFormat, as DescribeFlowLogs shows it (`${version} ${account-id} ...`) or as bare field names; default: the version-2 default format"},
		},
		Action: func(c *cli.Context) error {
			var format *flowlog.Format
			if s := c.String("log-format"); s != "" {
				f, err := flowlog.ParseFormat(s)
				if err != nil {
					return usagef("--log-format: %v", err)
				}
				format = &f
			}
			var inputs []flowlog.Input
			for _, name := range c.Args().Slice() {
				inputs = append(inputs, flowlog.Input{Name: name})
			}
			if len(inputs) == 0 {
				inputs = []flowlog.Input{{Name: "-", Reader: env.Stdin}}
			}
			for i := range inputs {
				if inputs[i].Name == "-" {
					inputs[i].Reader = env.Stdin
				}
			}
			st, err := flowlog.Convert(inputs, format, env.Stdout, env.Stderr)
			if err != nil {
				return cli.Exit(err.Error(), ExitError)
			}
			if st.Malformed > 0 {
				return cli.Exit(fmt.Sprintf("%d of %d lines did not parse (listed above)", st.Malformed, st.Lines), ExitError)
			}
			return nil
		},
	}
}
