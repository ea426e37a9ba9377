package host

import "github.com/kdriver/kdriver/kernelrelease"

// Facts is what Detect found. Every field says where it came from, so a
// wrong guess can be traced to a file; JSON is what `kdriver detect
// --output json` prints under "host".
type Facts struct {
	// HostRoot is the directory the facts were read from ("/" on the host).
	HostRoot string `json:"host_root"`
	// OS is the distro as os-release and the legacy files describe it.
	OS OS `json:"os"`
	// Kernel holds the raw uname strings and where they came from.
	Kernel Kernel `json:"kernel"`
	// Arch is x86_64 or aarch64.
	Arch kernelrelease.Arch `json:"arch"`
	// Target is the Falco target: ID, fixed release and version, vetoes.
	Target kernelrelease.Target `json:"target"`
	// BTF: /sys/kernel/btf/vmlinux is present (CO-RE possible).
	BTF Check `json:"btf"`
	// Lockdown is none, integrity, confidentiality or unknown.
	Lockdown Lockdown `json:"lockdown"`
	// SecureBoot is enabled, disabled or unknown.
	SecureBoot SecureBoot `json:"secure_boot"`
	// Modules: the kernel can load modules.
	Modules Check `json:"modules"`
	// Ptrace: ptrace is allowed (Yama ptrace_scope below 3).
	Ptrace Check `json:"ptrace"`
	// Driver: a kernel module of the driver's name is loaded.
	Driver Driver `json:"driver"`
	// Notes are things worth saying that fit nowhere else.
	Notes []string `json:"notes"`
}

// OS describes the distro.
type OS struct {
	kernelrelease.OS
	// PrettyName is os-release's PRETTY_NAME (or NAME).
	PrettyName string `json:"pretty_name,omitempty"`
	// Source is the file the distro was read from, e.g. /etc/os-release;
	// empty when none was found.
	Source string `json:"source,omitempty"`
}

// Kernel holds uname -r and uname -v as given or read.
type Kernel struct {
	Release string `json:"release"`
	Version string `json:"version"`
	// Source says where they came from: "flags", "/proc/sys/kernel", "uname".
	Source string `json:"source"`
	// ParseError is set when Release is not a kernel release; the target is
	// then built from the raw string and version checks fail.
	ParseError string `json:"parse_error,omitempty"`
}

// Check is a yes/no fact and the evidence for it.
type Check struct {
	Present bool   `json:"present"`
	Detail  string `json:"detail"`
}

// Lockdown is the kernel lockdown mode.
type Lockdown struct {
	Mode   string `json:"mode"` // none, integrity, confidentiality, unknown
	Detail string `json:"detail"`
}

// SecureBoot is the EFI Secure Boot state.
type SecureBoot struct {
	State  string `json:"state"` // enabled, disabled, unknown
	Detail string `json:"detail"`
}

// Driver says whether a kernel module of the driver's name is loaded.
type Driver struct {
	Name    string `json:"name"`
	Loaded  bool   `json:"loaded"`
	Version string `json:"version,omitempty"`
	Detail  string `json:"detail"`
}
