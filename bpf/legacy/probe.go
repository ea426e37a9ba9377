package legacy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/kdriver/kdriver/bpf/internal/syscalltp"
	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrPermission is the modern probe's: the same privileges load both.
var ErrPermission = modern.ErrPermission

// Options configure the probe. The zero value is a perf buffer of 8 MiB per
// CPU capturing every event type of the running architecture.
type Options struct {
	// BufSizePreset picks each CPU's perf buffer size, as for the modern
	// probe (1..10, 0: 4 = 8 MiB).
	BufSizePreset int
	// Arch selects the syscall table; empty: the running one.
	Arch string
	// Types are the event types to capture; empty: all.
	Types []events.Type
	// SysEnterExec takes the exec entries with kd_sys_enter even where the
	// syscall tracepoint programs would do (tests and benchmarks).
	SysEnterExec bool
	// Logger receives debug messages; nil: silent.
	Logger *slog.Logger
}

// Probe is the loaded and attached probe.
type Probe struct {
	Info    *Info
	BufSize int // bytes per CPU buffer
	// ExecEntry says which programs take the exec entries, as the modern
	// probe's: syscall_tracepoint, sys_enter, or none (no entry type
	// captured).
	ExecEntry modern.ExecEntry

	coll   *ebpf.Collection
	entry  *ebpf.Collection // the syscall tracepoint programs, if loaded
	links  []io.Closer
	reader *perf.Reader
}

// The reader wakes when a CPU's buffer is 1/wakeupFraction full, and
// otherwise polls every modern.PollInterval (as the modern probe does).
const wakeupFraction = 16

func permissionError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// LoadFile loads the probe at path; see Load. (Installs load through the
// one descriptor they hashed and preflighted, with Load.)
func LoadFile(path string, opts Options) (*Probe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Load(path, f, st.Size(), opts)
}

// Load inspects the object in r, loads it, fills its syscall filter and
// settings, opens its perf buffers and attaches its raw tracepoints. The
// caller checks the recorded kernel against the host's first (Info.Check):
// Load only refuses what is not a probe or writes another event format.
func Load(file string, r io.ReaderAt, size int64, opts Options) (p *Probe, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	info, err := Inspect(file, r, size)
	if err != nil {
		return nil, err
	}
	if err := events.CheckVersion("legacy probe "+file, info.API[0], info.API[1], info.API[2]); err != nil {
		return nil, err
	}
	bufSize, err := modern.BufSize(opts.BufSizePreset)
	if err != nil {
		return nil, err
	}
	arch := kernelrelease.HostArch()
	if opts.Arch != "" {
		if arch, err = kernelrelease.ParseArch(opts.Arch); err != nil {
			return nil, err
		}
	}
	filter, err := events.Filter(arch, modern.ExecTypes(opts.Types))
	if err != nil {
		return nil, err
	}
	wantExit := len(opts.Types) == 0
	for _, t := range opts.Types {
		wantExit = wantExit || t == events.TypeProcExit
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, permissionError(fmt.Errorf("memlock rlimit: %w", err))
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", file, err)
	}
	// Sized by the loader: one perf buffer per possible CPU.
	spec.Maps["perf_events"].MaxEntries = 0
	// The syscall tracepoint programs load apart, after the rest: a
	// kernel that refuses them keeps kd_sys_enter.
	entrySpec := spec.Copy()
	for name := range ExecEntryPrograms {
		delete(spec.Programs, name)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, permissionError(fmt.Errorf("probe %s: load: %w", file, err))
	}
	p = &Probe{Info: info, BufSize: bufSize, coll: coll, ExecEntry: modern.ExecEntryNone}
	// Every failure below returns a nil Probe: the one made here is
	// closed by name.
	defer func(made *Probe) {
		if err != nil {
			made.Close()
			p = nil
		}
	}(p)
	if err := p.fill(filter, wantExit); err != nil {
		return nil, err
	}
	p.reader, err = perf.NewReaderWithOptions(coll.Maps["perf_events"], bufSize,
		perf.ReaderOptions{Watermark: bufSize / wakeupFraction})
	if err != nil {
		return nil, permissionError(fmt.Errorf("perf buffers of %d bytes: %w", bufSize, err))
	}
	for _, name := range []string{"kd_sys_enter", "kd_sys_exit", "kd_proc_exit"} {
		if name == "kd_sys_enter" {
			if !modern.HasEntryTypes(filter) {
				continue // no entry type: nothing at syscall entry
			}
			if !opts.SysEnterExec {
				err := p.attachExecTracepoints(entrySpec)
				if err == nil {
					p.ExecEntry = modern.ExecEntryTracepoint
					continue
				}
				log.Debug("legacy probe: exec entries through sys_enter", "syscall_tracepoint_error", err)
			}
			p.ExecEntry = modern.ExecEntrySysEnter
		}
		l, err := attachRawTracepoint(link.RawTracepointOptions{Name: Programs[name], Program: coll.Programs[name]})
		if err != nil {
			return nil, permissionError(fmt.Errorf("attach %s: %w", name, err))
		}
		p.links = append(p.links, l)
	}
	log.Debug("legacy probe attached", "file", file, "kernel", info.KernelRelease, "exec_entry", p.ExecEntry, "buffer_size", bufSize)
	return p, nil
}

// attachExecTracepoints loads the syscall tracepoint programs from spec
// (a copy of the object's) on the loaded probe's maps and attaches them;
// on an error it leaves nothing attached. A probe built before them has
// none: an error.
func (p *Probe) attachExecTracepoints(spec *ebpf.CollectionSpec) error {
	names := slices.Sorted(maps.Keys(ExecEntryPrograms))
	for name := range spec.Programs {
		if _, ok := ExecEntryPrograms[name]; !ok {
			delete(spec.Programs, name)
		}
	}
	for _, name := range names {
		if spec.Programs[name] == nil {
			return fmt.Errorf("probe built without %s", name)
		}
	}
	ids, err := syscalltp.ExecEntryIDs()
	if err != nil {
		return err
	}
	id := map[string]uint64{}
	for i, ev := range syscalltp.Events {
		id[ev] = ids[i]
	}
	coll, links, err := syscalltp.LoadAttach(spec, ebpf.CollectionOptions{MapReplacements: p.coll.Maps}, names,
		func(name string, prog *ebpf.Program) (io.Closer, error) {
			return syscalltp.Attach(prog, id[ExecEntryPrograms[name]])
		})
	if err != nil {
		return err
	}
	p.entry = coll
	p.links = append(p.links, links...)
	return nil
}

// attachRawTracepoint attaches the programs (a variable for the tests of a
// failed attach).
var attachRawTracepoint = link.AttachRawTracepoint

func (p *Probe) fill(filter []events.FilterEntry, wantExit bool) error {
	m := p.coll.Maps["syscall_filter"]
	for _, e := range filter {
		if e.Nr < 0 || uint32(e.Nr) >= m.MaxEntries() {
			return fmt.Errorf("syscall %d beyond the filter map (%d entries)", e.Nr, m.MaxEntries())
		}
		v := [2]uint16{uint16(e.Enter), uint16(e.Exit)}
		if err := m.Put(uint32(e.Nr), v); err != nil {
			return fmt.Errorf("map syscall_filter: %w", err)
		}
	}
	var s [2]uint32 // struct kd_settings
	if wantExit {
		s[0] = 1
	}
	if err := p.coll.Maps["settings"].Put(uint32(0), s); err != nil {
		return fmt.Errorf("map settings: %w", err)
	}
	return nil
}

// Close detaches the programs and frees the buffers and maps; nothing is
// pinned, so nothing of the probe remains.
func (p *Probe) Close() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	if p.entry != nil {
		p.entry.Close()
		p.entry = nil
	}
	if p.reader != nil {
		errs = append(errs, p.reader.Close())
		p.reader = nil
	}
	if p.coll != nil {
		p.coll.Close()
		p.coll = nil
	}
	return errors.Join(errs...)
}

// Stats reads the probe's per-CPU counters.
func (p *Probe) Stats() (events.Stats, error) {
	var per [][3]uint64 // struct kd_counters
	if err := p.coll.Maps["counters"].Lookup(uint32(0), &per); err != nil {
		return events.Stats{}, fmt.Errorf("map counters: %w", err)
	}
	var s events.Stats
	for cpu, c := range per {
		s.Events += c[0]
		s.Drops += c[1]
		s.Lost += c[2]
		s.PerCPU = append(s.PerCPU, events.CPUStats{CPU: cpu, Events: c[0], Drops: c[1], Lost: c[2]})
	}
	return s, nil
}
