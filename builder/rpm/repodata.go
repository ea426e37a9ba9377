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
	"github.com/kdriver/kdriver/builder/internal/gpgv"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

var (
	// ErrSyntax is returned for metadata that cannot be parsed.
	ErrSyntax = errors.New("repodata syntax")
	// ErrNoPrimary is returned when repomd.xml names no primary index.
	ErrNoPrimary = errors.New("no primary index")
	// ErrSignature is returned, with a keyring set, when repomd.xml has no
	// detached signature (repomd.xml.asc) or it does not verify.
	ErrSignature = errors.New("repomd.xml signature not valid")
)

const (
	maxRepomd    = 8 << 20
	maxPrimary   = 1 << 30
	maxSignature = 64 << 10
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
	// Keyring, when set, is the OpenPGP keyring (binary, or armored as
	// RPM-GPG-KEY-* files are) repodata/repomd.xml must be signed with:
	// repodata/repomd.xml.asc is fetched and checked with gpgv before
	// repomd.xml is parsed. Without it repomd.xml is trusted as fetched.
	Keyring string
}

func (r *Repo) url(p string) string { return strings.TrimRight(r.URL, "/") + "/" + p }

// Primary fetches repomd.xml (checked against its signature when a keyring
// is set) and the primary index it names, checked against the SHA256
// repomd.xml gives for it.
func (r *Repo) Primary(ctx context.Context) (*Primary, error) {
	b, err := download.Bytes(ctx, r.Client, r.url("repodata/repomd.xml"), download.Want{Size: -1}, maxRepomd)
	if err != nil {
		return nil, err
	}
	if r.Keyring != "" {
		if err := r.verify(ctx, b); err != nil {
			return nil, err
		}
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
		// An empty digest would be "unknown" to download: the primary
		// index would be trusted as fetched, whatever signed repomd.xml.
		sum := strings.ToLower(strings.TrimSpace(d.Checksum.Value))
		if !isSHA256(sum) {
			return nil, fmt.Errorf("primary %s: sha256 %q is not 64 hex digits: %w", d.Location.Href, sum, download.ErrDigest)
		}
		size := d.Size
		if size <= 0 {
			size = -1
		}
		raw, err := download.Bytes(ctx, r.Client, r.url(d.Location.Href), download.Want{Size: size, SHA256: sum}, maxPrimary)
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

// verify checks repomd against repodata/repomd.xml.asc with the keyring.
func (r *Repo) verify(ctx context.Context, repomd []byte) error {
	u := r.url("repodata/repomd.xml.asc")
	sig, err := download.Bytes(ctx, r.Client, u, download.Want{Size: -1}, maxSignature)
	if errors.Is(err, download.ErrNotFound) {
		return fmt.Errorf("%s: %w: %s is missing, and a keyring (%s) is set: the repository publishes no detached signature of repomd.xml, or it was removed on the way: %w", r.URL, ErrSignature, u, r.Keyring, err)
	}
	if err != nil {
		return err
	}
	if _, err := gpgv.VerifyKeyFile(ctx, r.Keyring, repomd, sig, ErrSignature); err != nil {
		if !errors.Is(err, ErrSignature) {
			return fmt.Errorf("%s: %w", r.URL, err) // no gpgv, an unreadable keyring
		}
		return fmt.Errorf("%s: repodata/repomd.xml: %w: the keyring does not hold the repository's signing key, or repomd.xml or its signature was changed on the way", r.URL, err)
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
