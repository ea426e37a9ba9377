package rpm

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// RepoConfig is one section of a yum/dnf .repo file.
type RepoConfig struct {
	ID       string
	Name     string
	BaseURLs []string
	Enabled  bool
	GPGCheck bool
	GPGKeys  []string
}

// ParseRepoFile reads a .repo file (INI). $releasever and $basearch are
// replaced with the given values; sections without baseurl (mirrorlist or
// metalink only) are returned with no BaseURLs, for the caller to skip.
func ParseRepoFile(r io.Reader, releasever, basearch string) ([]RepoConfig, error) {
	var out []RepoConfig
	var cur *RepoConfig
	lastKey := ""
	sc := bufio.NewScanner(r)
	n := 0
	expand := strings.NewReplacer("$releasever", releasever, "$basearch", basearch)
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("repo line %d: %q: %w", n, line, ErrSyntax)
			}
			out = append(out, RepoConfig{ID: strings.TrimSpace(line[1 : len(line)-1]), Enabled: true, GPGCheck: true})
			cur, lastKey = &out[len(out)-1], ""
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("repo line %d: option outside a section: %w", n, ErrSyntax)
		}
		var k, v string
		if raw[0] == ' ' || raw[0] == '\t' {
			k, v = lastKey, line // continuation of a list
		} else {
			var ok bool
			k, v, ok = strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("repo line %d: %q: want key=value: %w", n, line, ErrSyntax)
			}
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
			lastKey = k
		}
		v = expand.Replace(v)
		switch k {
		case "name":
			cur.Name = v
		case "baseurl":
			cur.BaseURLs = append(cur.BaseURLs, strings.Fields(strings.ReplaceAll(v, ",", " "))...)
		case "enabled":
			cur.Enabled = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
		case "gpgcheck":
			cur.GPGCheck = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
		case "gpgkey":
			cur.GPGKeys = append(cur.GPGKeys, strings.Fields(v)...)
		}
	}
	return out, sc.Err()
}

// HostRepos reads etc/yum.repos.d/*.repo of the host whose root is fsys and
// returns the enabled repositories that have a baseurl.
func HostRepos(fsys fs.FS, releasever, basearch string) ([]RepoConfig, error) {
	ents, err := fs.ReadDir(fsys, "etc/yum.repos.d")
	if err != nil {
		return nil, nil
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".repo") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []RepoConfig
	for _, n := range names {
		f, err := fsys.Open(path.Join("etc/yum.repos.d", n))
		if err != nil {
			return nil, err
		}
		rs, err := ParseRepoFile(f, releasever, basearch)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		for _, r := range rs {
			if r.Enabled && len(r.BaseURLs) > 0 {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
