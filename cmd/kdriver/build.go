package main

import "github.com/spf13/cobra"

func newBuildCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "build (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("build"),
	}
}
