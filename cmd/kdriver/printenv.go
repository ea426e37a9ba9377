package main

import "github.com/spf13/cobra"

func newPrintenvCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "printenv",
		Short: "printenv (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("printenv"),
	}
}
