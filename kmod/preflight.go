package kmod

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdriver/kdriver/kernelrelease"
)

// Preflight errors. A *MismatchError matches the one of its field.
var (
	// ErrModuleFormat: the file is not a complete kernel module (not ELF,
	// not relocatable, truncated, or without .modinfo).
	ErrModuleFormat = errors.New("not a kernel module")
	// ErrWrongArch: the module is for another CPU architecture.
	ErrWrongArch = errors.New("module built for another architecture")
	// ErrWrongKernel: the module's vermagic names another kernel release.
	ErrWrongKernel = errors.New("module built for another kernel release")
	// ErrWrongName: the module registers under another name.
	ErrWrongName = errors.New("module has another name")
)

// Info is what Inspect reads from a .ko.
type Info struct {
	Arch     string            `json:"arch"` // x86_64 or aarch64
	Name     string            `json:"name"`
	Vermagic string            `json:"vermagic"`
	Release  string            `json:"kernel_release"` // first word of vermagic
	Version  string            `json:"version,omitempty"`
	ModInfo  map[string]string `json:"modinfo"`
}

// Want is the target a module must match; empty fields are not checked.
type Want struct {
	Arch          string // x86_64/amd64 or aarch64/arm64
	KernelRelease string
	Name          string
}

// MismatchError says which property of a module does not fit the target.
type MismatchError struct {
	File  string
	Field string // "arch", "kernel release" or "name"
	Got   string
	Want  string
	err   error
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: built for %s %s, target %s is %s: use a module built for %s",
		e.File, e.Field, e.Got, e.Field, e.Want, e.Want)
}

func (e *MismatchError) Is(target error) bool { return target == e.err }

func formatErr(file, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", file, ErrModuleFormat, fmt.Sprintf(format, args...))
}

// InspectFile reads the module at path; see Inspect.
func InspectFile(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Inspect(filepath.Base(path), f, st.Size())
}

// Inspect reads the ELF header and .modinfo of a module of size bytes.
// name labels errors. It refuses files that are not 64-bit relocatable
// ELF, whose section headers or sections run past the end of the file,
// or that have no vermagic.
func Inspect(name string, r io.ReaderAt, size int64) (*Info, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, formatErr(name, "%v", err)
	}
	if f.Class != elf.ELFCLASS64 {
		return nil, formatErr(name, "ELF class %v, want ELFCLASS64", f.Class)
	}
	if f.Type != elf.ET_REL {
		return nil, formatErr(name, "ELF type %v, want ET_REL", f.Type)
	}
	var modinfo *elf.Section
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Type != elf.SHT_NULL &&
			(s.Offset > uint64(size) || s.Size > uint64(size)-s.Offset) {
			return nil, formatErr(name, "truncated: section %s ends at %d, file has %d bytes",
				s.Name, s.Offset+s.Size, size)
		}
		if s.Name == ".modinfo" {
			modinfo = s
		}
	}
	if modinfo == nil {
		return nil, formatErr(name, "no .modinfo section")
	}
	data, err := modinfo.Data()
	if err != nil {
		return nil, formatErr(name, ".modinfo: %v", err)
	}
	info := &Info{ModInfo: parseModInfo(data)}
	switch f.Machine {
	case elf.EM_X86_64:
		info.Arch = "x86_64"
	case elf.EM_AARCH64:
		info.Arch = "aarch64"
	default:
		info.Arch = strings.TrimPrefix(f.Machine.String(), "EM_")
	}
	info.Vermagic = info.ModInfo["vermagic"]
	if fs := strings.Fields(info.Vermagic); len(fs) > 0 {
		info.Release = fs[0]
	} else {
		return nil, formatErr(name, "no vermagic in .modinfo")
	}
	info.Name = info.ModInfo["name"]
	if info.Name == "" {
		// Old kernels do not record the name; kbuild names the file after it.
		info.Name = strings.ReplaceAll(strings.TrimSuffix(name, ".ko"), "-", "_")
	}
	info.Version = info.ModInfo["version"]
	return info, nil
}

// parseModInfo splits the NUL-separated key=value strings of .modinfo.
// Keys that repeat (alias, parm) keep their last value.
func parseModInfo(b []byte) map[string]string {
	m := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if ok && len(k) > 0 {
			m[string(k)] = string(v)
		}
	}
	return m
}

// Check compares the module with the target. file labels the error.
func (i *Info) Check(file string, want Want) error {
	if want.Arch != "" {
		a, err := kernelrelease.ParseArch(want.Arch)
		if err != nil {
			return err
		}
		if string(a) != i.Arch {
			return &MismatchError{File: file, Field: "arch", Got: i.Arch, Want: string(a), err: ErrWrongArch}
		}
	}
	if want.KernelRelease != "" && want.KernelRelease != i.Release {
		return &MismatchError{File: file, Field: "kernel release", Got: i.Release, Want: want.KernelRelease, err: ErrWrongKernel}
	}
	if want.Name != "" && want.Name != i.Name {
		return &MismatchError{File: file, Field: "module name", Got: i.Name, Want: want.Name, err: ErrWrongName}
	}
	return nil
}

// Preflight inspects the module at path and checks it against want.
func Preflight(path string, want Want) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return PreflightFile(f, want)
}

// PreflightFile inspects the module open as f and checks it against want,
// reading only through f (so a LoadFile of f loads what was checked).
func PreflightFile(f *os.File, want Want) (*Info, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr(filepath.Base(f.Name()), "not a regular file")
	}
	name := filepath.Base(f.Name())
	info, err := Inspect(name, f, st.Size())
	if err != nil {
		return nil, err
	}
	if err := info.Check(name, want); err != nil {
		return info, err
	}
	return info, nil
}
