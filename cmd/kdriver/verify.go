package main

import "github.com/spf13/cobra"

func newVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "verify (not implemented yet)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented("verify"),
	}
}
