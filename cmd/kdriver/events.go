package main

import "github.com/spf13/cobra"

func newEventsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "events (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("events"),
	}
}
