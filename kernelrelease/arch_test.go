package kernelrelease

import (
	"runtime"
	"testing"
)

// TestArchSpellings: every spelling of a supported arch comes to one Arch
// and back out in the kernel's, Debian's, Go's and kbuild's spellings; an
// unknown one passes through ArchOf unchanged.
func TestArchSpellings(t *testing.T) {
	for _, tc := range []struct {
		in                  []string
		want                Arch
		deb, goarch, kbuild string
	}{
		{[]string{"x86_64", "amd64"}, ArchX86_64, "amd64", "amd64", "x86"},
		{[]string{"aarch64", "arm64"}, ArchAarch64, "arm64", "arm64", "arm64"},
	} {
		for _, in := range tc.in {
			a := ArchOf(in)
			if a != tc.want || a.Deb() != tc.deb || a.GOARCH() != tc.goarch || a.Kbuild() != tc.kbuild {
				t.Errorf("ArchOf(%q) = %q (deb %s, go %s, kbuild %s), want %q (%s, %s, %s)",
					in, a, a.Deb(), a.GOARCH(), a.Kbuild(), tc.want, tc.deb, tc.goarch, tc.kbuild)
			}
		}
	}
	if a := ArchOf("riscv64"); a != "riscv64" || a.Deb() != "riscv64" || a.Kbuild() != "riscv64" {
		t.Errorf("ArchOf(riscv64) = %q, want it passed through", a)
	}
	if got, want := HostArch(), ArchOf(runtime.GOARCH); got != want {
		t.Errorf("HostArch() = %q, want %q", got, want)
	}
}
