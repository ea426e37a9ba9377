package artifacts

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kdriver/kdriver/kernelrelease"
)

// Kind and ID are kernelrelease's, where the rules that name a target's
// artifacts live (names point down the package graph, not up).
type (
	Kind = kernelrelease.Kind
	ID   = kernelrelease.ArtifactID
)

const (
	KindKmod = kernelrelease.KindKmod // kernel module, .ko
	KindEBPF = kernelrelease.KindEBPF // legacy eBPF probe, .o
)

// EscapeVersion escapes a driver version for a URL path the way Falco's
// loader does: only '+' is rewritten (to %2B), so mirrors keep working.
func EscapeVersion(v string) string {
	return strings.ReplaceAll(v, "+", "%2B")
}

// HTTPURL is the artifact's URL under an HTTP repository in the Falco
// layout: <repo>/<driver version, + as %2B>/<arch>/<file name>.
func HTTPURL(repo string, id ID) string {
	return layoutURL(strings.TrimRight(repo, "/"), id.DriverVersion, id.Arch, id.FileName())
}

// layoutURL is <repo>/<version>/<arch>/<file>. Besides Falco's '+', it
// escapes what would end or change a path segment ('%', '?', '#', spaces
// and control characters), so a kernel version such as "1?x" names its own
// file, not a query on another one; other characters are left as Falco's
// mirrors expect them.
func layoutURL(repo, version, arch, file string) string {
	return repo + "/" + escapeSegment(EscapeVersion(version), true) + "/" + escapeSegment(arch, false) + "/" + escapeSegment(file, false)
}

func escapeSegment(s string, escaped bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && escaped && i+2 < len(s) && s[i+1] == '2' && s[i+2] == 'B':
			b.WriteByte(c) // EscapeVersion's %2B
		case c == '%' || c == '?' || c == '#' || c <= ' ' || c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// RepoScheme returns the scheme of a repository URL (https, http, oci, file)
// or an error that says what is accepted.
func RepoScheme(repo string) (string, error) {
	u, err := url.Parse(repo)
	if err != nil {
		return "", fmt.Errorf("repo %q: %w", repo, err)
	}
	switch u.Scheme {
	case "https", "http", "oci", "file":
		return u.Scheme, nil
	}
	return "", fmt.Errorf("repo %q: scheme %q not supported: use https://, http://, oci://registry/repo or file:///dir", repo, u.Scheme)
}
