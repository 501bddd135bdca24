package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/connectors/isolate"
)

func init() { register(newConnectorChildCmd) }

// newConnectorChildCmd is the hidden subcommand a collector starts to run
// one isolated connector (see connectors/isolate): it talks to its parent
// over standard input and output, never to a user.
func newConnectorChildCmd() *cobra.Command {
	return &cobra.Command{
		Use:    isolate.ChildArg + " [SOURCE]",
		Short:  "Run one connector for a collector (started by otwin itself)",
		Hidden: true,
		// SOURCE names the endpoint in process listings; what to run
		// comes on standard input.
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return isolate.Serve(cmd.Context(), os.Stdin, os.Stdout)
		},
	}
}
