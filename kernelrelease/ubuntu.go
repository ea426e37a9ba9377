package kernelrelease

import (
	"fmt"
	"strings"
)

// ubuntu: the target ID carries the kernel flavour taken from the release
// (5.15.0-1009-aws → ubuntu-aws, 5.0.0-1028-aws-5.0 → ubuntu-aws, no
// flavour → ubuntu-generic), and the version drops "-Ubuntu"
// ("#26~22.04.1-Ubuntu SMP ..." → 26~22.04.1).
type ubuntu struct{}

func (ubuntu) name() string { return "ubuntu" }

func (ubuntu) targetID(_ OS, kr Release) string {
	return "ubuntu-" + ubuntuFlavor(kr.FullExtraversion)
}

// ubuntuFlavor is the first '-'-led run of letters in the extraversion that
// ends the string or is followed by '-': "-1009-aws" → aws,
// "-1051-aws-5.15" → aws, "-100-lowlatency" → lowlatency.
func ubuntuFlavor(extra string) string {
	for i := 0; i < len(extra); i++ {
		if extra[i] != '-' {
			continue
		}
		j := i + 1
		for j < len(extra) && isLetter(extra[j]) {
			j++
		}
		if j > i+1 && (j == len(extra) || extra[j] == '-') {
			return extra[i+1 : j]
		}
	}
	return "generic"
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func (ubuntu) fixup(t *Target, _ OS) {
	v := strings.TrimSuffix(t.FixedVersion, "-Ubuntu")
	if v != t.FixedVersion {
		t.Notes = append(t.Notes, fmt.Sprintf("ubuntu: kernel version %q without -Ubuntu is %q", t.FixedVersion, v))
		t.FixedVersion = v
	}
	t.Notes = append(t.Notes, fmt.Sprintf("ubuntu: flavour %q from kernel release %q", strings.TrimPrefix(t.ID, "ubuntu-"), t.KernelRelease.Raw))
}
