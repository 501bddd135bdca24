package main

import (
	"errors"
	"fmt"

	"github.com/otwin/otwin/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

// newValidateCmd builds `otwin validate FILE...`: it loads each scenario
// file, prints "FILE: ok (N machines, M tags)" or every problem as
// file:line:col: message (hint), and exits 1 when any file has a problem.
func newValidateCmd() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files and report every problem with file:line:col",
		Long: `validate loads each scenario file as the twin would and reports every problem
it finds (unknown fields, dangling references, bad Modbus maps, expression
errors and cycles, ...) with file:line:col and a hint where one helps.
It exits 1 when any file has a problem.`,
		Example: "  otwin validate scenarios/bottling.yaml my-line.yaml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, path := range args {
				s, err := scenarios.Load(path)
				if err != nil {
					failed = true
					var ps scenarios.Problems
					if errors.As(err, &ps) {
						fmt.Fprintln(cmd.ErrOrStderr(), ps.Error())
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", path, err)
					}
					continue
				}
				if !quiet {
					tags := 0
					for _, m := range s.Machines {
						tags += len(m.Tags)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s, %s)\n", path, plural(len(s.Machines), "machine"), plural(tags, "tag"))
				}
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only problems")
	return cmd
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
