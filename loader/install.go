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
	Artifact *Artifact `json:"artifact,omitempty"`
	// Fallbacks are the preflight failures of candidates tried before the
	// driver that was installed.
	Fallbacks []string               `json:"fallbacks,omitempty"`
	Verify    *events.SelfTestResult `json:"verify,omitempty"`
	// VerifySkipped says why a driver kdriver does not read (Falco's
	// probe) was not self-tested.
	VerifySkipped string `json:"verify_skipped,omitempty"`
}

// choose makes candidate i the decision.
func (d *Decision) choose(i int) {
	for j := range d.Candidates {
		d.Candidates[j].Chosen = j == i
	}
	d.Driver, d.Reason = d.Candidates[i].Type, d.Candidates[i].Reason
}

// morePossible reports whether a possible kernel driver follows candidate
// i (userspace is no fallback).
func (d *Decision) morePossible(i int) bool {
	for _, c := range d.Candidates[i+1:] {
		if c.Possible && c.Type != Userspace {
			return true
		}
	}
	return false
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
	opts.Driver.Kmod.Policy = ArtifactPolicy{Download: opts.Download, Compile: opts.Compile, DryRun: opts.DryRun}
	opts.Driver.EBPF.Policy = opts.Driver.Kmod.Policy
	// The host facts say which drivers could run; the preflight says
	// whether this one can right now (its artifact, its program types). A
	// preflight that finds no artifact or an unsupported host moves on to
	// the next possible candidate of the user's list, and says so.
	// Userspace is no fallback: it traces single commands, not the host, so
	// it is installed only when it was the choice itself.
	var drv Driver
	tried := 0
	for i, c := range rep.Decision.Candidates {
		if !c.Possible || c.Type == Userspace && tried > 0 {
			continue
		}
		tried++
		rep.Decision.choose(i)
		log.Info("driver chosen", "driver", c.Type, "reason", c.Reason)
		if drv, err = NewDriver(c.Type, opts.Driver); err != nil {
			return rep, err
		}
		rep.Preflight, err = drv.Preflight(ctx, f)
		rep.Artifact = nil
		if a, ok := drv.(interface{ Artifact() *Artifact }); ok {
			rep.Artifact = a.Artifact()
		}
		if err == nil {
			break
		}
		err = fmt.Errorf("driver %s: preflight: %w", c.Type, err)
		if !errors.Is(err, ErrNoArtifact) && !errors.Is(err, ErrUnsupported) || !rep.Decision.morePossible(i) {
			return rep, err
		}
		log.Warn("trying the next driver", "error", err)
		rep.Fallbacks = append(rep.Fallbacks, err.Error())
	}
	d = rep.Decision
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
	if errors.Is(err, ErrNoSelfTest) {
		rep.Verify, rep.VerifySkipped = nil, err.Error()
		return rep, nil
	}
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
