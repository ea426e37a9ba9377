package loader

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
	"github.com/kdriver/kdriver/userspace"
)

// userspaceDriver traces processes with ptrace: nothing is installed, the
// source it opens traces the processes started or attached through it
// (`kdriver trace`, the self-test).
type userspaceDriver struct {
	cfg DriverConfig
}

func newUserspaceDriver(cfg DriverConfig) *userspaceDriver { return &userspaceDriver{cfg: cfg} }

func (d *userspaceDriver) Type() DriverType { return Userspace }

// Preflight checks that Yama allows ptrace and that a child can really be
// traced (a seccomp profile or an LSM may forbid ptrace where Yama allows
// it). Tracing one's own children needs no privilege.
func (d *userspaceDriver) Preflight(ctx context.Context, f host.Facts) ([]string, error) {
	if f.Ptrace.Detail != "" && !f.Ptrace.Present {
		return nil, fmt.Errorf("%w: %s (set it to 0, 1 or 2 to use the userspace driver)", ErrUnsupported, f.Ptrace.Detail)
	}
	ok := []string{}
	if f.Ptrace.Detail != "" {
		ok = append(ok, f.Ptrace.Detail)
	}
	tru, err := exec.LookPath("true")
	if err != nil {
		return append(ok, "ptrace of a child not tried: no true(1) in PATH"), nil
	}
	src, err := userspace.New(userspace.Options{EndWhenDone: true, Logger: d.cfg.Logger})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	_, wait, err := src.Start(exec.CommandContext(ctx, tru))
	if err != nil {
		return nil, fmt.Errorf("%w: trace %s: %w (is ptrace forbidden by seccomp or an LSM?)", ErrUnsupported, tru, err)
	}
	if _, err := wait(); err != nil {
		return nil, fmt.Errorf("trace %s: %w", tru, err)
	}
	return append(ok, "traced a child with ptrace"), nil
}

// Install has nothing to install.
func (d *userspaceDriver) Install(ctx context.Context, _ host.Facts, _ InstallOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return "nothing to install: the userspace driver traces each command it runs (kdriver trace -- CMD, or -p PID) with ptrace", nil
}

// Open starts a tracer; it traces what is started through it (it
// implements events.ProcessStarter, which the self-test uses).
func (d *userspaceDriver) Open(context.Context) (events.Source, error) {
	opts := d.cfg.Userspace
	if opts.Logger == nil {
		opts.Logger = d.cfg.Logger
	}
	return userspace.New(opts)
}

// Cleanup has nothing to remove.
func (d *userspaceDriver) Cleanup(context.Context) (string, error) {
	return "nothing to clean up: the userspace driver installs nothing", nil
}
