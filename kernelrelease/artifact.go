package kernelrelease

import "fmt"

// Kind is the kind of artifact a driver has. It lives here, with the
// target rules that name artifacts, so that names need no store package;
// artifacts re-exports it.
type Kind string

const (
	KindKmod Kind = "kmod" // kernel module, .ko
	KindEBPF Kind = "ebpf" // legacy eBPF probe, .o
)

// Ext is the file extension of the kind, with its dot.
func (k Kind) Ext() string {
	if k == KindEBPF {
		return ".o"
	}
	return ".ko"
}

// ArtifactID identifies one artifact. KernelRelease and KernelVersion are
// the fixed (per-distro rewritten) strings that go into file names.
type ArtifactID struct {
	DriverName    string `json:"driver_name"`
	DriverVersion string `json:"driver_version"`
	Kind          Kind   `json:"kind"`
	Arch          string `json:"arch"` // x86_64 or aarch64
	TargetID      string `json:"target_id"`
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version"`
}

// FileName is the artifact's name in the Falco layout:
// <driver>_<target>_<release>_<version>.ko|.o
func (id ArtifactID) FileName() string {
	return fmt.Sprintf("%s_%s_%s_%s%s", id.DriverName, id.TargetID, id.KernelRelease, id.KernelVersion, id.Kind.Ext())
}

// String names the artifact in messages.
func (id ArtifactID) String() string {
	return fmt.Sprintf("%s %s %s/%s", id.Kind, id.DriverVersion, id.Arch, id.FileName())
}
