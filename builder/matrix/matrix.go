// Package matrix is the build matrix file: the kernels to build for, each
// with the exact packages (URL, size, SHA256) its headers tree is made of.
//
// The file is YAML (JSON is accepted too, being YAML):
//
//	version: 1
//	targets:
//	  - name: debian-bookworm-6.1.0-56-amd64      # unique, used in reports
//	    distro: debian                           # distro family (templates)
//	    suite: bookworm
//	    target_id: debian                        # Falco target ID
//	    arch: x86_64                             # x86_64 or aarch64
//	    kernel_release: 6.1.0-56-amd64           # uname -r
//	    fixed_kernel_release: 6.1.192-2-amd64    # in artifact names
//	    fixed_kernel_version: "1"
//	    package_version: 6.1.192-2
//	    compiler_package: linux-compiler-gcc-12-x86  # what the metadata names
//	    build_depends: [libc6, libelf1, libssl3]     # what kbuild's helpers need
//	    packages:
//	      - {name: linux-headers-6.1.0-56-amd64, version: 6.1.192-2, arch: amd64,
//	         role: headers, url: http://…/pool/…deb, size: 1841552, sha256: …}
//
// Roles: headers (the flavour's tree), common (the shared tree its Makefile
// includes), kbuild (build helpers of the target arch), host-kbuild (the
// same helpers built for the build host, for cross builds).
package matrix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Roles of a package in a target.
const (
	RoleHeaders    = "headers"
	RoleCommon     = "common"
	RoleKbuild     = "kbuild"
	RoleHostKbuild = "host-kbuild"
)

// ErrInvalid is returned for a matrix file that cannot be used as is.
var ErrInvalid = errors.New("invalid matrix")

// File is a matrix file.
type File struct {
	Version int      `yaml:"version" json:"version"`
	Targets []Target `yaml:"targets" json:"targets"`
}

// Target is one kernel to build for.
type Target struct {
	Name               string    `yaml:"name" json:"name"`
	Distro             string    `yaml:"distro" json:"distro"`
	Suite              string    `yaml:"suite,omitempty" json:"suite,omitempty"`
	TargetID           string    `yaml:"target_id" json:"target_id"`
	Arch               string    `yaml:"arch" json:"arch"`
	KernelRelease      string    `yaml:"kernel_release" json:"kernel_release"`
	KernelVersion      string    `yaml:"kernel_version,omitempty" json:"kernel_version,omitempty"`
	FixedKernelRelease string    `yaml:"fixed_kernel_release" json:"fixed_kernel_release"`
	FixedKernelVersion string    `yaml:"fixed_kernel_version" json:"fixed_kernel_version"`
	PackageVersion     string    `yaml:"package_version,omitempty" json:"package_version,omitempty"`
	CompilerPackage    string    `yaml:"compiler_package,omitempty" json:"compiler_package,omitempty"`
	BuildDepends       []string  `yaml:"build_depends,omitempty" json:"build_depends,omitempty"`
	Packages           []Package `yaml:"packages" json:"packages"`
}

// Package is one package of a target, as its repository metadata lists it.
type Package struct {
	Name    string `yaml:"name" json:"name"`
	Version string `yaml:"version" json:"version"`
	Arch    string `yaml:"arch" json:"arch"`
	Role    string `yaml:"role" json:"role"`
	URL     string `yaml:"url" json:"url"`
	Size    int64  `yaml:"size" json:"size"`
	SHA256  string `yaml:"sha256" json:"sha256"`
}

// ByRole returns the target's packages with that role.
func (t Target) ByRole(role string) []Package {
	var out []Package
	for _, p := range t.Packages {
		if p.Role == role {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks what a build relies on. Names that become path
// components (logs, artifacts, trees), image tags or arguments of commands
// must be plain names: a matrix file or a mirror's metadata is input.
func (t Target) Validate() error {
	if t.Name == "" || t.KernelRelease == "" || t.TargetID == "" {
		return fmt.Errorf("target %q: name, target_id and kernel_release are required: %w", t.Name, ErrInvalid)
	}
	for _, f := range []struct{ field, v string }{
		{"name", t.Name}, {"target_id", t.TargetID}, {"kernel_release", t.KernelRelease},
		{"fixed_kernel_release", t.FixedKernelRelease}, {"fixed_kernel_version", t.FixedKernelVersion},
		{"suite", t.Suite},
	} {
		if f.v != "" && !SafeName(f.v) {
			return fmt.Errorf("target %q: %s %q: want letters, digits and ._+~:@- (not first: . -): %w", t.Name, f.field, f.v, ErrInvalid)
		}
	}
	if t.Arch != "x86_64" && t.Arch != "aarch64" {
		return fmt.Errorf("target %s: arch %q: want x86_64 or aarch64: %w", t.Name, t.Arch, ErrInvalid)
	}
	for _, d := range t.BuildDepends {
		if !debName.MatchString(d) {
			return fmt.Errorf("target %s: build_depends %q: not a package name: %w", t.Name, d, ErrInvalid)
		}
	}
	if len(t.ByRole(RoleHeaders)) == 0 {
		return fmt.Errorf("target %s: no headers package: %w", t.Name, ErrInvalid)
	}
	for _, p := range t.Packages {
		if p.URL == "" || len(p.SHA256) != 64 || p.Size <= 0 {
			return fmt.Errorf("target %s: package %q: url, size and sha256 are required: %w", t.Name, p.Name, ErrInvalid)
		}
		if !isHex(p.SHA256) {
			return fmt.Errorf("target %s: package %q: sha256 %q: want 64 lower-case hex digits: %w", t.Name, p.Name, p.SHA256, ErrInvalid)
		}
	}
	return nil
}

var (
	safeName = regexp.MustCompile(`^[A-Za-z0-9_+~:@][A-Za-z0-9._+~:@-]*$`)
	// Debian package names (Policy 5.6.1), with an optional :arch qualifier.
	debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)
)

// SafeName reports whether s can be used as one path component, one image
// tag part and one command argument as it is: letters, digits and ._+~:@-,
// not starting with '.' or '-', at most 200 bytes.
func SafeName(s string) bool { return len(s) <= 200 && safeName.MatchString(s) }

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Read parses a matrix file (YAML or JSON) and validates every target.
func Read(r io.Reader) (*File, error) {
	var f File
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("matrix: version %d: want 1: %w", f.Version, ErrInvalid)
	}
	seen := map[string]bool{}
	for _, t := range f.Targets {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("matrix: target %s listed twice: %w", t.Name, ErrInvalid)
		}
		seen[t.Name] = true
	}
	return &f, nil
}

// maxFile caps a matrix file: every kernel of several distros is a few MiB.
const maxFile = 64 << 20

// ReadFile reads a matrix file from disk (or a pipe), at most 64 MiB.
func ReadFile(name string) (*File, error) {
	in, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	b, err := io.ReadAll(io.LimitReader(in, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", name, maxFile, ErrInvalid)
	}
	f, err := Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Write writes f as YAML.
func Write(w io.Writer, f *File) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	return enc.Close()
}
