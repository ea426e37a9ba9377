package kernelrelease

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrUnknownArch is returned for an architecture kdriver has no drivers for.
var ErrUnknownArch = errors.New("unknown architecture")

// Arch is a CPU architecture in the kernel's spelling, as artifact paths
// use it: x86_64 or aarch64.
type Arch string

// Architectures with drivers.
const (
	ArchX86_64  Arch = "x86_64"
	ArchAarch64 Arch = "aarch64"
)

// ParseArch accepts the kernel's and Debian's/Go's spellings
// (x86_64/amd64, aarch64/arm64) and returns the kernel's.
func ParseArch(s string) (Arch, error) {
	switch s {
	case "x86_64", "amd64":
		return ArchX86_64, nil
	case "aarch64", "arm64":
		return ArchAarch64, nil
	}
	return "", fmt.Errorf("arch %q: %w: use x86_64 (amd64) or aarch64 (arm64)", s, ErrUnknownArch)
}

// Deb is the Debian/Go spelling: amd64 or arm64.
func (a Arch) Deb() string {
	switch a {
	case ArchX86_64:
		return "amd64"
	case ArchAarch64:
		return "arm64"
	}
	return string(a)
}

// ArchOf is s in the kernel's spelling when s is any spelling ParseArch
// takes, else s unchanged: for lists (archive indexes, matrix files) that
// may carry arches kdriver has no drivers for and pass them on.
func ArchOf(s string) Arch {
	if a, err := ParseArch(s); err == nil {
		return a
	}
	return Arch(s)
}

// HostArch is the arch this binary runs on (runtime.GOARCH, in the
// kernel's spelling when kdriver knows it).
func HostArch() Arch { return ArchOf(runtime.GOARCH) }

// GOARCH is Go's spelling: amd64 or arm64, as Debian's.
func (a Arch) GOARCH() string { return a.Deb() }

// Kbuild is the kernel build's ARCH= (the folder under arch/): x86 or
// arm64.
func (a Arch) Kbuild() string {
	switch a {
	case ArchX86_64:
		return "x86"
	case ArchAarch64:
		return "arm64"
	}
	return string(a)
}
