package kernelrelease

import (
	"fmt"
	"strconv"
	"strings"
)

// flatcar: the release's numeric head is replaced by the OS version
// (VERSION_ID 3975.2.2, uname -r 6.6.54-flatcar → 3975.2.2-flatcar).
type flatcar struct{}

func (flatcar) name() string { return "flatcar" }

func (flatcar) targetID(OS, Release) string { return "flatcar" }

func (flatcar) fixup(t *Target, os OS) {
	if !isSemver(os.VersionID) {
		t.Notes = append(t.Notes, fmt.Sprintf("flatcar: VERSION_ID %q is not major.minor.patch: kernel release left as is", os.VersionID))
		return
	}
	if t.KernelRelease.Fullversion == "" {
		t.Notes = append(t.Notes, fmt.Sprintf("flatcar: kernel release %q has no version to replace: left as is", t.KernelRelease.Raw))
		return
	}
	rel := os.VersionID + t.KernelRelease.FullExtraversion
	t.Notes = append(t.Notes, fmt.Sprintf("flatcar: kernel release %q becomes %q (VERSION_ID %s)", t.KernelRelease.Raw, rel, os.VersionID))
	t.FixedRelease = rel
}

// isSemver reports whether s is major.minor.patch with optional
// -prerelease / +build parts and no leading zeros: what Falco's loader
// accepts as a Flatcar version.
func isSemver(s string) bool {
	core := s
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		if i == len(core)-1 {
			return false
		}
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return false
		}
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}
