package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader/host"
	"github.com/kdriver/kdriver/scap"
)

// KmodOptions configure the kernel module driver.
type KmodOptions struct {
	// File is a local .ko to load instead of fetching or compiling one.
	File string
	// Params are the module parameters ("buf_size=8388608").
	Params string
	// Device is the module's device; default /dev/kdriver.
	Device string
	// Module is the name the module registers with the kernel, the one it
	// is preflighted, found loaded and unloaded by (a kit's: scap for
	// Falco's); default kdriver.
	Module string
	// Libs is the device name of a falcosecurity/libs module (Falco's
	// driver: /dev/<Libs><cpu>, read by package scap) when the module is
	// one; empty: kdriver's own module and format.
	Libs string
	// Artifacts resolves the module when no File is given: cache, stores,
	// compile on the node. Nil: only File works.
	Artifacts *ArtifactSource
	// Policy is what Install allows (--download, --compile, --dry-run);
	// Install sets it from its options.
	Policy ArtifactPolicy
}

// kmodDriver is the kernel module (package kmod): preflight of the .ko
// against the host's arch and release, finit_module, delete_module.
type kmodDriver struct {
	cfg DriverConfig
	// artifact is the module Preflight resolved (nil: none yet).
	artifact *Artifact
	// load is kmod.LoadFile (tests replace it: this host cannot load modules).
	load func(ctx context.Context, f *os.File, params string) error
}

func newKmodDriver(cfg DriverConfig) *kmodDriver { return &kmodDriver{cfg: cfg, load: kmod.LoadFile} }

func (d *kmodDriver) Type() DriverType { return Kmod }

// module is the name of the module this driver loads and unloads.
func (d *kmodDriver) module() string {
	if d.cfg.Kmod.Module != "" {
		return d.cfg.Kmod.Module
	}
	return kmod.ModuleName
}

func (d *kmodDriver) loaded(f host.Facts) bool {
	ok, _ := kmod.Loaded("", d.module())
	return ok
}

// Preflight resolves the module (--file, or the cache, the stores, a build
// on the node) and checks it against the host before the kernel sees it:
// ELF class and machine, vermagic release, module name. A dry run only
// plans what it would download or compile.
func (d *kmodDriver) Preflight(ctx context.Context, f host.Facts) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.artifact.Close()
	d.artifact = nil
	if file := d.cfg.Kmod.File; file != "" {
		fd, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", file, err)
		}
		d.artifact = &Artifact{Name: filepath.Base(file), Path: file, Origin: OriginFile, file: fd}
	} else {
		if d.loaded(f) {
			return []string{"module " + d.module() + " is loaded"}, nil
		}
		src := d.cfg.Kmod.Artifacts
		if src == nil {
			return nil, fmt.Errorf("%w: module %s: no module file and no way to get one; pass --file PATH.ko",
				ErrNoArtifact, d.module())
		}
		a, err := src.Resolve(ctx, f, d.cfg.Kmod.Policy)
		if a != nil {
			d.artifact = a
		}
		if err != nil {
			return nil, err
		}
		if a.Path == "" {
			return []string{"module " + a.String()}, nil
		}
	}
	file := d.artifact.Path
	info, err := kmod.PreflightFile(d.artifact.file, kmod.Want{Arch: string(f.Arch), KernelRelease: f.Kernel.Release, Name: d.module()})
	if err != nil {
		d.artifact.Close()
		return nil, err
	}
	lines := []string{fmt.Sprintf("%s: %s module %s for kernel %s (version %s)",
		file, info.Arch, info.Name, info.Release, info.Version)}
	if d.artifact.Origin != OriginFile {
		lines = append([]string{"module " + d.artifact.String()}, lines...)
	}
	return lines, nil
}

// Artifact is the module Preflight resolved, or planned in a dry run.
func (d *kmodDriver) Artifact() *Artifact { return d.artifact }

// Install loads the module; a module already loaded is kept.
func (d *kmodDriver) Install(ctx context.Context, f host.Facts, _ InstallOptions) (string, error) {
	if d.loaded(f) {
		return "module " + d.module() + " already loaded, kept (kdriver cleanup unloads it)", nil
	}
	if d.artifact == nil || d.artifact.file == nil {
		return "", fmt.Errorf("%w: module %s: no module file (run the preflight first)", ErrNoArtifact, d.module())
	}
	// The descriptor the preflight read (and, from the cache, hashed):
	// replacing the path since then changes nothing.
	err := d.load(ctx, d.artifact.file, d.cfg.Kmod.Params)
	d.artifact.Close()
	if err != nil {
		if errors.Is(err, kmod.ErrNoModuleSupport) {
			return "", fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return "", err
	}
	return fmt.Sprintf("module %s loaded from %s", d.module(), d.artifact), nil
}

// Open reads the module's device, with the reader of the module's format:
// a libs module (Falco's) writes scap events into per-CPU rings.
func (d *kmodDriver) Open(ctx context.Context) (events.Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if name := d.cfg.Kmod.Libs; name != "" {
		dev, err := scap.Open(scap.Options{Name: name})
		if err != nil {
			return nil, fmt.Errorf("libs module %s: %w", name, err)
		}
		d.cfg.Logger.Info("reading the libs module", "name", name, "api", dev.API.String(), "schema", dev.Schema.String())
		return dev, nil
	}
	return kmod.Open(kmod.DeviceOptions{Path: d.cfg.Kmod.Device})
}

// Cleanup unloads the module, retrying while it is busy; never forced.
func (d *kmodDriver) Cleanup(ctx context.Context) (string, error) {
	if !d.loaded(host.Facts{}) {
		return "nothing to clean up: module " + d.module() + " is not loaded", nil
	}
	err := kmod.Unload(ctx, d.module(), kmod.UnloadOptions{})
	switch {
	case err == nil:
		return "module " + d.module() + " unloaded", nil
	case errors.Is(err, kmod.ErrNotLoaded):
		return "nothing to clean up: module " + d.module() + " is not loaded", nil
	}
	return "", err
}
