package modern

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/kdriver/kdriver/bpf/internal/syscalltp"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrPermission is returned when the kernel refuses to load or attach the
// probe for lack of privileges.
var ErrPermission = errors.New("missing privileges to load eBPF programs: run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8)")

// Buffer size presets, as Falco's buf_size_preset: preset n is 1 MiB << (n-1).
const (
	MinBufSizePreset     = 1
	MaxBufSizePreset     = 10
	DefaultBufSizePreset = 4 // 8 MiB
)

// The probe wakes the reader each time a CPU has written 1/wakeupFraction
// of its buffer (divided among the CPUs sharing the buffer); the reader
// polls every PollInterval otherwise, which bounds the latency of a quiet
// stream.
const (
	wakeupFraction = 16
	PollInterval   = 10 * time.Millisecond
)

// AllCPUs as Options.CPUsPerBuffer makes one buffer shared by every CPU.
const AllCPUs = -1

// Options configure the probe. The zero value is a buffer of 8 MiB per
// CPU capturing every event type of the running architecture.
type Options struct {
	// BufSizePreset picks each ring buffer's size (1..10, 0: 4 = 8 MiB).
	BufSizePreset int
	// CPUsPerBuffer is how many CPUs share one ring buffer: 0 or 1 gives a
	// buffer per CPU, AllCPUs one buffer for all. (Falco's
	// cpus_for_each_buffer, where 0 means all.)
	CPUsPerBuffer int
	// OnlineOnly allocates buffers for online CPUs only; events of CPUs
	// that come online later are counted as drops.
	OnlineOnly bool
	// Arch selects the syscall table; empty: the running one.
	Arch string
	// Types are the event types to capture; empty: all.
	Types []events.Type
	// Attach forces one attach mode; empty: tp_btf, then raw tracepoints.
	Attach AttachMode
	// ExecEntry forces the programs that take the exec entries (tests and
	// benchmarks of each way); empty: the first that loads of fentry
	// (tp_btf mode only), the syscall tracepoints, sys_enter.
	ExecEntry ExecEntry
	// Logger receives debug messages (attach mode, buffers); nil: silent.
	Logger *slog.Logger
}

// BufSize returns the size in bytes of a buffer size preset.
func BufSize(preset int) (int, error) {
	if preset == 0 {
		preset = DefaultBufSizePreset
	}
	if preset < MinBufSizePreset || preset > MaxBufSizePreset {
		return 0, fmt.Errorf("buffer size preset %d: want %d..%d (1 MiB << (preset-1))", preset, MinBufSizePreset, MaxBufSizePreset)
	}
	return 1 << 20 << (preset - 1), nil
}

// AttachMode says how the programs were attached.
type AttachMode string

const (
	AttachBTF AttachMode = "tp_btf"
	AttachRaw AttachMode = "raw_tracepoint"
)

// ExecEntry says which programs take the exec entries (execve_e,
// execveat_e).
type ExecEntry string

const (
	// ExecEntryFentry: fentry programs on the execve and execveat syscall
	// functions, which run for those two syscalls only (tp_btf mode, when
	// the kernel has trampolines).
	ExecEntryFentry ExecEntry = "fentry"
	// ExecEntryTracepoint: programs on the kernel's syscalls:
	// sys_enter_execve and sys_enter_execveat tracepoints
	// (CONFIG_FTRACE_SYSCALLS), which run for those two syscalls only;
	// the kernel tests a bitmap at every syscall's entry.
	ExecEntryTracepoint ExecEntry = "syscall_tracepoint"
	// ExecEntrySysEnter: a program on raw_syscalls:sys_enter, which runs
	// at the entry of every syscall.
	ExecEntrySysEnter ExecEntry = "sys_enter"
	// ExecEntryNone: no entry program (no entry event type asked for).
	ExecEntryNone ExecEntry = "none"
)

// Probe is the loaded and attached probe.
type Probe struct {
	Mode      AttachMode
	ExecEntry ExecEntry
	Buffers   int // number of ring buffers
	BufSize   int // bytes per ring buffer

	coll   *ebpf.Collection // the programs of Mode
	entry  *ebpf.Collection // the fentry or syscall tracepoint exec entry programs, if loaded
	maps   probeMaps        // bpf2go's typed maps, owned by the Probe
	links  []io.Closer      // attached programs: links and perf events
	rings  []*ebpf.Map
	cpusOf [][]int // rings[i] serves the CPUs cpusOf[i]
}

// attachment is one program of an attach mode and its tracepoint.
type attachment struct {
	prog       *ebpf.ProgramSpec
	tracepoint string
}

// programs are the tracepoint programs of mode, from bpf2go's typed specs.
func (s *probeSpecs) programs(mode AttachMode) []attachment {
	if mode == AttachRaw {
		return []attachment{{s.KdSysEnterRaw, "sys_enter"}, {s.KdSysExitRaw, "sys_exit"}, {s.KdProcExitRaw, "sched_process_exit"}}
	}
	return []attachment{{s.KdSysEnterBtf, "sys_enter"}, {s.KdSysExitBtf, "sys_exit"}, {s.KdProcExitBtf, "sched_process_exit"}}
}

// GOARCH of the objects: bpf2go only builds amd64 and arm64.
func runningArch() kernelrelease.Arch { return kernelrelease.HostArch() }

// permissionError maps the kernel's refusals to ErrPermission.
func permissionError(err error) error {
	// The verifier's rejections also come back as EACCES.
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// Load loads the probe, creates its ring buffers, fills the syscall filter
// and attaches the programs: tp_btf first, raw tracepoints if that fails.
func Load(opts Options) (*Probe, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	size, err := BufSize(opts.BufSizePreset)
	if err != nil {
		return nil, err
	}
	arch := runningArch()
	if opts.Arch != "" {
		if arch, err = kernelrelease.ParseArch(opts.Arch); err != nil {
			return nil, err
		}
	}
	filter, err := events.Filter(arch, ExecTypes(opts.Types))
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
	possible, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("possible CPUs: %w", err)
	}
	online := allCPUs(possible)
	if opts.OnlineOnly {
		if online, err = onlineCPUs(); err != nil {
			return nil, err
		}
	}

	var errs []error
	modes := []AttachMode{AttachBTF, AttachRaw}
	switch opts.Attach {
	case "":
	case AttachBTF, AttachRaw:
		modes = []AttachMode{opts.Attach}
	default:
		return nil, fmt.Errorf("attach mode %q: want %s or %s", opts.Attach, AttachBTF, AttachRaw)
	}
	switch opts.ExecEntry {
	case "", ExecEntryFentry, ExecEntryTracepoint, ExecEntrySysEnter:
	default:
		return nil, fmt.Errorf("exec entry programs %q: want %s, %s or %s", opts.ExecEntry, ExecEntryFentry, ExecEntryTracepoint, ExecEntrySysEnter)
	}
	for _, mode := range modes {
		p, err := load(mode, possible, online, size, opts.CPUsPerBuffer, filter, wantExit, opts.ExecEntry, log)
		if err == nil {
			log.Debug("modern probe attached", "mode", mode, "exec_entry", p.ExecEntry, "buffers", len(p.rings), "buffer_size", size)
			return p, nil
		}
		err = permissionError(err)
		if errors.Is(err, ErrPermission) {
			return nil, err
		}
		log.Debug("modern probe attach failed", "mode", mode, "error", err)
		errs = append(errs, fmt.Errorf("%s: %w", mode, err))
	}
	return nil, fmt.Errorf("modern probe: %w", errors.Join(errs...))
}

func load(mode AttachMode, possible int, online []int, size, perBuf int, filter []events.FilterEntry,
	wantExit bool, execEntry ExecEntry, log *slog.Logger) (p *Probe, err error) {
	spec, err := loadProbe()
	if err != nil {
		return nil, fmt.Errorf("embedded object: %w", err)
	}
	var specs probeSpecs
	if err := spec.Assign(&specs); err != nil {
		return nil, fmt.Errorf("embedded object: %w", err)
	}
	if err := checkVersion(&specs.probeVariableSpecs); err != nil {
		return nil, err
	}
	perBuf = cpusPerBuffer(perBuf, len(online))
	specs.Ringbufs.MaxEntries = uint32(possible)
	specs.Ringbufs.InnerMap.MaxEntries = uint32(size)
	if err := specs.KdProcexitEnabled.Set(boolU32(wantExit)); err != nil {
		return nil, fmt.Errorf("variable %s: %w", specs.KdProcexitEnabled.Name, err)
	}
	// The probe counts bytes per CPU (kd_wake): the CPUs sharing a buffer
	// share its threshold.
	if err := specs.KdWakeupBytes.Set(uint64(max(1, size/wakeupFraction/perBuf))); err != nil {
		return nil, fmt.Errorf("variable %s: %w", specs.KdWakeupBytes.Name, err)
	}
	// The fentry and syscall tracepoint exec entry programs load apart
	// (attachExecEntry), after the rest: their failure must leave the
	// sys_enter program in place.
	entrySpec := spec.Copy()
	// Only this mode's programs are loaded: tp_btf ones do not load
	// without BTF.
	progs := specs.programs(mode)
	for name, ps := range spec.Programs {
		if !slices.ContainsFunc(progs, func(a attachment) bool { return a.prog == ps }) {
			delete(spec.Programs, name)
		}
	}
	cache := btf.NewCache()
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, err
	}
	p = &Probe{Mode: mode, ExecEntry: ExecEntryNone, BufSize: size, coll: coll}
	// Every failure below returns a nil Probe: the one made here is
	// closed by name.
	defer func(made *Probe) {
		if err != nil {
			made.Close()
			p = nil
		}
	}(p)
	if err := coll.Assign(&p.maps); err != nil {
		return nil, err
	}
	if err := p.fillFilter(filter); err != nil {
		return nil, err
	}
	if err := p.makeRings(online, size, perBuf); err != nil {
		return nil, err
	}
	for _, a := range progs {
		if a.tracepoint == "sys_enter" {
			if !HasEntryTypes(filter) {
				continue
			}
			if p.ExecEntry, err = p.attachExecEntry(mode, entrySpec, cache, execEntry, log); err != nil {
				return nil, err
			}
			if p.ExecEntry != ExecEntrySysEnter {
				continue
			}
		}
		prog := coll.Programs[a.prog.Name]
		var l link.Link
		if mode == AttachBTF {
			l, err = link.AttachTracing(link.TracingOptions{Program: prog})
		} else {
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.tracepoint, Program: prog})
		}
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.prog.Name, err)
		}
		p.links = append(p.links, l)
	}
	return p, nil
}

// HasEntryTypes tells whether the filter asks for an event at some
// syscall's entry: without one, no entry program is attached at all (the
// legacy probe's loader asks it too).
func HasEntryTypes(filter []events.FilterEntry) bool {
	return slices.ContainsFunc(filter, func(e events.FilterEntry) bool { return e.Enter != 0 })
}

// execEntryPrograms are the programs of each way of taking the exec
// entries apart from sys_enter.
var execEntryPrograms = map[ExecEntry][]string{
	ExecEntryFentry:     {"kd_execve_fentry", "kd_execveat_fentry"},
	ExecEntryTracepoint: {"kd_execve_tp", "kd_execveat_tp"},
}

// attachExecEntry attaches the exec entry programs of the first way that
// works, in the order of ExecEntry's constants: fentry (tp_btf mode only),
// the syscall tracepoints, and else none here (ExecEntrySysEnter: the
// caller attaches its sys_enter program). force names the only way to
// try; an error is returned only when it fails.
func (p *Probe) attachExecEntry(mode AttachMode, spec *ebpf.CollectionSpec, cache *btf.Cache,
	force ExecEntry, log *slog.Logger) (ExecEntry, error) {
	ways := []ExecEntry{ExecEntryFentry, ExecEntryTracepoint}
	if mode != AttachBTF {
		// fentry programs are BTF programs.
		ways = ways[1:]
	}
	switch {
	case force == ExecEntrySysEnter:
		return force, nil
	case force != "" && !slices.Contains(ways, force):
		return "", fmt.Errorf("exec entries through %s: not in %s mode", force, mode)
	case force != "":
		ways = []ExecEntry{force}
	}
	for _, way := range ways {
		err := p.attachEntryPrograms(spec.Copy(), cache, way)
		if err == nil {
			return way, nil
		}
		if force != "" {
			return "", fmt.Errorf("exec entries through %s: %w", way, err)
		}
		log.Debug("modern probe: exec entry programs did not attach", "way", way, "error", err)
	}
	return ExecEntrySysEnter, nil
}

// attachEntryPrograms loads the exec entry programs of way from spec (a
// copy of the object's) on the maps of the loaded probe, and attaches
// them; on an error it leaves nothing attached.
func (p *Probe) attachEntryPrograms(spec *ebpf.CollectionSpec, cache *btf.Cache, way ExecEntry) error {
	names := execEntryPrograms[way]
	var ids []uint64
	if way == ExecEntryTracepoint {
		var err error
		if ids, err = syscalltp.ExecEntryIDs(); err != nil {
			return err
		}
	}
	for name := range spec.Programs {
		if !slices.Contains(names, name) {
			delete(spec.Programs, name)
		}
	}
	// Every map of the probe, shared: p.coll keeps only those Assign did
	// not move to p.maps (.rodata); a map left out here would be created
	// anew and empty (a filter without entries, buffers nobody reads).
	maps := map[string]*ebpf.Map{
		probeMapCounters:      p.maps.Counters,
		probeMapExecPending:   p.maps.ExecPending,
		probeMapRingbufs:      p.maps.Ringbufs,
		probeMapScratch:       p.maps.Scratch,
		probeMapSyscallFilter: p.maps.SyscallFilter,
	}
	for name, m := range p.coll.Maps {
		maps[name] = m
	}
	for name := range spec.Maps {
		if maps[name] == nil {
			return fmt.Errorf("map %s of the %s programs: not among the probe's", name, way)
		}
	}
	coll, links, err := syscalltp.LoadAttach(spec, ebpf.CollectionOptions{MapReplacements: maps, Cache: cache}, names,
		func(name string, prog *ebpf.Program) (io.Closer, error) {
			if way == ExecEntryTracepoint {
				return syscalltp.Attach(prog, ids[slices.Index(names, name)])
			}
			return link.AttachTracing(link.TracingOptions{Program: prog})
		})
	if err != nil {
		return err
	}
	p.entry = coll
	p.links = append(p.links, links...)
	return nil
}

// checkVersion reads the format version the object was built with.
func checkVersion(vars *probeVariableSpecs) error {
	var v [3]uint32
	for i, vs := range []*ebpf.VariableSpec{vars.KdApiMajor, vars.KdApiMinor, vars.KdSchema} {
		if err := vs.Get(&v[i]); err != nil {
			return fmt.Errorf("variable %s: %w", vs.Name, err)
		}
	}
	return events.CheckVersion("modern probe", v[0], v[1], v[2])
}

// ExecTypes completes a list that has one exec type with the other three:
// the probes tell execve's exit from execveat's by the entry they saw (a
// successful execveat returns with execve's syscall number), so they need
// both entries and both exits. Readers filter what they did not ask for.
func ExecTypes(types []events.Type) []events.Type {
	execs := []events.Type{events.TypeExecveE, events.TypeExecveX, events.TypeExecveatE, events.TypeExecveatX}
	for _, t := range types {
		if slices.Contains(execs, t) {
			out := slices.Clone(types)
			for _, e := range execs {
				if !slices.Contains(out, e) {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return types
}

func boolU32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (p *Probe) fillFilter(filter []events.FilterEntry) error {
	m := p.maps.SyscallFilter
	for _, e := range filter {
		if e.Nr < 0 || uint32(e.Nr) >= m.MaxEntries() {
			return fmt.Errorf("syscall %d beyond the filter map (%d entries)", e.Nr, m.MaxEntries())
		}
		v := probeKdFilter{Enter: uint16(e.Enter), Exit: uint16(e.Exit)}
		if err := m.Put(uint32(e.Nr), v); err != nil {
			return fmt.Errorf("map syscall_filter: %w", err)
		}
	}
	return nil
}

// cpusPerBuffer is Options.CPUsPerBuffer for n CPUs: 0 is 1, AllCPUs (or
// more than n) is n.
func cpusPerBuffer(perBuf, n int) int {
	if perBuf == 0 {
		return 1
	}
	if perBuf < 0 || perBuf > n {
		return max(1, n)
	}
	return perBuf
}

// makeRings creates the ring buffers, perBuf CPUs to a buffer, and puts
// each in the slots of the CPUs it serves.
func (p *Probe) makeRings(cpus []int, size, perBuf int) error {
	outer := p.maps.Ringbufs
	for i := 0; i < len(cpus); i += perBuf {
		group := cpus[i:min(i+perBuf, len(cpus))]
		m, err := ebpf.NewMap(&ebpf.MapSpec{
			Name:       "kd_ring" + strconv.Itoa(len(p.rings)),
			Type:       ebpf.RingBuf,
			MaxEntries: uint32(size),
		})
		if err != nil {
			return fmt.Errorf("ring buffer of %d bytes: %w", size, err)
		}
		p.rings = append(p.rings, m)
		p.cpusOf = append(p.cpusOf, group)
		for _, cpu := range group {
			if err := outer.Put(uint32(cpu), m); err != nil {
				return fmt.Errorf("map ringbufs: slot %d: %w", cpu, err)
			}
		}
	}
	p.Buffers = len(p.rings)
	return nil
}

// Close detaches the programs and frees the maps.
func (p *Probe) Close() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	for _, m := range p.rings {
		errs = append(errs, m.Close())
	}
	p.rings = nil
	if p.entry != nil {
		p.entry.Close()
		p.entry = nil
	}
	if p.coll != nil {
		p.coll.Close()
		p.coll = nil
	}
	// Closing a closed map does nothing: the maps stay, so that Stats
	// after Close is an error, not a nil dereference.
	errs = append(errs, p.maps.Close())
	return errors.Join(errs...)
}

// Stats reads the per-CPU counters of the probe.
func (p *Probe) Stats() (events.Stats, error) {
	var per []probeKdCounters
	if err := p.maps.Counters.Lookup(uint32(0), &per); err != nil {
		return events.Stats{}, fmt.Errorf("map counters: %w", err)
	}
	var s events.Stats
	for cpu, c := range per {
		s.Events += c.Events
		s.Drops += c.Drops
		s.Lost += c.Lost
		s.PerCPU = append(s.PerCPU, events.CPUStats{CPU: cpu, Events: c.Events, Drops: c.Drops, Lost: c.Lost})
	}
	return s, nil
}

func allCPUs(n int) []int {
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// onlineCPUs parses /sys/devices/system/cpu/online ("0-3,5").
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("online CPUs: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

// maxCPUs bounds CPU numbers read from sysfs (the kernel's NR_CPUS is at
// most 8192 on the supported arches).
const maxCPUs = 1 << 16

func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q", s, part)
			}
		}
		if a < 0 || b >= maxCPUs {
			return nil, fmt.Errorf("CPU list %q: CPU out of range [0, %d)", s, maxCPUs)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
