package loader

import (
	"context"
	"errors"
	"fmt"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader/host"
)

// KmodOptions configure the kernel module driver.
type KmodOptions struct {
	// File is a local .ko to load instead of fetching or compiling one.
	File string
	// Params are the module parameters ("buf_size=8388608").
	Params string
	// Device is the module's device; default /dev/kdriver.
	Device string
}

// kmodDriver is the kernel module (package kmod): preflight of the .ko
// against the host's arch and release, finit_module, delete_module.
type kmodDriver struct {
	cfg DriverConfig
}

func newKmodDriver(cfg DriverConfig) *kmodDriver { return &kmodDriver{cfg: cfg} }

func (d *kmodDriver) Type() DriverType { return Kmod }

func (d *kmodDriver) loaded(f host.Facts) bool {
	ok, _ := kmod.Loaded("", kmod.ModuleName)
	return ok
}

// Preflight checks the module file against the host before the kernel sees
// it: ELF class and machine, vermagic release, module name.
func (d *kmodDriver) Preflight(ctx context.Context, f host.Facts) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file := d.cfg.Kmod.File
	if file == "" {
		if d.loaded(f) {
			return []string{"module " + kmod.ModuleName + " is loaded"}, nil
		}
		return nil, fmt.Errorf("%w: module %s: no module file; pass --file PATH.ko (fetching and compiling the module are not wired in yet)",
			ErrNoArtifact, kmod.ModuleName)
	}
	info, err := kmod.Preflight(file, kmod.Want{Arch: string(f.Arch), KernelRelease: f.Kernel.Release, Name: kmod.ModuleName})
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%s: %s module %s for kernel %s (version %s)",
		file, info.Arch, info.Name, info.Release, info.Version)}, nil
}

// Install loads the module; a module already loaded is kept.
func (d *kmodDriver) Install(ctx context.Context, f host.Facts, _ InstallOptions) (string, error) {
	if d.loaded(f) {
		return "module " + kmod.ModuleName + " already loaded, kept (kdriver cleanup unloads it)", nil
	}
	if d.cfg.Kmod.File == "" {
		return "", fmt.Errorf("%w: module %s: no module file", ErrNoArtifact, kmod.ModuleName)
	}
	if err := kmod.Load(ctx, d.cfg.Kmod.File, d.cfg.Kmod.Params); err != nil {
		if errors.Is(err, kmod.ErrNoModuleSupport) {
			return "", fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return "", err
	}
	return fmt.Sprintf("module %s loaded from %s", kmod.ModuleName, d.cfg.Kmod.File), nil
}

// Open reads the module's device.
func (d *kmodDriver) Open(ctx context.Context) (events.Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return kmod.Open(kmod.DeviceOptions{Path: d.cfg.Kmod.Device})
}

// Cleanup unloads the module, retrying while it is busy; never forced.
func (d *kmodDriver) Cleanup(ctx context.Context) (string, error) {
	if !d.loaded(host.Facts{}) {
		return "nothing to clean up: module " + kmod.ModuleName + " is not loaded", nil
	}
	err := kmod.Unload(ctx, kmod.ModuleName, kmod.UnloadOptions{})
	switch {
	case err == nil:
		return "module " + kmod.ModuleName + " unloaded", nil
	case errors.Is(err, kmod.ErrNotLoaded):
		return "nothing to clean up: module " + kmod.ModuleName + " is not loaded", nil
	}
	return "", err
}
