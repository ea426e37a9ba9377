package kernelrelease

import (
	"fmt"
	"regexp"
)

// debian: uname -r may name the ABI package rather than the running kernel
// (5.10.0-0.deb10.22-rt-amd64). When the kernel version is itself a
// Debian kernel version (5.10.178-3, as given with --kernel-version), the
// release becomes that version plus the flavour and arch suffix
// (5.10.178-3-rt-amd64) and the version becomes "1". With a normal uname -v
// ("#1 SMP ... Debian 6.1.55-1 (...)") the token is "1" and nothing changes,
// exactly as in Falco's loader.
type debian struct{}

// debianVersion is a Debian kernel package version somewhere in the token.
var debianVersion = regexp.MustCompile(`\d+\.\d+\.\d+-\d+`)

func (debian) name() string { return "debian" }

func (debian) targetID(OS, Release) string { return "debian" }

func (debian) fixup(t *Target, _ OS) {
	if !debianVersion.MatchString(t.FixedVersion) {
		return
	}
	rel := t.FixedVersion + debianArchSuffix(t.KernelRelease.FullExtraversion)
	t.Notes = append(t.Notes, fmt.Sprintf("debian: kernel version %q is the real kernel: release %q becomes %q, version \"1\"", t.FixedVersion, t.KernelRelease.Raw, rel))
	t.FixedRelease = rel
	t.FixedVersion = "1"
}

// debianArchSuffix is "-[rt-|cloud-]amd64|arm64" when the extraversion has
// one (the first occurrence), else "".
func debianArchSuffix(extra string) string {
	for i := 0; i+5 <= len(extra); i++ {
		a := extra[i : i+5]
		if a != "amd64" && a != "arm64" {
			continue
		}
		for _, fl := range []string{"rt-", "cloud-"} {
			if i >= len(fl) && extra[i-len(fl):i] == fl {
				return "-" + fl + a
			}
		}
		return "-" + a
	}
	return ""
}
