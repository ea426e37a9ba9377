package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"

	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrNoKernelRelease is returned when the kernel release can be found
// neither in the options, nor under the host root, nor from uname.
var ErrNoKernelRelease = errors.New("kernel release unknown")

// Options adjust Detect. The zero value detects everything from the FS.
type Options struct {
	// KernelRelease and KernelVersion override uname -r and uname -v.
	KernelRelease string
	KernelVersion string
	// Arch overrides the architecture (x86_64/amd64, aarch64/arm64).
	Arch string
	// DriverName is the kernel module looked for under /sys/module.
	DriverName string
	// Uname, when set, is asked for what the FS lacks (kernel release and
	// version, machine). Give it only when the FS is the running host's
	// root: a fixture tree must not take the test machine's kernel.
	Uname func() (Uname, error)
}

// Uname is what uname(2) reports.
type Uname struct {
	Release string
	Version string
	Machine string
}

// Detect reads the host's facts from fsys (the host root; hostRoot is only
// reported). It fails only when the architecture is unknown
// (kernelrelease.ErrUnknownArch) or no kernel release can be found
// (ErrNoKernelRelease); everything else odd ends up in the facts' details
// and notes, never as a panic.
func Detect(ctx context.Context, fsys fs.FS, hostRoot string, opts Options) (Facts, error) {
	if err := ctx.Err(); err != nil {
		return Facts{}, err
	}
	f := Facts{HostRoot: hostRoot, Notes: []string{}}
	var un *Uname
	uname := func() *Uname {
		if un == nil && opts.Uname != nil {
			if u, err := opts.Uname(); err == nil {
				un = &u
			} else {
				f.Notes = append(f.Notes, fmt.Sprintf("uname: %v", err))
				un = &Uname{}
			}
		}
		return un
	}

	h := hostFiles{fsys: fsys, notes: &f.Notes, errs: map[string]error{}}
	f.OS = detectOS(h)

	if err := detectKernel(h, opts, uname, &f.Kernel); err != nil {
		return f, err
	}
	arch, err := detectArch(h, opts.Arch, uname)
	if err != nil {
		return f, err
	}
	f.Arch = arch

	kr, perr := kernelrelease.Parse(f.Kernel.Release)
	if perr != nil {
		f.Kernel.ParseError = perr.Error()
	}
	f.Target = kernelrelease.NewTarget(f.OS.OS, kr, kernelrelease.ParseVersion(f.Kernel.Version), arch)

	f.BTF = detectBTF(fsys)
	f.Lockdown = detectLockdown(h)
	f.SecureBoot = detectSecureBoot(h)
	f.Modules = detectModules(h)
	f.Ptrace = detectPtrace(h)
	f.Driver = detectDriver(h, opts.DriverName)
	return f, nil
}

func detectOS(h hostFiles) OS {
	var o OS
	// Falco reads etc/os-release only: a host with nothing but
	// usr/lib/os-release is undetermined for it, so it is for kdriver too.
	// etc/os-release is usually a symlink to it: a relative one resolves in
	// the host root; an absolute one names the host's file, which is read
	// under the host root (never the container's).
	for _, p := range []string{"etc/os-release"} {
		data, ok := h.read(p)
		if !ok {
			target, err := fs.ReadLink(h.fsys, p)
			if err != nil || !path.IsAbs(target) {
				continue
			}
			p = strings.TrimPrefix(path.Clean(target), "/")
			if data, ok = h.read(p); !ok {
				continue
			}
		}
		m, err := ParseOSRelease(data)
		if err != nil {
			h.note(fmt.Sprintf("/%s: %v", p, err))
			continue
		}
		if m["ID"] == "" {
			h.note(fmt.Sprintf("/%s has no ID", p))
			continue
		}
		o.Source = "/" + p
		o.ID = m["ID"]
		o.VersionID = m["VERSION_ID"]
		o.VariantID = m["VARIANT_ID"]
		o.BuildID = m["BUILD_ID"]
		o.PrettyName = m["PRETTY_NAME"]
		if o.PrettyName == "" {
			o.PrettyName = m["NAME"]
		}
		break
	}
	if o.ID == "" {
		if _, err := fs.Stat(h.fsys, "usr/lib/os-release"); err == nil {
			h.note("/usr/lib/os-release is not read without /etc/os-release, as Falco's loader does not read it")
		}
	}
	if data, ok := h.read("etc/VERSION"); ok {
		o.Minikube = strings.TrimSpace(string(data))
	}
	if o.ID == "" {
		// The legacy release files, in Falco's order of preference.
		for _, l := range []struct{ file, id string }{
			{"etc/debian_version", "debian"},
			{"etc/centos-release", "centos"},
			{"etc/redhat-release", "rhel"},
		} {
			if data, ok := h.read(l.file); ok {
				o.Fallback = l.id
				o.Source = "/" + l.file
				o.PrettyName = strings.TrimSpace(string(data))
				break
			}
		}
	}
	return o
}

func detectKernel(h hostFiles, opts Options, uname func() *Uname, k *Kernel) error {
	k.Release, k.Version = opts.KernelRelease, opts.KernelVersion
	var src []string
	if k.Release != "" || k.Version != "" {
		src = append(src, "flags")
	}
	if k.Release == "" || k.Version == "" {
		got := false
		if k.Release == "" {
			if v, ok := h.readTrim("proc/sys/kernel/osrelease"); ok {
				k.Release, got = v, true
			}
		}
		if k.Version == "" {
			if v, ok := h.readTrim("proc/sys/kernel/version"); ok {
				k.Version, got = v, true
			}
		}
		if got {
			src = append(src, "/proc/sys/kernel")
		}
	}
	if k.Release == "" || k.Version == "" {
		if u := uname(); u != nil && (u.Release != "" || u.Version != "") {
			if k.Release == "" {
				k.Release = u.Release
			}
			if k.Version == "" {
				k.Version = u.Version
			}
			src = append(src, "uname")
		}
	}
	k.Source = strings.Join(src, ", ")
	if k.Release == "" {
		why := "no /proc/sys/kernel/osrelease under the host root"
		if err := h.errs["proc/sys/kernel/osrelease"]; err != nil {
			why = "/proc/sys/kernel/osrelease: " + err.Error()
		}
		return fmt.Errorf("%w: %s: mount the host's /proc there or pass --kernel-release", ErrNoKernelRelease, why)
	}
	return nil
}

// detectArch: the override, else /proc/sys/kernel/arch (Linux 6.1+), else
// uname's machine, else the architecture kdriver was built for.
func detectArch(h hostFiles, override string, uname func() *Uname) (kernelrelease.Arch, error) {
	if override != "" {
		return kernelrelease.ParseArch(override)
	}
	if v, ok := h.readTrim("proc/sys/kernel/arch"); ok && v != "" {
		a, err := kernelrelease.ParseArch(v)
		if err != nil {
			return "", fmt.Errorf("/proc/sys/kernel/arch: %w", err)
		}
		return a, nil
	}
	if u := uname(); u != nil && u.Machine != "" {
		return kernelrelease.ParseArch(u.Machine)
	}
	return kernelrelease.ParseArch(runtime.GOARCH)
}

func detectBTF(fsys fs.FS) Check {
	const p = "sys/kernel/btf/vmlinux"
	if _, err := fs.Stat(fsys, p); err == nil {
		return Check{true, "BTF present at /" + p}
	}
	if _, err := fs.Stat(fsys, "sys/kernel"); err != nil {
		return Check{false, "BTF unknown: /sys is not visible under the host root"}
	}
	return Check{false, "no BTF: /" + p + " is missing (kernel built without CONFIG_DEBUG_INFO_BTF)"}
}

func detectLockdown(h hostFiles) Lockdown {
	const p = "sys/kernel/security/lockdown"
	v, ok := h.readTrim(p)
	if !ok {
		return Lockdown{"unknown", "/" + p + " is missing (no lockdown LSM, or securityfs not mounted)"}
	}
	// "none [integrity] confidentiality": the bracketed word is active.
	if i := strings.IndexByte(v, '['); i >= 0 {
		if j := strings.IndexByte(v[i:], ']'); j > 0 {
			return Lockdown{v[i+1 : i+j], "/" + p + ": " + v}
		}
	}
	return Lockdown{"unknown", fmt.Sprintf("/%s: unexpected content %q", p, v)}
}

// secureBootVar is the EFI global variable holding the Secure Boot state.
const secureBootVar = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0a9e50e4b8c"

func detectSecureBoot(h hostFiles) SecureBoot {
	fsys := h.fsys
	data, ok := h.read(secureBootVar)
	switch {
	case ok && len(data) >= 5:
		// 4 bytes of attributes, then the value.
		if data[4] == 1 {
			return SecureBoot{"enabled", "EFI variable SecureBoot = 1"}
		}
		return SecureBoot{"disabled", fmt.Sprintf("EFI variable SecureBoot = %d", data[4])}
	case ok:
		return SecureBoot{"unknown", fmt.Sprintf("EFI variable SecureBoot is %d bytes long", len(data))}
	}
	if _, err := fs.Stat(fsys, "sys/firmware/efi"); err != nil {
		if _, err := fs.Stat(fsys, "sys/firmware"); err == nil {
			return SecureBoot{"disabled", "not booted with EFI (/sys/firmware/efi missing)"}
		}
		return SecureBoot{"unknown", "/sys/firmware is not visible under the host root"}
	}
	return SecureBoot{"unknown", "EFI without a readable SecureBoot variable (efivarfs not mounted?)"}
}

func detectModules(h hostFiles) Check {
	fsys := h.fsys
	if v, ok := h.readTrim("proc/sys/kernel/modules_disabled"); ok && v == "1" {
		return Check{false, "module loading disabled (/proc/sys/kernel/modules_disabled = 1)"}
	}
	if _, err := fs.Stat(fsys, "proc/modules"); err == nil {
		return Check{true, "module support: /proc/modules present"}
	}
	if _, err := fs.Stat(fsys, "proc/sys/kernel"); err == nil {
		return Check{false, "modules unsupported: /proc/modules is missing (kernel built without CONFIG_MODULES)"}
	}
	return Check{false, "module support unknown: /proc is not visible under the host root"}
}

func detectPtrace(h hostFiles) Check {
	v, ok := h.readTrim("proc/sys/kernel/yama/ptrace_scope")
	if !ok {
		return Check{true, "ptrace allowed (no Yama ptrace_scope)"}
	}
	if v == "3" {
		return Check{false, "ptrace disabled: /proc/sys/kernel/yama/ptrace_scope = 3"}
	}
	return Check{true, "ptrace allowed (Yama ptrace_scope = " + v + ")"}
}

func detectDriver(h hostFiles, name string) Driver {
	d := Driver{Name: name}
	if name == "" {
		d.Detail = "no driver name given"
		return d
	}
	p := "sys/module/" + strings.ReplaceAll(name, "-", "_")
	if !fs.ValidPath(p) {
		d.Detail = fmt.Sprintf("driver name %q is not a module name", name)
		return d
	}
	if _, err := fs.Stat(h.fsys, p); err != nil {
		d.Detail = fmt.Sprintf("module %s not loaded (/%s missing)", name, p)
		return d
	}
	d.Loaded = true
	d.Version, _ = h.readTrim(p + "/version")
	d.Detail = fmt.Sprintf("module %s loaded (/%s)", name, p)
	return d
}

// hostFiles reads host files for Detect: a file that exists but cannot be
// used (not a regular file, too large, unreadable) is noted with the reason,
// then treated as missing.
type hostFiles struct {
	fsys  fs.FS
	notes *[]string
	errs  map[string]error // why a file that exists was not read
}

func (h hostFiles) note(s string) { *h.notes = append(*h.notes, s) }

func (h hostFiles) read(p string) ([]byte, bool) {
	data, err := ReadFile(h.fsys, p)
	if err == nil {
		return data, true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	h.errs[p] = err
	h.note(fmt.Sprintf("/%s ignored: %v", p, err))
	return nil, false
}

// readTrim reads a small file and trims white space and NULs.
func (h hostFiles) readTrim(p string) (string, bool) {
	data, ok := h.read(p)
	if !ok {
		return "", false
	}
	return string(bytes.TrimSpace(bytes.Trim(data, "\x00"))), true
}
