package kernelrelease

// OS is what a target is derived from besides the kernel: the os-release
// fields Falco's rules look at, and minikube's version. Package loader/host
// fills it from the host's files.
type OS struct {
	// ID is os-release's ID as written (ubuntu, debian, amzn, cos, ...);
	// empty when no os-release was found.
	ID        string `json:"id"`
	VersionID string `json:"version_id,omitempty"`
	VariantID string `json:"variant_id,omitempty"`
	BuildID   string `json:"build_id,omitempty"`
	// Minikube is the version found in minikube's etc/VERSION
	// ("v1.26.0-1655407986-14197"); non-empty means the host is minikube.
	Minikube string `json:"minikube,omitempty"`
	// Fallback is the ID of a distro recognised from its legacy release
	// file when there is no os-release: debian (etc/debian_version),
	// centos (etc/centos-release) or rhel (etc/redhat-release).
	Fallback string `json:"fallback,omitempty"`
}
