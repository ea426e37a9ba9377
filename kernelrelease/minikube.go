package kernelrelease

import (
	"fmt"
	"regexp"
)

// minikube: recognised by etc/VERSION (whatever os-release says); the
// kernel version becomes 1_<minikube version> (v1.26.0-1655407986-14197
// → 1_1.26.0).
type minikube struct{ version string }

// minikubeSemver is the first x.y.z in etc/VERSION.
var minikubeSemver = regexp.MustCompile(`\d+(\.\d+){2}`)

// minikubeVersion extracts x.y.z from etc/VERSION's content.
func minikubeVersion(file string) (string, bool) {
	v := minikubeSemver.FindString(file)
	return v, v != ""
}

func (minikube) name() string { return "minikube" }

func (minikube) targetID(OS, Release) string { return "minikube" }

func (m minikube) fixup(t *Target, _ OS) {
	t.FixedVersion = "1_" + m.version
	t.Notes = append(t.Notes, fmt.Sprintf("minikube: kernel version becomes %q", t.FixedVersion))
}
