package main

import "github.com/spf13/cobra"

func newCleanupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "cleanup (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("cleanup"),
	}
}
