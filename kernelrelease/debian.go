package kernelrelease

import (
	"fmt"
	"regexp"
)

// debian: uname -r names the kernel's ABI package (6.1.0-13-amd64,
// 5.10.0-0.deb10.16-amd64, 6.12.117+deb12-cloud-arm64), not the kernel
// that runs; Falco names Debian artifacts after the running kernel's
// package version, which uname -v carries ("#1 SMP PREEMPT_DYNAMIC Debian
// 6.1.55-1 (2023-09-29)"). The release becomes that version up to its
// Debian revision ("6.1.55-1"; "~bpo10+1", "~deb12u1", "+deb10u2" cut)
// followed by the flavour and arch of uname -r ("-amd64", "-rt-amd64",
// "-cloud-arm64"), and the version becomes "1": 6.1.0-13-amd64 becomes
// 6.1.55-1-amd64. A kernel version override that is only a package
// version ("5.10.178-3") works the same way. Without a package version in
// uname -v both stay as they are. Checked against falcoctl v0.13.0 (see
// testdata/falcoctl).
type debian struct{}

// debianVersion is a Debian kernel package version up to its revision,
// anywhere in uname -v.
var debianVersion = regexp.MustCompile(`\d+\.\d+\.\d+-\d+`)

func (debian) name() string { return "debian" }

func (debian) targetID(OS, Release) string { return "debian" }

func (debian) fixup(t *Target, _ OS) {
	pkg := debianVersion.FindString(t.KernelVersion.Raw)
	if pkg == "" {
		t.Notes = append(t.Notes, fmt.Sprintf("debian: kernel version %q carries no Debian package version: kernel release %q left as is", t.KernelVersion.Raw, t.KernelRelease.Raw))
		return
	}
	rel := pkg + debianArchSuffix(t.KernelRelease.FullExtraversion)
	t.Notes = append(t.Notes, fmt.Sprintf("debian: kernel package version %s from uname -v: release %q becomes %q, version \"1\"", pkg, t.KernelRelease.Raw, rel))
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
