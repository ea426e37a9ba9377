package events

import (
	"errors"
	"fmt"
	"sort"
)

// ErrUnknownArch is returned for an architecture without a syscall table.
var ErrUnknownArch = errors.New("unknown architecture")

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

// NormalizeArch maps the spellings of the supported architectures to the
// kernel's names: x86_64/amd64 → x86_64, aarch64/arm64 → aarch64.
func NormalizeArch(arch string) (string, error) {
	switch arch {
	case "x86_64", "amd64":
		return "x86_64", nil
	case "aarch64", "arm64":
		return "aarch64", nil
	}
	return "", fmt.Errorf("arch %q: %w (want x86_64 or aarch64)", arch, ErrUnknownArch)
}

func syscallTable(arch string) (map[string]int, error) {
	a, err := NormalizeArch(arch)
	if err != nil {
		return nil, err
	}
	if a == "x86_64" {
		return syscallsX86_64, nil
	}
	return syscallsAarch64, nil
}

// SyscallNumber returns the number of syscall name on arch, and false when
// the arch has no such syscall or no table.
func SyscallNumber(arch, name string) (int, bool) {
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
func Filter(arch string, want []Type) ([]FilterEntry, error) {
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
