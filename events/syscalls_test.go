package events

import (
	"errors"
	"testing"

	"github.com/kdriver/kdriver/kernelrelease"
)

func TestSyscallNumber(t *testing.T) {
	for _, tc := range []struct {
		arch, name string
		nr         int
		ok         bool
	}{
		{"x86_64", "openat", 257, true},
		{"amd64", "execve", 59, true},
		{"x86_64", "open", 2, true},
		{"aarch64", "openat", 56, true},
		{"arm64", "execve", 221, true},
		{"aarch64", "open", 0, false}, // aarch64 has no open
		{"aarch64", "fork", 0, false},
		{"riscv64", "openat", 0, false},
	} {
		nr, ok := SyscallNumber(kernelrelease.ArchOf(tc.arch), tc.name)
		if nr != tc.nr || ok != tc.ok {
			t.Errorf("SyscallNumber(%s, %s) = %d, %v; want %d, %v", tc.arch, tc.name, nr, ok, tc.nr, tc.ok)
		}
	}
}

func TestFilter(t *testing.T) {
	for _, arch := range []kernelrelease.Arch{kernelrelease.ArchX86_64, kernelrelease.ArchAarch64} {
		t.Run(string(arch), func(t *testing.T) {
			all, err := Filter(arch, nil)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[Type]bool{}
			for i, e := range all {
				if i > 0 && all[i-1].Nr >= e.Nr {
					t.Errorf("not sorted by number: %v", all)
				}
				if e.Nr < 0 || e.Nr >= 512 {
					t.Errorf("syscall %d beyond the probe's 512-entry filter", e.Nr)
				}
				seen[e.Enter], seen[e.Exit] = true, true
			}
			// execve has both an enter and an exit type on one number.
			nr, _ := SyscallNumber(arch, "execve")
			for _, e := range all {
				if e.Nr == nr && (e.Enter != TypeExecveE || e.Exit != TypeExecveX) {
					t.Errorf("execve entry %+v", e)
				}
			}
			for _, typ := range Types() {
				info, _ := typ.Lookup()
				_, has := SyscallNumber(arch, info.Syscall)
				if has != seen[typ] {
					t.Errorf("%s: in filter %v, arch has %s: %v", typ, seen[typ], info.Syscall, has)
				}
			}
			some, err := Filter(arch, []Type{TypeCloseX})
			if err != nil || len(some) != 1 || some[0].Exit != TypeCloseX || some[0].Enter != 0 {
				t.Errorf("Filter(close_x) = %+v, %v", some, err)
			}
		})
	}
	if _, err := Filter("mips", nil); !errors.Is(err, ErrUnknownArch) {
		t.Errorf("Filter(mips): %v, want ErrUnknownArch", err)
	}
}
