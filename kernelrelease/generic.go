package kernelrelease

import "strings"

// generic is every distro without rules of its own (centos, rhel, arch,
// fedora, ...) and the undetermined target: the target ID is the
// lower-case os-release ID, release and version are used as they are.
type generic struct{}

func (generic) name() string { return "generic" }

func (generic) targetID(os OS, _ Release) string {
	return strings.ToLower(os.ID)
}

func (generic) fixup(*Target, OS) {}
