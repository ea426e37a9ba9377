package main

import "github.com/spf13/cobra"

func newDetectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "detect",
		Short: "detect (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("detect"),
	}
}
