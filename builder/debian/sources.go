package debian

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Source is one apt source: an archive URI with suites and components.
type Source struct {
	URI           string
	Suites        []string
	Components    []string
	Architectures []string // empty: the host's
	SignedBy      string   // keyring file the suite must be signed with ("" : apt's defaults)
}

// ParseSourcesList reads one-line style sources ("deb [opts] uri suite comp…").
// deb-src lines and comments are skipped.
func ParseSourcesList(r io.Reader) ([]Source, error) {
	var out []Source
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		var s Source
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			var opts []string
			for len(f) > 0 {
				tok := f[0]
				f = f[1:]
				opts = append(opts, strings.Trim(tok, "[]"))
				if strings.HasSuffix(tok, "]") {
					break
				}
			}
			for _, o := range opts {
				k, v, ok := strings.Cut(o, "=")
				switch {
				case ok && k == "arch":
					s.Architectures = strings.Split(v, ",")
				case ok && k == "signed-by":
					s.SignedBy = v
				}
			}
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("sources.list line %d: want deb URI SUITE [COMPONENT…]: %w", n, ErrSyntax)
		}
		s.URI, s.Suites, s.Components = f[0], []string{f[1]}, f[2:]
		out = append(out, s)
	}
	return out, sc.Err()
}

// ParseDeb822Sources reads a *.sources file. Disabled entries ("Enabled: no")
// and entries without the "deb" type are skipped.
func ParseDeb822Sources(r io.Reader) ([]Source, error) {
	paras, err := ParseControl(r)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	var out []Source
	for _, p := range paras {
		if strings.EqualFold(p.Get("Enabled"), "no") {
			continue
		}
		if !contains(strings.Fields(p.Get("Types")), "deb") {
			continue
		}
		uris := strings.Fields(p.Get("URIs"))
		if len(uris) == 0 || p.Get("Suites") == "" {
			return nil, fmt.Errorf("sources: entry without URIs or Suites: %w", ErrSyntax)
		}
		signedBy := p.Get("Signed-By")
		if strings.Contains(signedBy, "\n") {
			signedBy = "" // an inline key block: not supported, apt's defaults apply
		}
		for _, u := range uris {
			out = append(out, Source{
				SignedBy:      signedBy,
				URI:           u,
				Suites:        strings.Fields(p.Get("Suites")),
				Components:    strings.Fields(p.Get("Components")),
				Architectures: strings.Fields(p.Get("Architectures")),
			})
		}
	}
	return out, nil
}

// HostSources reads the apt sources of the host whose root is fsys:
// etc/apt/sources.list, then etc/apt/sources.list.d/*.list and *.sources in
// name order. Missing files are not an error.
func HostSources(fsys fs.FS) ([]Source, error) {
	files := []string{"etc/apt/sources.list"}
	if ents, err := fs.ReadDir(fsys, "etc/apt/sources.list.d"); err == nil {
		var names []string
		for _, e := range ents {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".list") || strings.HasSuffix(e.Name(), ".sources")) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, path.Join("etc/apt/sources.list.d", n))
		}
	}
	var out []Source
	for _, name := range files {
		f, err := fsys.Open(name)
		if err != nil {
			continue
		}
		var srcs []Source
		if strings.HasSuffix(name, ".sources") {
			srcs, err = ParseDeb822Sources(f)
		} else {
			srcs, err = ParseSourcesList(f)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, srcs...)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
