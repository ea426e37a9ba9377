package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
)

// InstallOptions drive Install.
type InstallOptions struct {
	// Types is the user's priority list (nil: auto).
	Types []DriverType
	// Download and Compile allow fetching a prebuilt artifact and building
	// one on the node (drivers with artifacts only).
	Download bool
	Compile  bool
	// Verify runs the self-test after installing.
	Verify bool
	// DryRun stops after the decision and the preflight checks.
	DryRun bool
	// SelfTest configures the self-test (its child command at least).
	SelfTest events.SelfTestOptions
	// Driver configures the drivers.
	Driver DriverConfig
	Logger *slog.Logger
}

// Report is what Install did, step by step; `kdriver install --output
// json` prints it.
type Report struct {
	Decision  Decision `json:"decision"`
	Preflight []string `json:"preflight"`
	DryRun    bool     `json:"dry_run"`
	Installed string   `json:"installed,omitempty"`
	// Artifact is where the driver's artifact came from (kmod), or the
	// plan to get it in a dry run.
	Artifact *Artifact              `json:"artifact,omitempty"`
	Verify   *events.SelfTestResult `json:"verify,omitempty"`
}

// Install runs the pipeline on a host with facts f: choose the driver,
// preflight it, install it and, if asked, verify it with the self-test.
// The report is filled as far as the pipeline got, also on error.
func Install(ctx context.Context, f host.Facts, opts InstallOptions) (*Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Driver.Logger == nil {
		opts.Driver.Logger = log
	}
	rep := &Report{DryRun: opts.DryRun, Preflight: []string{}}
	d, err := Choose(f, opts.Types)
	rep.Decision = d
	if err != nil {
		return rep, err
	}
	log.Info("driver chosen", "driver", d.Driver, "reason", d.Reason)
	opts.Driver.Kmod.Policy = ArtifactPolicy{Download: opts.Download, Compile: opts.Compile, DryRun: opts.DryRun}
	drv, err := NewDriver(d.Driver, opts.Driver)
	if err != nil {
		return rep, err
	}
	rep.Preflight, err = drv.Preflight(ctx, f)
	if a, ok := drv.(interface{ Artifact() *Artifact }); ok {
		rep.Artifact = a.Artifact()
	}
	if err != nil {
		return rep, fmt.Errorf("driver %s: preflight: %w", d.Driver, err)
	}
	if opts.DryRun {
		return rep, nil
	}
	rep.Installed, err = drv.Install(ctx, f, opts)
	if err != nil {
		return rep, fmt.Errorf("driver %s: install: %w", d.Driver, err)
	}
	log.Info("driver installed", "driver", d.Driver, "detail", rep.Installed)
	if !opts.Verify {
		return rep, nil
	}
	rep.Verify, err = Verify(ctx, drv, opts.SelfTest)
	return rep, err
}

// Verify opens drv's event source, runs the self-test on it and closes it.
func Verify(ctx context.Context, drv Driver, opts events.SelfTestOptions) (*events.SelfTestResult, error) {
	src, err := drv.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver %s: open events: %w", drv.Type(), err)
	}
	res, err := events.SelfTest(ctx, src, opts)
	if cerr := src.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("driver %s: close events: %w", drv.Type(), cerr)
	}
	if err != nil && !errors.Is(err, events.ErrVerify) {
		err = fmt.Errorf("driver %s: verify: %w", drv.Type(), err)
	}
	return res, err
}
