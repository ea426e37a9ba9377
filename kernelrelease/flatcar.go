package kernelrelease

import (
	"fmt"
	"strconv"
	"strings"
)

// flatcar: the kernel release is replaced by the OS version
// (VERSION_ID 3760.2.0, uname -r 6.1.73-flatcar → 3760.2.0): Flatcar's
// kernel comes with the OS image, so its version names it. Checked against
// falcoctl v0.13.0 (testdata/falcoctl).
type flatcar struct{}

func (flatcar) name() string { return "flatcar" }

func (flatcar) targetID(OS, Release) string { return "flatcar" }

func (flatcar) fixup(t *Target, os OS) {
	if !isSemver(os.VersionID) {
		t.Notes = append(t.Notes, fmt.Sprintf("flatcar: VERSION_ID %q is not major.minor.patch: kernel release left as is", os.VersionID))
		return
	}
	t.Notes = append(t.Notes, fmt.Sprintf("flatcar: kernel release %q becomes the OS version %q", t.KernelRelease.Raw, os.VersionID))
	t.FixedRelease = os.VersionID
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
