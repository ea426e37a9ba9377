package main

import "github.com/spf13/cobra"

// newLegacyCmd is the falco-driver-loader command line.
func newLegacyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:           "falco-driver-loader",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          notImplemented("falco-driver-loader"),
	}
}
