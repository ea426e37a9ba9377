package main

import "github.com/spf13/cobra"

func newFetchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "fetch",
		Short: "fetch (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("fetch"),
	}
}
