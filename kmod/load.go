package kmod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Load and unload errors.
var (
	// ErrLoaded: a module of that name is already loaded.
	ErrLoaded = errors.New("module already loaded")
	// ErrNotLoaded: no module of that name is loaded.
	ErrNotLoaded = errors.New("module not loaded")
	// ErrInUse: the module is still referenced (a reader holds the device).
	ErrInUse = errors.New("module in use")
	// ErrNoModuleSupport: the kernel cannot load modules at all.
	ErrNoModuleSupport = errors.New("kernel without loadable module support")
	// ErrRefused: the kernel refused the module (signature, lockdown,
	// permissions or format).
	ErrRefused = errors.New("kernel refused the module")
)

// Load loads the module at path with finit_module, passing params
// ("key=value key2=value2"). Prefer PreflightFile and LoadFile on one open
// file: the kernel's own error for a wrong module is only "Invalid module
// format", and a path can be replaced between a check and the load.
func Load(ctx context.Context, path, params string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return LoadFile(ctx, f, params)
}

// LoadFile loads the module open as f with finit_module on that very
// descriptor: what was hashed and preflighted through f is what the kernel
// reads. f must not be open for writing (the kernel refuses, ETXTBSY).
func LoadFile(ctx context.Context, f *os.File, params string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := f.Name()
	err := unix.FinitModule(int(f.Fd()), params, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("load %s: %w: unload it first (kdriver cleanup)", path, ErrLoaded)
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("load %s: %w: use an eBPF driver", path, ErrNoModuleSupport)
	case errors.Is(err, unix.ENOEXEC):
		return fmt.Errorf("load %s: %w: invalid module format (%v); see the kernel log", path, ErrRefused, err)
	case errors.Is(err, unix.EKEYREJECTED), errors.Is(err, unix.ENOKEY), errors.Is(err, unix.EPERM):
		return fmt.Errorf("load %s: %w: %v (unsigned module under Secure Boot or lockdown, or no CAP_SYS_MODULE)", path, ErrRefused, err)
	}
	return fmt.Errorf("load %s: %w: %v; see the kernel log", path, ErrRefused, err)
}

// UnloadOptions tunes Unload. The zero value retries 10 times, 200ms apart.
type UnloadOptions struct {
	Retries int
	Delay   time.Duration
	// SysModule is the sysfs module folder, default /sys/module.
	SysModule string
}

// Unload removes the module name with delete_module. While the module is
// in use it retries; it never forces the unload.
func Unload(ctx context.Context, name string, opts UnloadOptions) error {
	if opts.Retries <= 0 {
		opts.Retries = 10
	}
	if opts.Delay <= 0 {
		opts.Delay = 200 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		err := unix.DeleteModule(name, unix.O_NONBLOCK)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.ENOENT):
			return fmt.Errorf("unload %s: %w", name, ErrNotLoaded)
		case errors.Is(err, unix.ENOSYS):
			return fmt.Errorf("unload %s: %w", name, ErrNoModuleSupport)
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EBUSY):
			if attempt >= opts.Retries {
				ref := refcount(opts.SysModule, name)
				// The devices of kdriver's and Falco's modules are named
				// after the module (/dev/kdriver, /dev/scap0…).
				return fmt.Errorf("unload %s: %w (refcount %s): stop the process that has /dev/%s (or /dev/%s<cpu>) open and retry",
					name, ErrInUse, ref, name, name)
			}
		default:
			return fmt.Errorf("unload %s: %w", name, err)
		}
		t := time.NewTimer(opts.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Loaded reports whether module name is loaded (sysModule: default /sys/module).
func Loaded(sysModule, name string) (bool, error) {
	if sysModule == "" {
		sysModule = "/sys/module"
	}
	_, err := os.Stat(filepath.Join(sysModule, name, "initstate"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func refcount(sysModule, name string) string {
	if sysModule == "" {
		sysModule = "/sys/module"
	}
	b, err := os.ReadFile(filepath.Join(sysModule, name, "refcnt"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
