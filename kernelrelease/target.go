package kernelrelease

import (
	"errors"
	"fmt"
	"strings"
)

// Undetermined is the target ID when neither os-release nor a legacy
// release file names the distro (Falco's name for it).
const Undetermined = "undetermined"

// Target is what a host's driver artifacts are named after: the Falco
// target ID and the kernel release and version as rewritten by the
// distro's rules. Build it with NewTarget.
type Target struct {
	// ID is the Falco target ID: ubuntu-aws, debian, amazonlinux2, cos,
	// the os-release ID of any other distro, or "undetermined".
	ID string `json:"target_id"`
	// Distro names the rule set that was applied (ubuntu, debian,
	// amazonlinux, cos, flatcar, minikube, bottlerocket, talos, ol, generic).
	Distro        string        `json:"distro_rules"`
	Arch          Arch          `json:"arch"`
	KernelRelease Release       `json:"kernel_release"`
	KernelVersion KernelVersion `json:"kernel_version"`
	// FixedRelease and FixedVersion are the kernel release and version
	// that go into file names.
	FixedRelease string `json:"fixed_kernel_release"`
	FixedVersion string `json:"fixed_kernel_version"`
	// KmodVeto, when set, says why this distro cannot load a kernel module.
	KmodVeto string `json:"kmod_veto,omitempty"`
	// Notes explain, one line each, how ID and the fixed strings were derived.
	Notes []string `json:"notes"`
}

// distro is the per-distro part of Falco's rules. Each implementation lives
// in its own file; distroFor picks one by os-release ID.
type distro interface {
	// name is the rule set's name, reported in Target.Distro.
	name() string
	// targetID is the Falco target ID for this distro and kernel.
	targetID(os OS, kr Release) string
	// fixup rewrites t.FixedRelease / t.FixedVersion (which start as the
	// release and the uname -v token) and adds notes; it may set KmodVeto.
	fixup(t *Target, os OS)
}

// NewTarget applies Falco's rules to a host's distro and kernel. kr may be
// the zero-parsed result of a failed Parse (only Raw set): the raw string
// is then used as is. It never fails; anything odd is said in Notes.
func NewTarget(os OS, kr Release, kv KernelVersion, arch Arch) Target {
	t := Target{
		Arch:          arch,
		KernelRelease: kr,
		KernelVersion: kv,
		FixedRelease:  kr.Raw,
		FixedVersion:  kv.Token,
		Notes:         []string{},
	}
	d, id, why := distroFor(os)
	t.Distro = d.name()
	t.Notes = append(t.Notes, why)
	if id == "" {
		id = d.targetID(os, kr)
	}
	t.ID = id
	d.fixup(&t, os)
	if t.FixedVersion == "" {
		t.Notes = append(t.Notes, "kernel version (uname -v) is empty: pass --kernel-version, e.g. '#1 SMP ...'")
	}
	return t
}

// distroFor picks the rules the way Falco does: os-release's ID (with
// minikube's etc/VERSION taking precedence), else a legacy release file,
// else undetermined. The returned id is non-empty when it is fixed here.
func distroFor(os OS) (d distro, id, why string) {
	mk, mkOK := minikubeVersion(os.Minikube)
	switch {
	case os.ID != "" && mkOK:
		return minikube{version: mk}, "minikube", fmt.Sprintf("etc/VERSION names minikube %s (os-release ID %q)", mk, os.ID)
	case os.ID != "" && !validID(strings.ToLower(os.ID)):
		return generic{}, Undetermined, fmt.Sprintf("os-release ID %q has characters other than a-z 0-9 . _ -: target undetermined", os.ID)
	case os.ID != "":
		lower := strings.ToLower(os.ID)
		return byID(lower), "", fmt.Sprintf("os-release ID %q", os.ID)
	case mkOK:
		return minikube{version: mk}, "minikube", fmt.Sprintf("no os-release; etc/VERSION names minikube %s", mk)
	case os.Fallback != "":
		return byID(os.Fallback), os.Fallback, fmt.Sprintf("no os-release; legacy release file says %s", os.Fallback)
	}
	return generic{}, Undetermined, "no usable os-release (etc/os-release, usr/lib/os-release) and no legacy release file: target undetermined"
}

// validID: os-release(5) allows only a-z, 0-9, '.', '_' and '-' in ID.
func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return id != "" && id != "." && id != ".."
}

// byID maps a lower-case os-release ID to its rules.
func byID(id string) distro {
	switch id {
	case "ubuntu":
		return ubuntu{}
	case "debian":
		return debian{}
	case "amzn":
		return amazonLinux{}
	case "cos":
		return cos{}
	case "flatcar":
		return flatcar{}
	case "bottlerocket":
		return bottlerocket{}
	case "talos":
		return talos{}
	case "ol":
		return oracle{}
	}
	return generic{}
}

// Artifact identifies the target's artifact of one kind for a driver.
func (t Target) Artifact(driverName, driverVersion string, kind Kind) ArtifactID {
	return ArtifactID{
		DriverName:    driverName,
		DriverVersion: driverVersion,
		Kind:          kind,
		Arch:          string(t.Arch),
		TargetID:      t.ID,
		KernelRelease: t.FixedRelease,
		KernelVersion: t.FixedVersion,
	}
}

// ErrName is returned by Validate when the target's strings cannot form a
// safe artifact file name.
var ErrName = errors.New("cannot name artifacts")

// Validate checks that the target ID and the fixed kernel release and
// version can go into a file name and a URL path unescaped: non-empty,
// printable ASCII without spaces or slashes, not "." or "..". Falco would
// build a name anyway; kdriver refuses to fetch or store one.
func (t Target) Validate() error {
	for _, p := range []struct{ what, v, fix string }{
		{"target ID", t.ID, "check os-release's ID"},
		{"kernel release", t.FixedRelease, "pass --kernel-release"},
		{"kernel version", t.FixedVersion, "pass --kernel-version"},
	} {
		if p.v == "" {
			return fmt.Errorf("%w: %s is empty: %s", ErrName, p.what, p.fix)
		}
		if p.v == "." || p.v == ".." {
			return fmt.Errorf("%w: %s is %q: %s", ErrName, p.what, p.v, p.fix)
		}
		for i := 0; i < len(p.v); i++ {
			if c := p.v[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
				return fmt.Errorf("%w: %s %q has a space, slash or non-printable character: %s", ErrName, p.what, p.v, p.fix)
			}
		}
	}
	return nil
}
