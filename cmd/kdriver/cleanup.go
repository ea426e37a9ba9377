package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader"
)

type cleanupOptions struct {
	Types []string
}

// cleanupResult is one driver's cleanup, as --output json prints it.
type cleanupResult struct {
	Driver loader.DriverType `json:"driver"`
	Done   string            `json:"done,omitempty"`
	Error  string            `json:"error,omitempty"`
}

func newCleanupCmd(g *globals) *cobra.Command {
	o := &cleanupOptions{}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Unload the driver and remove what install left behind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCleanup(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringArrayVar(&o.Types, "type", nil, "driver type to clean up; repeatable (default: every driver this kdriver can install)")
	return cmd
}

func runCleanup(ctx context.Context, g *globals, o *cleanupOptions) error {
	types, err := parseDriverTypes(o.Types)
	if err != nil {
		return err
	}
	if len(types) == 0 || (len(types) == 1 && types[0] == loader.Auto) {
		types = loader.AutoOrder()
	}
	var results []cleanupResult
	var errs []error
	for _, t := range types {
		cfg := loader.DriverConfig{Logger: g.logger, Kmod: loader.KmodOptions{Module: g.DriverName}}
		if t == loader.EBPF && g.DriverName != kmod.ModuleName {
			// A Falco probe's link, where install put it.
			if home, herr := os.UserHomeDir(); herr == nil {
				cfg.EBPF.FalcoPath = filepath.Join(home, ".falco", g.DriverName+"-bpf.o")
			}
		}
		drv, err := loader.NewDriver(t, cfg)
		r := cleanupResult{Driver: t}
		if err == nil {
			r.Done, err = drv.Cleanup(ctx)
		}
		if err != nil {
			r.Error = err.Error()
			errs = append(errs, err)
		}
		results = append(results, r)
	}
	if g.JSON() {
		if err := writeJSON(g.stdout, results); err != nil {
			errs = append(errs, err)
		}
	} else {
		for _, r := range results {
			if r.Error != "" {
				fmt.Fprintf(g.stdout, "%s: FAILED: %s\n", r.Driver, r.Error)
			} else {
				fmt.Fprintf(g.stdout, "%s: %s\n", r.Driver, r.Done)
			}
		}
	}
	return errors.Join(errs...)
}
