package builder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/rpm"
	"github.com/kdriver/kdriver/kernelrelease"
)

// Errors of kernel discovery that are the caller's to correct.
var (
	// ErrNoSuite: archives were named without a suite to read.
	ErrNoSuite = errors.New("archives need a suite")
	// ErrNoSource: no apt source of the host carries the suites asked for.
	ErrNoSource = errors.New("no apt source carries the suites")
)

// NoKernelError says that no archive lists the headers of a kernel.
type NoKernelError struct {
	KernelRelease string
	Arch          string
	Archives      []string
}

func (e *NoKernelError) Error() string {
	return fmt.Sprintf("kernel %s (%s): no headers package in the metadata of %s",
		e.KernelRelease, e.Arch, strings.Join(e.Archives, ", "))
}

// Kernels says where kernels are discovered: Debian-style archives (or the
// host's apt sources) and RPM repositories.
type Kernels struct {
	// Mirrors are Debian-style archive URLs; when empty, the apt sources
	// under HostRoot are read and Discover fills Mirrors in from them.
	Mirrors    []string
	Suites     []string // every suite of the sources when empty
	Components []string
	Arches     []string       // Debian arches (default amd64 and arm64)
	Flavour    *regexp.Regexp // only kernel releases matching it (nil: all)
	Newest     bool           // only the newest kernel of each series, flavour and arch
	Keyring    string         // OpenPGP keyring the Mirrors' suites must be signed with
	RPMRepos   []string
	RPMKeyring string // OpenPGP keyring the RPMRepos' repodata/repomd.xml must be signed with
	RPMDistro  string
	RPMTarget  string
	HostRoot   string // where the host's apt sources are read
	HostArch   string // kernel spelling (x86_64); cross builds need its kbuild
	Logger     *slog.Logger
}

func (k *Kernels) log() *slog.Logger {
	if k.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return k.Logger
}

// Find discovers the one kernel of release and arch (kernel spelling).
// Arches defaults to arch.
func (k Kernels) Find(ctx context.Context, release, arch string) (matrix.Target, error) {
	if len(k.Arches) == 0 {
		k.Arches = []string{kernelrelease.ArchOf(arch).Deb()}
	}
	all, err := k.Discover(ctx)
	if err != nil {
		return matrix.Target{}, err
	}
	for _, t := range all {
		if t.KernelRelease == release && t.Arch == arch {
			return t, nil
		}
	}
	return matrix.Target{}, &NoKernelError{KernelRelease: release, Arch: arch, Archives: k.Mirrors}
}

// Discover reads every configured archive and lists its kernels, newest
// first. Mirrors is filled in from the host's apt sources when empty.
func (k *Kernels) Discover(ctx context.Context) ([]matrix.Target, error) {
	type src struct {
		uri     string
		suites  []string
		keyring string
	}
	var srcs []src
	var out []matrix.Target
	if len(k.RPMRepos) > 0 {
		ts, err := k.discoverRPM(ctx)
		if err != nil {
			return nil, err
		}
		if len(k.Mirrors) == 0 {
			return k.filterNewest(ts), nil
		}
		out = ts
	}
	if len(k.Mirrors) > 0 {
		if len(k.Suites) == 0 {
			return nil, ErrNoSuite
		}
		for _, u := range k.Mirrors {
			srcs = append(srcs, src{u, k.Suites, k.Keyring})
		}
	} else {
		hs, err := debian.HostSources(os.DirFS(k.HostRoot))
		if err != nil {
			return nil, err
		}
		for _, s := range hs {
			suites := s.Suites
			if len(k.Suites) > 0 {
				suites = intersect(suites, k.Suites)
			}
			if len(suites) > 0 {
				kr := ""
				if s.SignedBy != "" {
					kr = filepath.Join(k.HostRoot, s.SignedBy)
				}
				srcs = append(srcs, src{s.URI, suites, kr})
				k.Mirrors = append(k.Mirrors, s.URI)
			}
		}
		if len(srcs) == 0 {
			return nil, ErrNoSource
		}
	}
	arches := k.arches()
	host := kernelrelease.ArchOf(k.HostArch).Deb()
	fetchArches := arches
	if !slices.Contains(fetchArches, host) {
		fetchArches = append(append([]string{}, arches...), host) // cross builds need the host's kbuild
	}
	client, err := artifacts.NewHTTPClient(artifacts.HTTPOptions{}, false)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		a := &debian.Archive{URL: s.uri, Client: client, Keyring: s.keyring}
		if s.keyring == "" {
			k.log().Warn("release signatures not checked: give --keyring (or Signed-By in the apt source)", "archive", s.uri)
		}
		for _, suite := range s.suites {
			ix, err := debian.LoadIndex(ctx, a, suite, k.Components, fetchArches)
			if err != nil {
				return nil, err
			}
			for _, arch := range arches {
				ks, err := ix.Kernels(arch, host)
				if err != nil {
					return nil, err
				}
				for _, t := range ks {
					if k.Flavour == nil || k.Flavour.MatchString(t.KernelRelease) {
						out = append(out, t)
					}
				}
			}
		}
	}
	return k.filterNewest(out), nil
}

func (k *Kernels) arches() []string {
	if len(k.Arches) == 0 {
		return []string{"amd64", "arm64"}
	}
	return k.Arches
}

func (k *Kernels) filterNewest(ts []matrix.Target) []matrix.Target {
	if k.Newest {
		return Newest(ts)
	}
	return ts
}

// discoverRPM lists the kernel-devel packages of the RPM repositories for
// the asked arches.
func (k *Kernels) discoverRPM(ctx context.Context) ([]matrix.Target, error) {
	client, err := artifacts.NewHTTPClient(artifacts.HTTPOptions{}, false)
	if err != nil {
		return nil, err
	}
	var out []matrix.Target
	for _, u := range k.RPMRepos {
		repo := &rpm.Repo{URL: u, Client: client, Keyring: k.RPMKeyring}
		if k.RPMKeyring == "" {
			k.log().Warn("repomd.xml signatures not checked: give --rpm-keyring (the repository's RPM-GPG-KEY file)", "repo", u)
		}
		p, err := repo.Primary(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range k.arches() {
			for _, t := range repo.Kernels(p, k.RPMDistro, k.RPMTarget, string(kernelrelease.ArchOf(a))) {
				if k.Flavour == nil || k.Flavour.MatchString(t.KernelRelease) {
					out = append(out, t)
				}
			}
		}
	}
	// Newest first, as for Debian (dpkg ordering approximates rpmvercmp
	// closely enough for kernel versions).
	sort.SliceStable(out, func(i, j int) bool {
		return debian.CompareVersions(out[i].PackageVersion, out[j].PackageVersion) > 0
	})
	return out, nil
}

// debianRevision is a Debian kernel version up to its revision (6.1.55-1).
var debianRevision = regexp.MustCompile(`^\d+\.\d+\.\d+-\d+`)

// Newest keeps the first (newest: discovery sorts by version) target of
// each suite, series, flavour and arch. The series is the first two
// version numbers.
func Newest(ts []matrix.Target) []matrix.Target {
	seen := map[string]bool{}
	var out []matrix.Target
	for _, t := range ts {
		v := t.PackageVersion
		parts := strings.SplitN(v, ".", 3)
		series := v
		if len(parts) >= 2 {
			series = parts[0] + "." + parts[1]
		}
		// The flavour and arch follow the version in the fixed release: the
		// whole package version for RPM, the version up to its Debian
		// revision for Debian (6.12.117-1~deb12u1 → 6.12.117-1-cloud-arm64).
		flavour := t.FixedKernelRelease
		if i := strings.LastIndex(t.FixedKernelRelease, t.PackageVersion); i >= 0 {
			flavour = t.FixedKernelRelease[i+len(t.PackageVersion):]
		} else if m := debianRevision.FindString(t.FixedKernelRelease); m != "" {
			flavour = strings.TrimPrefix(t.FixedKernelRelease, m)
		}
		k := t.Suite + " " + series + " " + flavour + " " + t.Arch
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// ErrNoTarget: a target asked for by name is not in the matrix.
var ErrNoTarget = errors.New("not in the matrix")

// Select keeps the targets of all named names, in the order named; no
// names keeps all.
func Select(all []matrix.Target, names []string) ([]matrix.Target, error) {
	if len(names) == 0 {
		return all, nil
	}
	by := map[string]matrix.Target{}
	for _, t := range all {
		by[t.Name] = t
	}
	var out []matrix.Target
	for _, n := range names {
		t, ok := by[n]
		if !ok {
			return nil, fmt.Errorf("%s: %w", n, ErrNoTarget)
		}
		out = append(out, t)
	}
	return out, nil
}

// Shard keeps shard i of n of the targets, by target name, so that every
// machine given the same matrix and a different i builds a disjoint part.
// It wants 0 <= i < n.
func Shard(ts []matrix.Target, i, n int) []matrix.Target {
	sorted := append([]matrix.Target(nil), ts...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	var out []matrix.Target
	for k, t := range sorted {
		if k%n == i {
			out = append(out, t)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
