package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
)

// EBPFOptions configure the legacy eBPF probe driver.
type EBPFOptions struct {
	// File is a local probe object to load instead of fetching or
	// compiling one.
	File string
	// Artifacts resolves the probe when no File is given: cache, stores,
	// compile on the node. Nil: only File works.
	Artifacts *ArtifactSource
	// Policy is what Install allows; Install sets it from its options.
	Policy ArtifactPolicy
	// Probe configures the loaded probe (buffers, event types).
	Probe legacy.Options
	// FalcoPath, for a Falco driver kit's probe, is where Falco loads it
	// (FALCO_BPF_PROBE, else ~/.falco/<driver name>-bpf.o): the probe is
	// checked (InspectFalco) and linked there, never loaded by kdriver.
	FalcoPath string
}

// ebpfDriver is kdriver's legacy eBPF probe (package bpf/legacy): an object
// built for the host's kernel, preflighted (ELF machine, recorded kernel and
// arch, programs and maps), loaded with cilium/ebpf. Nothing is pinned: the
// probe lives as long as the process that reads it.
type ebpfDriver struct {
	cfg      DriverConfig
	artifact *Artifact
	info     *legacy.Info
	probe    *legacy.Probe
}

func newEBPFDriver(cfg DriverConfig) *ebpfDriver {
	cfg.EBPF.Probe.Logger = cfg.Logger
	return &ebpfDriver{cfg: cfg}
}

func (d *ebpfDriver) Type() DriverType { return EBPF }

// Artifact is the probe Preflight resolved, or planned in a dry run.
func (d *ebpfDriver) Artifact() *Artifact { return d.artifact }

// probeCheck is the preflight of a probe object for host f, as a cache
// check: a probe for another kernel or arch never enters the cache.
func probeCheck(f host.Facts) artifacts.CheckFunc {
	want := probeWant(f)
	return func(name string, r io.ReaderAt, size int64) error {
		info, err := legacy.Inspect(name, r, size)
		if err != nil {
			return err
		}
		return info.Check(name, want)
	}
}

func probeWant(f host.Facts) legacy.Want {
	return legacy.Want{Arch: string(f.Arch), KernelRelease: f.Kernel.Release, KernelVersion: f.Kernel.Version}
}

// Preflight resolves the probe (--file, or the cache, the stores, a build
// on the node), checks it against the host before the kernel sees it, and
// probes the program and map types it needs.
func (d *ebpfDriver) Preflight(ctx context.Context, f host.Facts) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.artifact.Close()
	d.artifact, d.info = nil, nil
	// The host's privileges and program types first: a host that cannot
	// run the probe needs no artifact. Falco's probe is only placed here
	// (an init container may lack the privileges Falco will have).
	var lines []string
	for _, c := range []struct {
		what string
		run  func() error
	}{
		{"raw tracepoint program type (4.17)", func() error { return features.HaveProgramType(ebpf.RawTracepoint) }},
		{"perf event array map type (4.3)", func() error { return features.HaveMapType(ebpf.PerfEventArray) }},
	} {
		if d.cfg.EBPF.FalcoPath != "" {
			break
		}
		if err := c.run(); err != nil {
			return lines, unsupported(c.what, modernPermission(err))
		}
		lines = append(lines, c.what+": supported")
	}
	if file := d.cfg.EBPF.File; file != "" {
		fd, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("probe %s: %w", file, err)
		}
		d.artifact = &Artifact{Name: filepath.Base(file), Path: file, Origin: OriginFile, file: fd}
	} else {
		src := d.cfg.EBPF.Artifacts
		if src == nil {
			return nil, fmt.Errorf("%w: legacy eBPF probe: no probe file and no way to get one; pass --file PATH.o", ErrNoArtifact)
		}
		a, err := src.Resolve(ctx, f, d.cfg.EBPF.Policy)
		if a != nil {
			d.artifact = a
		}
		if err != nil {
			return nil, err
		}
		if a.Path == "" {
			return append(lines, "probe "+a.String()), nil
		}
		lines = append(lines, "probe "+a.String())
	}
	if d.cfg.EBPF.FalcoPath != "" {
		return d.preflightFalco(f, lines)
	}
	st, err := d.artifact.file.Stat()
	if err != nil {
		d.artifact.Close()
		return nil, fmt.Errorf("probe %s: %w", d.artifact.Path, err)
	}
	info, err := legacy.Inspect(d.artifact.Path, d.artifact.file, st.Size())
	if err == nil {
		err = info.Check(d.artifact.Path, probeWant(f))
	}
	if err != nil {
		d.artifact.Close()
		return nil, err
	}
	d.info = info
	lines = append(lines, fmt.Sprintf("%s: %s probe %s for kernel %s (version %q)",
		d.artifact.Path, info.Arch, info.DriverVersion, info.KernelRelease, info.KernelVersion))
	return lines, nil
}

// Install loads and attaches the probe the preflight checked, through the
// descriptor it read; it stays attached until Cleanup or the end of the
// process. A Falco probe is placed for Falco instead.
func (d *ebpfDriver) Install(ctx context.Context, _ host.Facts, _ InstallOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if d.cfg.EBPF.FalcoPath != "" {
		return d.placeFalco()
	}
	if d.probe != nil {
		return d.describe(), nil
	}
	if d.artifact == nil || d.artifact.file == nil {
		return "", fmt.Errorf("%w: legacy eBPF probe: no probe file (run the preflight first)", ErrNoArtifact)
	}
	st, err := d.artifact.file.Stat()
	if err != nil {
		return "", fmt.Errorf("probe %s: %w", d.artifact.Path, err)
	}
	p, err := legacy.Load(d.artifact.Path, d.artifact.file, st.Size(), d.cfg.EBPF.Probe)
	d.artifact.Close()
	if err != nil {
		return "", unsupported("load legacy probe", err)
	}
	d.probe = p
	return d.describe(), nil
}

func (d *ebpfDriver) describe() string {
	entries := ""
	if d.probe.ExecEntry != modern.ExecEntryNone {
		entries = fmt.Sprintf(" (exec entries through %s)", d.probe.ExecEntry)
	}
	return fmt.Sprintf("probe %s loaded and attached with raw tracepoints%s, perf buffers of %d KiB per CPU; it is not pinned and goes away when kdriver exits",
		d.artifact, entries, d.probe.BufSize>>10)
}

// Open reads the probe's perf buffers, loading it first if needed.
func (d *ebpfDriver) Open(ctx context.Context) (events.Source, error) {
	if d.cfg.EBPF.FalcoPath != "" {
		return nil, fmt.Errorf("%w: Falco's probe at %s writes Falco's event format for Falco to read", ErrNoSelfTest, d.cfg.EBPF.FalcoPath)
	}
	if d.probe == nil {
		if _, err := d.Install(ctx, host.Facts{}, InstallOptions{}); err != nil {
			return nil, err
		}
	}
	src := legacy.NewSource(d.probe)
	d.probe = nil // the source owns it now
	return src, nil
}

// Cleanup detaches a probe this driver loaded; nothing is ever pinned. A
// Falco probe's link is removed.
func (d *ebpfDriver) Cleanup(context.Context) (string, error) {
	d.artifact.Close()
	if d.cfg.EBPF.FalcoPath != "" {
		return d.cleanupFalco()
	}
	if d.probe != nil {
		err := d.probe.Close()
		d.probe = nil
		return "probe detached", err
	}
	return "nothing to clean up: the legacy eBPF probe is never pinned, it is unloaded when the process reading it exits", nil
}

var errNoProbe = errors.New("no probe")
