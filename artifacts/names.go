package artifacts

import (
	"fmt"
	"strings"
)

// ParseFileName splits a Falco-layout file name
// <driver>_<target>_<release>_<version>.ko|.o back into an ID (without
// driver version and arch, which the folder gives). The target is the
// field after the driver name, the release the next one, the version the
// rest, so a version may contain '_' but a target or release may not.
func ParseFileName(file, driverName string) (ID, error) {
	var id ID
	rest, ok := strings.CutPrefix(file, driverName+"_")
	if !ok || driverName == "" {
		return id, fmt.Errorf("artifact file %q: does not start with driver name %q", file, driverName+"_")
	}
	switch {
	case strings.HasSuffix(rest, ".ko"):
		id.Kind, rest = KindKmod, strings.TrimSuffix(rest, ".ko")
	case strings.HasSuffix(rest, ".o"):
		id.Kind, rest = KindEBPF, strings.TrimSuffix(rest, ".o")
	default:
		return id, fmt.Errorf("artifact file %q: want .ko or .o", file)
	}
	// Kernel releases (uname -r) have no '_', but fixed versions do:
	// minikube's 1_1.34.0, bottlerocket's 1_1.11.0-aws. So the release is
	// the second field and the version all that follows it.
	target, rest, ok1 := strings.Cut(rest, "_")
	release, version, ok2 := strings.Cut(rest, "_")
	if !ok1 || !ok2 || target == "" || release == "" || version == "" {
		return id, fmt.Errorf("artifact file %q: want %s_<target>_<kernel release>_<kernel version>%s", file, driverName, id.Kind.Ext())
	}
	id.DriverName, id.TargetID, id.KernelRelease, id.KernelVersion = driverName, target, release, version
	return id, nil
}
