package events

import (
	"fmt"
	"sort"

	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrUnknownArch is returned for an architecture without a syscall table;
// it is kernelrelease's, so one errors.Is serves both.
var ErrUnknownArch = kernelrelease.ErrUnknownArch

// Syscall numbers of the syscalls the event types report, per architecture
// (arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/
// unistd.h). aarch64 has no open, fork nor vfork.
var (
	syscallsX86_64 = map[string]int{
		"open": 2, "close": 3, "connect": 42, "accept": 43, "clone": 56,
		"fork": 57, "vfork": 58, "execve": 59, "openat": 257, "unlinkat": 263,
		"accept4": 288, "renameat2": 316, "execveat": 322, "clone3": 435,
		"openat2": 437,
	}
	syscallsAarch64 = map[string]int{
		"unlinkat": 35, "openat": 56, "close": 57, "accept": 202, "connect": 203,
		"clone": 220, "execve": 221, "accept4": 242, "renameat2": 276,
		"execveat": 281, "clone3": 435, "openat2": 437,
	}
)

// syscallTable takes the arch in the kernel's spelling (kernelrelease
// normalises the others).
func syscallTable(arch kernelrelease.Arch) (map[string]int, error) {
	switch arch {
	case kernelrelease.ArchX86_64:
		return syscallsX86_64, nil
	case kernelrelease.ArchAarch64:
		return syscallsAarch64, nil
	}
	return nil, fmt.Errorf("arch %q: %w (want x86_64 or aarch64)", arch, ErrUnknownArch)
}

// SyscallNumber returns the number of syscall name on arch, and false when
// the arch has no such syscall or no table.
func SyscallNumber(arch kernelrelease.Arch, name string) (int, bool) {
	t, err := syscallTable(arch)
	if err != nil {
		return 0, false
	}
	nr, ok := t[name]
	return nr, ok
}

// FilterEntry says which event types a driver emits for one syscall
// number: Enter at entry, Exit at exit (TypeUnknown: none).
type FilterEntry struct {
	Nr    int
	Enter Type
	Exit  Type
}

// Filter returns the syscall filter of arch for the wanted event types
// (all types when want is empty), sorted by syscall number. Types whose
// syscall the arch lacks are left out; process exit has no syscall.
func Filter(arch kernelrelease.Arch, want []Type) ([]FilterEntry, error) {
	t, err := syscallTable(arch)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		want = Types()
	}
	byNr := map[int]*FilterEntry{}
	for _, typ := range want {
		info, ok := typ.Lookup()
		if !ok {
			return nil, fmt.Errorf("event type %d: %w", typ, ErrMalformed)
		}
		nr, ok := t[info.Syscall]
		if !ok {
			continue
		}
		e := byNr[nr]
		if e == nil {
			e = &FilterEntry{Nr: nr}
			byNr[nr] = e
		}
		if info.Enter {
			e.Enter = typ
		} else {
			e.Exit = typ
		}
	}
	out := make([]FilterEntry, 0, len(byNr))
	for _, e := range byNr {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Nr < out[j].Nr })
	return out, nil
}
