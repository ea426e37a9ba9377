package loader

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
	"github.com/kdriver/kdriver/userspace"
)

// Driver is one driver type's part of the install pipeline. Each driver
// type has one implementation; NewDriver picks it.
type Driver interface {
	// Type is the driver type this implements.
	Type() DriverType
	// Preflight checks what the host facts cannot tell (program and map
	// types, privileges, the artifact's arch and vermagic) without changing
	// anything. Errors that mean the host cannot run the driver wrap
	// ErrUnsupported.
	Preflight(ctx context.Context, f host.Facts) ([]string, error)
	// Install makes the driver ready to capture (load a module, attach a
	// probe) and says what it did.
	Install(ctx context.Context, f host.Facts, opts InstallOptions) (string, error)
	// Open starts reading the installed driver's events.
	Open(ctx context.Context) (events.Source, error)
	// Cleanup removes what Install left behind and says what it did.
	Cleanup(ctx context.Context) (string, error)
}

// DriverConfig holds the settings of every driver type; each reads its part.
type DriverConfig struct {
	// Modern configures the modern eBPF probe (buffers, event types).
	Modern modern.Options
	// Kmod configures the kernel module (file to load, parameters).
	Kmod KmodOptions
	// EBPF configures the legacy eBPF probe (file or artifacts, buffers).
	EBPF EBPFOptions
	// Userspace configures the ptrace tracer (event types).
	Userspace userspace.Options
	// Logger receives progress; nil: silent.
	Logger *slog.Logger
}

// NewDriver returns the implementation of driver type t.
func NewDriver(t DriverType, cfg DriverConfig) (Driver, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch t {
	case ModernEBPF:
		return newModernDriver(cfg), nil
	case Kmod:
		return newKmodDriver(cfg), nil
	case Userspace:
		return newUserspaceDriver(cfg), nil
	case EBPF:
		return newEBPFDriver(cfg), nil
	}
	return nil, fmt.Errorf("driver type %q: %w", t, ErrDriverType)
}
