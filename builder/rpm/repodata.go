// Package rpm reads RPM repository metadata (repodata/repomd.xml and the
// primary index it names) and lists the kernel-devel packages a repository
// holds, each with its location, size and SHA256.
package rpm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

var (
	// ErrSyntax is returned for metadata that cannot be parsed.
	ErrSyntax = errors.New("repodata syntax")
	// ErrNoPrimary is returned when repomd.xml names no primary index.
	ErrNoPrimary = errors.New("no primary index")
)

const (
	maxRepomd  = 8 << 20
	maxPrimary = 1 << 30
)

// Repomd is repodata/repomd.xml.
type Repomd struct {
	Data []RepomdData `xml:"data"`
}

// RepomdData is one index named by repomd.xml.
type RepomdData struct {
	Type     string   `xml:"type,attr"`
	Checksum Checksum `xml:"checksum"`
	Location Location `xml:"location"`
	Size     int64    `xml:"size"`
}

// Checksum is a digest with its algorithm.
type Checksum struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// Location is a path relative to the repository root.
type Location struct {
	Href string `xml:"href,attr"`
}

// Primary is the primary index: every package of the repository.
type Primary struct {
	Packages []Package `xml:"package"`
}

// Package is one package of the primary index.
type Package struct {
	Type     string   `xml:"type,attr"`
	Name     string   `xml:"name"`
	Arch     string   `xml:"arch"`
	Version  Version  `xml:"version"`
	Checksum Checksum `xml:"checksum"`
	Size     struct {
		Package int64 `xml:"package,attr"`
	} `xml:"size"`
	Location Location `xml:"location"`
	Requires []Entry  `xml:"format>requires>entry"`
	Provides []Entry  `xml:"format>provides>entry"`
}

// Version is an RPM epoch:version-release.
type Version struct {
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

// Entry is a requires/provides entry.
type Entry struct {
	Name string `xml:"name,attr"`
}

// ParseRepomd parses repomd.xml.
func ParseRepomd(r io.Reader) (*Repomd, error) {
	var m Repomd
	if err := xml.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("repomd: %w: %w", ErrSyntax, err)
	}
	return &m, nil
}

// ParsePrimary parses a (decompressed) primary.xml.
func ParsePrimary(r io.Reader) (*Primary, error) {
	var p Primary
	if err := xml.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("primary: %w: %w", ErrSyntax, err)
	}
	for _, pkg := range p.Packages {
		if pkg.Name == "" || pkg.Location.Href == "" {
			return nil, fmt.Errorf("primary: package without name or location: %w", ErrSyntax)
		}
	}
	return &p, nil
}

// Repo is one RPM repository root (the directory holding repodata/).
type Repo struct {
	URL    string
	Client *http.Client
}

func (r *Repo) url(p string) string { return strings.TrimRight(r.URL, "/") + "/" + p }

// Primary fetches repomd.xml and the primary index it names, checked against
// the SHA256 repomd.xml gives for it.
func (r *Repo) Primary(ctx context.Context) (*Primary, error) {
	b, err := download.Bytes(ctx, r.Client, r.url("repodata/repomd.xml"), download.Want{Size: -1}, maxRepomd)
	if err != nil {
		return nil, err
	}
	md, err := ParseRepomd(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for _, d := range md.Data {
		if d.Type != "primary" {
			continue
		}
		if d.Checksum.Type != "sha256" {
			return nil, fmt.Errorf("primary %s: checksum type %q: only sha256 is trusted: %w", d.Location.Href, d.Checksum.Type, download.ErrDigest)
		}
		size := d.Size
		if size <= 0 {
			size = -1
		}
		raw, err := download.Bytes(ctx, r.Client, r.url(d.Location.Href), download.Want{Size: size, SHA256: strings.ToLower(strings.TrimSpace(d.Checksum.Value))}, maxPrimary)
		if err != nil {
			return nil, err
		}
		var rd io.Reader = bytes.NewReader(raw)
		switch {
		case strings.HasSuffix(d.Location.Href, ".gz"):
			if rd, err = gzip.NewReader(rd); err != nil {
				return nil, fmt.Errorf("primary: %w", err)
			}
		case strings.HasSuffix(d.Location.Href, ".xz"):
			if rd, err = xz.NewReader(rd); err != nil {
				return nil, fmt.Errorf("primary: %w", err)
			}
		case strings.HasSuffix(d.Location.Href, ".zst"):
			zr, err := zstd.NewReader(rd, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, fmt.Errorf("primary: %w", err)
			}
			defer zr.Close()
			rd = zr
		}
		return ParsePrimary(io.LimitReader(rd, maxPrimary))
	}
	return nil, fmt.Errorf("%s: %w", r.URL, ErrNoPrimary)
}

// Kernels lists the kernel-devel packages of arch (x86_64, aarch64) as
// matrix targets of the given distro family and Falco target ID.
func (r *Repo) Kernels(p *Primary, distro, targetID, arch string) []matrix.Target {
	var out []matrix.Target
	for _, pkg := range p.Packages {
		if pkg.Name != "kernel-devel" || pkg.Arch != arch || pkg.Checksum.Type != "sha256" {
			continue
		}
		release := pkg.Version.Ver + "-" + pkg.Version.Rel + "." + pkg.Arch
		out = append(out, matrix.Target{
			Name:               targetID + "-" + release,
			Distro:             distro,
			TargetID:           targetID,
			Arch:               arch,
			KernelRelease:      release,
			FixedKernelRelease: release,
			FixedKernelVersion: "1",
			PackageVersion:     pkg.Version.Ver + "-" + pkg.Version.Rel,
			Packages: []matrix.Package{{
				Name: pkg.Name, Version: pkg.Version.Ver + "-" + pkg.Version.Rel, Arch: pkg.Arch,
				Role: matrix.RoleHeaders, URL: r.url(pkg.Location.Href),
				Size: pkg.Size.Package, SHA256: strings.ToLower(pkg.Checksum.Value),
			}},
		})
	}
	return out
}
