package legacy

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrNotProbe is returned by Inspect for a file that is not a kdriver
// legacy probe: not ELF, truncated, another machine's object, or missing
// what the probe must carry.
var ErrNotProbe = errors.New("not a kdriver legacy eBPF probe")

// ErrMismatch is matched by a MismatchError: the probe was built for
// another kernel or arch than the host's.
var ErrMismatch = errors.New("probe built for another kernel")

// MismatchError names the field of the recorded target that differs.
type MismatchError struct {
	File  string
	Field string // "kernel release", "kernel version", "arch"
	Got   string // recorded in the object
	Want  string // the host's
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("probe %s: built for %s %q, host has %q", e.File, e.Field, e.Got, e.Want)
}

func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// Programs are the probe's programs (function name → raw tracepoint).
var Programs = map[string]string{
	"kd_sys_enter": "sys_enter",
	"kd_sys_exit":  "sys_exit",
	"kd_proc_exit": "sched_process_exit",
}

// ExecEntryPrograms are the programs (function name → trace event of the
// syscalls group) that take the exec entries where the kernel's syscall
// tracepoints can: probes built before them lack them, and then
// kd_sys_enter takes the entries.
var ExecEntryPrograms = map[string]string{
	"kd_execve_tp":   "sys_enter_execve",
	"kd_execveat_tp": "sys_enter_execveat",
}

// Maps are the maps the loader fills or reads.
var Maps = []string{"syscall_filter", "counters", "settings", "scratch", "exec_pending", "perf_events"}

// Sections that record what the object was built for.
const (
	secRelease = "kd_kernel_release"
	secVersion = "kd_kernel_version"
	secArch    = "kd_kernel_arch"
	secDriver  = "kd_driver_version"
	secAPI     = "kd_api"
)

// Info is what a probe object records about itself.
type Info struct {
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version,omitempty"`
	Arch          string `json:"arch"`
	DriverVersion string `json:"driver_version"`
	// API is the event format: API major, minor and schema version.
	API [3]uint32 `json:"api"`
}

// Want is the host a probe must have been built for. Empty fields are not
// checked (KernelVersion: uname -v, when known on both sides).
type Want struct {
	Arch          string
	KernelRelease string
	KernelVersion string
}

// Check compares the recorded target with the host's.
func (i *Info) Check(file string, w Want) error {
	switch {
	case w.Arch != "" && i.Arch != w.Arch:
		return &MismatchError{File: file, Field: "arch", Got: i.Arch, Want: w.Arch}
	case w.KernelRelease != "" && i.KernelRelease != w.KernelRelease:
		return &MismatchError{File: file, Field: "kernel release", Got: i.KernelRelease, Want: w.KernelRelease}
	case w.KernelVersion != "" && i.KernelVersion != "" && i.KernelVersion != w.KernelVersion:
		return &MismatchError{File: file, Field: "kernel version", Got: i.KernelVersion, Want: w.KernelVersion}
	}
	return nil
}

// notProbe wraps ErrNotProbe with the file name and the reason.
func notProbe(file, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", file, ErrNotProbe, fmt.Sprintf(format, args...))
}

// Inspect reads a probe object without loading it: an ELF relocatable
// object for machine BPF, little endian, whose every section is complete,
// with the sections recording its target, the programs and the maps.
func Inspect(file string, r io.ReaderAt, size int64) (*Info, error) {
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, notProbe(file, "ELF truncated: %d bytes end inside its headers (%v)", size, err)
	}
	if err != nil {
		return nil, notProbe(file, "ELF: %v", err)
	}
	switch {
	case f.Machine != elf.EM_BPF:
		what := ""
		if f.Type == elf.ET_REL && f.Section(".modinfo") != nil {
			what = " (a kernel module)"
		}
		return nil, notProbe(file, "ELF machine %s%s, want BPF", f.Machine, what)
	case f.Data != elf.ELFDATA2LSB:
		return nil, notProbe(file, "ELF data %s, want little endian", f.Data)
	case f.Class != elf.ELFCLASS64:
		return nil, notProbe(file, "ELF class %s, want 64-bit", f.Class)
	case f.Type != elf.ET_REL:
		return nil, notProbe(file, "ELF type %s, want a relocatable object", f.Type)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Offset+s.Size > uint64(size) {
			return nil, notProbe(file, "section %s ends at byte %d, file has %d (truncated)", s.Name, s.Offset+s.Size, size)
		}
	}
	info := &Info{}
	for _, x := range []struct {
		sec string
		dst *string
	}{{secRelease, &info.KernelRelease}, {secVersion, &info.KernelVersion}, {secArch, &info.Arch}, {secDriver, &info.DriverVersion}} {
		b, err := sectionData(f, x.sec)
		if err != nil {
			return nil, notProbe(file, "%v", err)
		}
		*x.dst, _, _ = strings.Cut(string(b), "\x00")
	}
	if info.KernelRelease == "" || info.Arch == "" {
		return nil, notProbe(file, "no kernel release or arch recorded")
	}
	b, err := sectionData(f, secAPI)
	if err != nil {
		return nil, notProbe(file, "%v", err)
	}
	if len(b) != 12 {
		return nil, notProbe(file, "section %s has %d bytes, want 12", secAPI, len(b))
	}
	for i := range info.API {
		info.API[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if err := checkSymbols(f); err != nil {
		return nil, notProbe(file, "%v", err)
	}
	return info, nil
}

func sectionData(f *elf.File, name string) ([]byte, error) {
	s := f.Section(name)
	if s == nil {
		return nil, fmt.Errorf("no section %s", name)
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("section %s: %w", name, err)
	}
	return bytes.Clone(b), nil
}

// checkSymbols finds each program in its raw tracepoint section and each
// map in the maps section.
func checkSymbols(f *elf.File) error {
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("symbols: %w", err)
	}
	in := map[string]string{}
	for _, s := range syms {
		if int(s.Section) < len(f.Sections) && s.Section != elf.SHN_UNDEF {
			in[s.Name] = f.Sections[s.Section].Name
		}
	}
	var missing []string
	for prog, tp := range Programs {
		if in[prog] != "raw_tracepoint/"+tp {
			missing = append(missing, "program "+prog+" (raw_tracepoint/"+tp+")")
		}
	}
	for _, m := range Maps {
		if in[m] != "maps" {
			missing = append(missing, "map "+m)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}
