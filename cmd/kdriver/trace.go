package main

import "github.com/spf13/cobra"

func newTraceCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "trace",
		Short: "trace (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("trace"),
	}
}
