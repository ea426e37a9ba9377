package kernelrelease

import "fmt"

// talos: the kernel version becomes 1_<VERSION_ID> (v1.7.6 → 1_v1.7.6).
type talos struct{}

func (talos) name() string { return "talos" }

func (talos) targetID(OS, Release) string { return "talos" }

func (talos) fixup(t *Target, os OS) {
	t.FixedVersion = "1_" + os.VersionID
	t.Notes = append(t.Notes, fmt.Sprintf("talos: kernel version becomes %q", t.FixedVersion))
	if os.VersionID == "" {
		t.Notes = append(t.Notes, "talos: os-release has no VERSION_ID: no prebuilt artifact will match")
	}
}
