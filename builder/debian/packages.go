package debian

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Package is one binary package of a Packages index.
type Package struct {
	Name         string
	Version      string
	Architecture string
	Source       string
	Depends      [][]Relation
	Provides     []Relation
	Filename     string // relative to the archive root
	Size         int64
	SHA256       string
}

// ParsePackages reads a (decompressed) Packages index. Packages without a
// Filename, Size or SHA256 cannot be fetched safely and are an error.
func ParsePackages(r io.Reader) ([]Package, error) {
	paras, err := ParseControl(r)
	if err != nil {
		return nil, fmt.Errorf("packages: %w", err)
	}
	out := make([]Package, 0, len(paras))
	for _, p := range paras {
		pkg := Package{
			Name:         p.Get("Package"),
			Version:      p.Get("Version"),
			Architecture: p.Get("Architecture"),
			Source:       p.Get("Source"),
			Filename:     p.Get("Filename"),
			SHA256:       strings.ToLower(p.Get("SHA256")),
		}
		if pkg.Name == "" || pkg.Version == "" {
			return nil, fmt.Errorf("packages: stanza without Package/Version: %w", ErrSyntax)
		}
		where := pkg.Name + " " + pkg.Version
		if pkg.Filename == "" || len(pkg.SHA256) != 64 {
			return nil, fmt.Errorf("packages: %s: no Filename or SHA256: %w", where, ErrSyntax)
		}
		if pkg.Size, err = strconv.ParseInt(p.Get("Size"), 10, 64); err != nil || pkg.Size < 0 {
			return nil, fmt.Errorf("packages: %s: bad Size %q: %w", where, p.Get("Size"), ErrSyntax)
		}
		if pkg.Depends, err = ParseRelations(p.Get("Depends")); err != nil {
			return nil, fmt.Errorf("packages: %s: %w", where, err)
		}
		prov, err := ParseRelations(p.Get("Provides"))
		if err != nil {
			return nil, fmt.Errorf("packages: %s: %w", where, err)
		}
		for _, g := range prov {
			pkg.Provides = append(pkg.Provides, g...)
		}
		out = append(out, pkg)
	}
	return out, nil
}
