package main

import "github.com/spf13/cobra"

func newInstallCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "install (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("install"),
	}
}
