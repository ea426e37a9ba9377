package main

import "github.com/spf13/cobra"

func newArtifactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "artifact",
		Short: "publish, list and index built artifacts (not implemented yet)",
		RunE:  notImplemented("artifact"),
	}
}
