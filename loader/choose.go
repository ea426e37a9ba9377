package loader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/loader/host"
)

// DriverType names a driver source (DESIGN.md's four) or "auto".
type DriverType string

// Driver types, in auto's order of preference after Auto.
const (
	Auto       DriverType = "auto"
	ModernEBPF DriverType = "modern-ebpf"
	Kmod       DriverType = "kmod"
	EBPF       DriverType = "ebpf"
	Userspace  DriverType = "userspace"
)

// AutoOrder is what auto expands to, best first: the first possible one wins.
func AutoOrder() []DriverType { return []DriverType{ModernEBPF, Kmod, EBPF, Userspace} }

// ErrDriverType is returned by ParseDriverType for an unknown name.
var ErrDriverType = errors.New("unknown driver type")

// ParseDriverType accepts our names and Falco's spellings (module,
// bpf, modern_ebpf, modern-bpf, modern_bpf).
func ParseDriverType(s string) (DriverType, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return Auto, nil
	case "modern-ebpf", "modern_ebpf", "modern-bpf", "modern_bpf", "modern":
		return ModernEBPF, nil
	case "kmod", "module":
		return Kmod, nil
	case "ebpf", "bpf":
		return EBPF, nil
	case "userspace":
		return Userspace, nil
	}
	return "", fmt.Errorf("driver type %q: %w: use auto, modern-ebpf, kmod, ebpf or userspace", s, ErrDriverType)
}

// FalcoName is Falco's spelling of the type (kmod, ebpf, modern_ebpf), as
// printenv's DRIVER shows it.
func (t DriverType) FalcoName() string {
	if t == ModernEBPF {
		return "modern_ebpf"
	}
	return string(t)
}

// Candidate is one driver type that was considered, and why it was or was
// not possible on the host.
type Candidate struct {
	Type     DriverType `json:"type"`
	Possible bool       `json:"possible"`
	Chosen   bool       `json:"chosen"`
	Reason   string     `json:"reason"`
}

// Decision is the outcome of Choose: the chosen driver (empty when none
// was possible) and every candidate in the order they were tried.
type Decision struct {
	Driver     DriverType  `json:"driver"`
	Reason     string      `json:"reason"`
	Candidates []Candidate `json:"candidates"`
}

// minKernel is the oldest kernel a driver runs on (Falco's compatibility
// matrix): modern eBPF 5.8, eBPF 4.14 (x86_64) / 4.17 (aarch64), kmod
// 2.6 (x86_64) / 3.16 (aarch64).
func minKernel(t DriverType, arch kernelrelease.Arch) [3]int {
	arm := arch == kernelrelease.ArchAarch64
	switch {
	case t == ModernEBPF:
		return [3]int{5, 8, 0}
	case t == EBPF && arm:
		return [3]int{4, 17, 0}
	case t == EBPF:
		return [3]int{4, 14, 0}
	case t == Kmod && arm:
		return [3]int{3, 16, 0}
	}
	return [3]int{2, 6, 0}
}

// Choose decides which driver to run on a host with facts f. wanted is the
// user's priority list (nil or [auto] means AutoOrder(); auto inside a list
// expands in place; duplicates are dropped). The first possible type wins;
// every candidate, including those after the winner, gets its reason.
// When none is possible the error wraps ErrUnsupported and lists the
// reasons; the Decision is still filled in.
func Choose(f host.Facts, wanted []DriverType) (Decision, error) {
	var order []DriverType
	seen := map[DriverType]bool{}
	add := func(t DriverType) {
		if !seen[t] {
			seen[t] = true
			order = append(order, t)
		}
	}
	if len(wanted) == 0 {
		wanted = []DriverType{Auto}
	}
	for _, w := range wanted {
		switch w {
		case Auto:
			for _, t := range AutoOrder() {
				add(t)
			}
		case ModernEBPF, Kmod, EBPF, Userspace:
			add(w)
		default:
			return Decision{}, fmt.Errorf("driver type %q: %w", w, ErrDriverType)
		}
	}
	d := Decision{Candidates: make([]Candidate, 0, len(order))}
	for _, t := range order {
		ok, why := possible(f, t)
		c := Candidate{Type: t, Possible: ok, Reason: string(t) + ": " + why}
		if ok && d.Driver == "" {
			c.Chosen = true
			d.Driver = t
			d.Reason = c.Reason
		}
		d.Candidates = append(d.Candidates, c)
	}
	if d.Driver == "" {
		reasons := make([]string, len(d.Candidates))
		for i, c := range d.Candidates {
			reasons[i] = c.Reason
		}
		d.Reason = "no driver possible"
		return d, fmt.Errorf("%w: %s", ErrUnsupported, strings.Join(reasons, "; "))
	}
	return d, nil
}

// possible says whether driver t can run on the host, and why.
func possible(f host.Facts, t DriverType) (bool, string) {
	kr := f.Target.KernelRelease
	parsed := f.Kernel.ParseError == ""
	min := minKernel(t, f.Arch)
	switch t {
	case ModernEBPF:
		if ok, why := kernelAtLeast(kr, parsed, min); !ok {
			return false, why
		}
		if !f.BTF.Present {
			return false, f.BTF.Detail
		}
		if f.Lockdown.Mode == "confidentiality" {
			return false, "lockdown confidentiality forbids BPF programs to read kernel memory"
		}
		return true, fmt.Sprintf("kernel %s >= %s, %s", kr.Raw, ver(min), f.BTF.Detail)
	case Kmod:
		if f.Target.KmodVeto != "" {
			return false, f.Target.KmodVeto
		}
		if !f.Modules.Present {
			return false, f.Modules.Detail
		}
		if m := f.Lockdown.Mode; m == "integrity" || m == "confidentiality" {
			return false, "lockdown " + m + " forbids loading unsigned modules (" + f.Lockdown.Detail + ")"
		}
		if ok, why := kernelAtLeast(kr, parsed, min); !ok {
			return false, why
		}
		why := fmt.Sprintf("kernel %s, %s, lockdown %s", kr.Raw, f.Modules.Detail, f.Lockdown.Mode)
		if f.SecureBoot.State == "enabled" {
			why += "; Secure Boot is enabled: the module must be signed with an enrolled key"
		}
		return true, why
	case EBPF:
		if ok, why := kernelAtLeast(kr, parsed, min); !ok {
			return false, why
		}
		if f.Lockdown.Mode == "confidentiality" {
			return false, "lockdown confidentiality forbids BPF programs to read kernel memory"
		}
		why := fmt.Sprintf("kernel %s >= %s on %s, raw tracepoints and perf buffers; a probe built for this kernel", kr.Raw, ver(min), f.Arch)
		if !f.BTF.Present {
			why += " (no BTF needed)"
		}
		return true, why
	case Userspace:
		if !f.Ptrace.Present {
			return false, f.Ptrace.Detail
		}
		return true, "no kernel driver needed; " + f.Ptrace.Detail
	}
	return false, "unknown driver type"
}

// kernelAtLeast checks a minimum kernel with Falco's wording.
func kernelAtLeast(kr kernelrelease.Release, parsed bool, min [3]int) (bool, string) {
	if !parsed {
		return false, fmt.Sprintf("kernel release %q is not a version: cannot check the minimum %s", kr.Raw, ver(min))
	}
	if !kr.AtLeast(min[0], min[1], min[2]) {
		return false, fmt.Sprintf("Actual kernel version is: '%s' while the minimum required is: '%s'", kr.Numeric(), ver(min))
	}
	return true, ""
}

func ver(v [3]int) string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }
