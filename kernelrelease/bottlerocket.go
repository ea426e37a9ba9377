package kernelrelease

import (
	"fmt"
	"strings"
)

// bottlerocket: the kernel version becomes 1_<VERSION_ID>-<variant family>
// (VERSION_ID 1.19.2, VARIANT_ID aws-k8s-1.29 → 1_1.19.2-aws).
type bottlerocket struct{}

func (bottlerocket) name() string { return "bottlerocket" }

func (bottlerocket) targetID(OS, Release) string { return "bottlerocket" }

func (bottlerocket) fixup(t *Target, os OS) {
	variant, _, _ := strings.Cut(os.VariantID, "-")
	t.FixedVersion = fmt.Sprintf("1_%s-%s", os.VersionID, variant)
	t.Notes = append(t.Notes, fmt.Sprintf("bottlerocket: kernel version becomes %q (VERSION_ID %q, VARIANT_ID %q)", t.FixedVersion, os.VersionID, os.VariantID))
	if os.VersionID == "" || os.VariantID == "" {
		t.Notes = append(t.Notes, "bottlerocket: os-release lacks VERSION_ID or VARIANT_ID: no prebuilt artifact will match")
	}
}
