package kit

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kmod"
)

// Format is the event format a driver writes; verify picks its reader by it.
type Format string

// Event formats.
const (
	FormatKD   Format = "kd"   // kdriver's own (events/c/kd_event.h)
	FormatScap Format = "scap" // falcosecurity/libs' (ppm_events_public.h)
)

// Method is how a kit's module is built.
type Method string

// MethodKbuild: make -C $KDIR M=<source> modules, with KERNELDIR=$KDIR for
// Makefiles that read it (the libs Makefile's feature probes do).
const MethodKbuild Method = "kbuild"

// Errors of kits.
var (
	// ErrNotKit: the path is neither a DKMS folder, a .deb holding one,
	// nor a libs driver/ tree.
	ErrNotKit = errors.New("not a driver kit")
	// ErrBadKit: the kit's description is invalid or unsupported.
	ErrBadKit = errors.New("bad driver kit")
)

// Kit is a driver's identity and source.
type Kit struct {
	Name    string // driver name in artifact names and stores (kdriver, scap, falco)
	Module  string // the name the module registers with the kernel
	Device  string // its device: /dev/<Device> (kd) or /dev/<Device><cpu> (scap)
	Version string // driver version
	Kinds   []artifacts.Kind
	Format  Format
	Method  Method
	// Source is the tree make runs in (Makefile at its root), complete:
	// nothing is read next to it.
	Source fs.FS
	// Origin says where the source came from, for messages.
	Origin string
	// Exclusive limits the kernels and arches the source builds for.
	Exclusive Exclusive
}

// Own is kdriver's own driver at version (the source carried in the binary,
// with kd_event.h beside it).
func Own(version string) (*Kit, error) {
	m := fstest.MapFS{}
	err := fs.WalkDir(kmod.Source, "src", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(kmod.Source, p)
		if err != nil {
			return err
		}
		m[strings.TrimPrefix(p, "src/")] = &fstest.MapFile{Data: b, Mode: 0o644}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", kmod.ModuleName, err)
	}
	m["kd_event.h"] = &fstest.MapFile{Data: []byte(events.CHeader), Mode: 0o644}
	return &Kit{
		Name: kmod.ModuleName, Module: kmod.ModuleName, Device: kmod.DeviceName, Version: version,
		Kinds: []artifacts.Kind{artifacts.KindKmod}, Format: FormatKD, Method: MethodKbuild,
		Source: m, Origin: "built in",
	}, nil
}

// Offers reports whether the kit has an artifact of kind k.
func (k *Kit) Offers(kind artifacts.Kind) bool {
	for _, x := range k.Kinds {
		if x == kind {
			return true
		}
	}
	return false
}

// String names the kit in messages.
func (k *Kit) String() string {
	return fmt.Sprintf("%s %s (module %s, %s format, from %s)", k.Name, k.Version, k.Module, k.Format, k.Origin)
}

// Exclusive is DKMS's BUILD_EXCLUSIVE_*: the kernels and arches a source
// builds for. The zero value allows everything.
type Exclusive struct {
	KernelMin string // lowest kernel version, inclusive (2.6.33)
	KernelMax string // highest kernel version, inclusive
	Kernel    string // regular expression the kernel release must match
	Arch      string // regular expression the arch (uname -m) must match
}

// Allows reports whether a kernel release on arch (x86_64, aarch64) is in
// range, and if not, why. Versions compare on their numbers (6.1.0-13-amd64
// is 6.1.0; a bound's missing numbers are zeros), as DKMS does for
// released kernels.
func (e Exclusive) Allows(release, arch string) (bool, string) {
	kv := leadingVersion(release)
	if e.KernelMin != "" && compareVersions(kv, leadingVersion(e.KernelMin)) < 0 {
		return false, fmt.Sprintf("kernel %s is older than BUILD_EXCLUSIVE_KERNEL_MIN %s", release, e.KernelMin)
	}
	if e.KernelMax != "" && compareVersions(kv, leadingVersion(e.KernelMax)) > 0 {
		return false, fmt.Sprintf("kernel %s is newer than BUILD_EXCLUSIVE_KERNEL_MAX %s", release, e.KernelMax)
	}
	if e.Kernel != "" {
		if re, err := regexp.Compile(e.Kernel); err != nil || !re.MatchString(release) {
			return false, fmt.Sprintf("kernel %s does not match BUILD_EXCLUSIVE_KERNEL %q", release, e.Kernel)
		}
	}
	if e.Arch != "" {
		if re, err := regexp.Compile(e.Arch); err != nil || !re.MatchString(arch) {
			return false, fmt.Sprintf("arch %s does not match BUILD_EXCLUSIVE_ARCH %q", arch, e.Arch)
		}
	}
	return true, ""
}

// leadingVersion is the numbers at the start of a version: 6.1.0-13 → 6 1 0.
func leadingVersion(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ".") {
		end := 0
		for end < len(part) && part[end] >= '0' && part[end] <= '9' {
			end++
		}
		if end == 0 {
			break
		}
		n, err := strconv.Atoi(part[:end])
		if err != nil {
			break
		}
		out = append(out, n)
		if end < len(part) {
			break
		}
	}
	return out
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

var (
	// A module or device name ends up in paths, make arguments and the
	// environment of build scripts: letters, digits, _ and - only.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
	// A version ends up in store paths: no slashes, no "..".
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,127}$`)
)

// validate checks the identity fields before anything uses them.
func (k *Kit) validate() error {
	for _, f := range []struct{ what, v string }{{"driver name", k.Name}, {"module name", k.Module}, {"device name", k.Device}} {
		if !nameRE.MatchString(f.v) {
			return fmt.Errorf("%s %q: %w: want letters, digits, _ and -", f.what, f.v, ErrBadKit)
		}
	}
	if !versionRE.MatchString(k.Version) || strings.Contains(k.Version, "..") {
		return fmt.Errorf("driver version %q: %w", k.Version, ErrBadKit)
	}
	return nil
}
