package kernelrelease

import (
	"fmt"
	"strings"
)

// oracle (os-release ID ol): generic names; on UEK kernels (release
// containing "uek") the kernel module is never chosen, as Falco's loader
// skips it there because building it always fails.
type oracle struct{}

func (oracle) name() string { return "ol" }

func (oracle) targetID(OS, Release) string { return "ol" }

func (oracle) fixup(t *Target, _ OS) {
	if strings.Contains(t.KernelRelease.Raw, "uek") {
		t.KmodVeto = fmt.Sprintf("Oracle Linux UEK kernel %s: the kernel module cannot be built for it", t.KernelRelease.Raw)
	}
}
