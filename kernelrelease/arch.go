package kernelrelease

import (
	"errors"
	"fmt"
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
