package debian

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/kernelrelease"
)

// Index is the packages of one suite, by architecture ("all" is folded in).
type Index struct {
	Archive string // archive root URL, joined with each Filename
	Suite   string
	ByArch  map[string][]Package
}

// Find returns the newest package for arch (or "all") named by r that
// satisfies its version constraint.
func (ix *Index) Find(arch string, r Relation) (Package, bool) {
	var best Package
	found := false
	for _, a := range []string{arch, "all"} {
		for _, p := range ix.ByArch[a] {
			if p.Name != r.Name || !r.Satisfied(p.Version) {
				continue
			}
			if p.Architecture != arch && p.Architecture != "all" {
				continue
			}
			if !found || CompareVersions(p.Version, best.Version) > 0 {
				best, found = p, true
			}
		}
	}
	return best, found
}

// LoadIndex reads a suite's Release and the Packages of each component and
// arch. An arch the suite does not carry is skipped; a missing component is
// an error.
func LoadIndex(ctx context.Context, a *Archive, suite string, components, arches []string) (*Index, error) {
	rel, err := a.Release(ctx, suite)
	if err != nil {
		return nil, err
	}
	ix := &Index{Archive: a.URL, Suite: suite, ByArch: map[string][]Package{}}
	for _, comp := range components {
		for _, arch := range arches {
			pkgs, err := a.Packages(ctx, rel, suite, comp, arch)
			if errors.Is(err, ErrNoIndex) && len(rel.Architectures) > 0 && !contains(rel.Architectures, arch) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, p := range pkgs {
				ix.ByArch[p.Architecture] = append(ix.ByArch[p.Architecture], p)
			}
		}
	}
	return ix, nil
}

// Kernels lists every kernel flavour of arch in the index: each headers
// package that depends on a -common headers package, with the packages a
// module build needs. hostArch is the build machine's Debian arch: for a
// cross target the host's kbuild package of the same name and version is
// added (its helpers are what runs during the build).
func (ix *Index) Kernels(arch, hostArch string) ([]matrix.Target, error) {
	var out []matrix.Target
	for _, h := range ix.ByArch[arch] {
		if !strings.HasPrefix(h.Name, "linux-headers-") || h.Architecture != arch {
			continue
		}
		t, ok, err := ix.kernel(h, arch, hostArch)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := CompareVersions(out[i].PackageVersion, out[j].PackageVersion); c != 0 {
			return c > 0
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (ix *Index) kernel(h Package, arch, hostArch string) (matrix.Target, bool, error) {
	release := strings.TrimPrefix(h.Name, "linux-headers-")
	var common, kbuild *Package
	compiler := ""
	for _, group := range h.Depends {
		for _, r := range group {
			switch {
			case strings.HasPrefix(r.Name, "linux-headers-") && strings.Contains(r.Name, "-common"):
				if p, ok := ix.Find(arch, r); ok && common == nil {
					common = &p
				}
			case strings.HasPrefix(r.Name, "linux-kbuild-"):
				if p, ok := ix.Find(arch, r); ok && kbuild == nil {
					kbuild = &p
				}
			case strings.HasPrefix(r.Name, "linux-compiler-") || isCompiler(r.Name):
				if compiler == "" {
					compiler = r.Name
				}
			}
		}
	}
	if common == nil {
		return matrix.Target{}, false, nil // a meta-package or not a kernel flavour
	}
	if kbuild == nil {
		return matrix.Target{}, false, fmt.Errorf("%s %s: no linux-kbuild package satisfies its Depends in %s: %w", h.Name, h.Version, ix.Suite, ErrNoIndex)
	}
	// Artifacts are named as the loader names them on a host running this
	// kernel: by the same function, fed with the uname -v the kernel
	// reports, which carries the image package's version.
	unameV := "#1 SMP Debian " + ix.imageVersion(arch, release, h.Version)
	kr, err := kernelrelease.Parse(release)
	if err != nil {
		return matrix.Target{}, false, fmt.Errorf("%s: %w", h.Name, err)
	}
	karch, err := kernelrelease.ParseArch(arch)
	if err != nil {
		return matrix.Target{}, false, fmt.Errorf("%s: %w", h.Name, err)
	}
	tg := kernelrelease.NewTarget(kernelrelease.OS{ID: "debian"}, kr, kernelrelease.ParseVersion(unameV), karch)
	t := matrix.Target{
		Name:               "debian-" + ix.Suite + "-" + release,
		Distro:             "debian",
		Suite:              ix.Suite,
		TargetID:           tg.ID,
		Arch:               string(karch),
		KernelRelease:      release,
		KernelVersion:      unameV,
		FixedKernelRelease: tg.FixedRelease,
		FixedKernelVersion: tg.FixedVersion,
		PackageVersion:     h.Version,
		CompilerPackage:    compiler,
	}
	for _, g := range kbuild.Depends {
		t.BuildDepends = append(t.BuildDepends, g[0].Name)
	}
	t.Packages = append(t.Packages,
		ix.ref(h, matrix.RoleHeaders), ix.ref(*common, matrix.RoleCommon), ix.ref(*kbuild, matrix.RoleKbuild))
	if hostArch != "" && hostArch != arch {
		hk, ok := ix.Find(hostArch, Relation{Name: kbuild.Name, Op: "=", Version: kbuild.Version})
		if !ok {
			return matrix.Target{}, false, fmt.Errorf("%s: cross build needs %s %s for %s, not in %s (add %s to the arches): %w",
				h.Name, kbuild.Name, kbuild.Version, hostArch, ix.Suite, hostArch, ErrNoIndex)
		}
		for _, g := range kbuild.Depends {
			t.BuildDepends = append(t.BuildDepends, g[0].Name)
		}
		t.Packages = append(t.Packages, ix.ref(hk, matrix.RoleHostKbuild))
	}
	return t, true, nil
}

// imageVersion is the version of the kernel image package of release
// (signed or unsigned), which is what the kernel's uname -v reports; the
// headers' version when the index has no image package (they are built
// from the same source, so it is the same).
func (ix *Index) imageVersion(arch, release, headersVersion string) string {
	for _, name := range []string{"linux-image-" + release, "linux-image-" + release + "-unsigned"} {
		if p, ok := ix.Find(arch, Relation{Name: name}); ok {
			return p.Version
		}
	}
	return headersVersion
}

func (ix *Index) ref(p Package, role string) matrix.Package {
	return matrix.Package{
		Name: p.Name, Version: p.Version, Arch: p.Architecture, Role: role,
		URL:  strings.TrimRight(ix.Archive, "/") + "/" + p.Filename,
		Size: p.Size, SHA256: p.SHA256,
	}
}

// isCompiler reports compiler package names: gcc-12, clang-16.
func isCompiler(name string) bool {
	for _, p := range []string{"gcc-", "clang-"} {
		if v, ok := strings.CutPrefix(name, p); ok && v != "" && strings.Trim(v, "0123456789.") == "" {
			return true
		}
	}
	return false
}
