package loader

import (
	"context"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
)

// modernDriver is the modern eBPF probe: embedded, nothing to fetch, and
// nothing pinned: it lives as long as the process that reads it.
type modernDriver struct {
	cfg   DriverConfig
	probe *modern.Probe
}

func newModernDriver(cfg DriverConfig) *modernDriver {
	cfg.Modern.Logger = cfg.Logger
	return &modernDriver{cfg: cfg}
}

func (d *modernDriver) Type() DriverType { return ModernEBPF }

// unsupported wraps a failed check: missing privileges and missing kernel
// features both mean the host cannot run the driver (exit 4).
func unsupported(what string, err error) error {
	if errors.Is(err, modern.ErrPermission) {
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, what, err)
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Preflight probes the BPF features the probe needs. The kernel version
// and BTF were checked by Choose from the facts.
func (d *modernDriver) Preflight(ctx context.Context, f host.Facts) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ok []string
	checks := []struct {
		what string
		run  func() error
	}{
		{"BPF ring buffer map type (5.8)", func() error { return features.HaveMapType(ebpf.RingBuf) }},
		{"BPF array of maps (4.12)", func() error { return features.HaveMapType(ebpf.ArrayOfMaps) }},
		{"raw tracepoint program type (4.17)", func() error { return features.HaveProgramType(ebpf.RawTracepoint) }},
	}
	for _, c := range checks {
		if err := c.run(); err != nil {
			return ok, unsupported(c.what, modernPermission(err))
		}
		ok = append(ok, c.what+": supported")
	}
	if !f.BTF.Present {
		return ok, fmt.Errorf("%w: BTF: %s", ErrUnsupported, f.BTF.Detail)
	}
	ok = append(ok, "BTF: "+f.BTF.Detail)
	return ok, nil
}

// modernPermission turns feature-probe refusals into modern.ErrPermission.
func modernPermission(err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	if isPermission(err) {
		return fmt.Errorf("%w: %w", modern.ErrPermission, err)
	}
	return err
}

// Install loads and attaches the probe; it stays attached until Cleanup
// or the end of the process.
func (d *modernDriver) Install(ctx context.Context, _ host.Facts, _ InstallOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if d.probe != nil {
		return d.describe(), nil
	}
	p, err := modern.Load(d.cfg.Modern)
	if err != nil {
		return "", unsupported("load modern probe", err)
	}
	d.probe = p
	return d.describe(), nil
}

func (d *modernDriver) describe() string {
	p := d.probe
	entries := ""
	if p.ExecEntry != modern.ExecEntryNone {
		entries = fmt.Sprintf(" (exec entries through %s)", p.ExecEntry)
	}
	return fmt.Sprintf("probe loaded and attached with %s programs%s, %d ring buffer(s) of %d MiB; it is not pinned and goes away when kdriver exits",
		p.Mode, entries, p.Buffers, p.BufSize>>20)
}

// Open reads the probe's ring buffers, loading it first if needed.
func (d *modernDriver) Open(ctx context.Context) (events.Source, error) {
	if d.probe == nil {
		if _, err := d.Install(ctx, host.Facts{}, InstallOptions{}); err != nil {
			return nil, err
		}
	}
	src, err := modern.NewSource(d.probe)
	d.probe = nil // the source owns it now
	if err != nil {
		return nil, err
	}
	return src, nil
}

// Cleanup detaches a probe this driver loaded; nothing is ever pinned.
func (d *modernDriver) Cleanup(context.Context) (string, error) {
	if d.probe != nil {
		err := d.probe.Close()
		d.probe = nil
		return "probe detached", err
	}
	return "nothing to clean up: the modern probe is never pinned, it is unloaded when the process reading it exits", nil
}
