package artifacts

import (
	"fmt"
	"strings"
)

// ParseFileName splits a Falco-layout file name
// <driver>_<target>_<release>_<version>.ko|.o back into an ID (without
// driver version and arch, which the folder gives). The target is the
// field after the driver name, the version the last field, the release
// what is between, so a release may contain '_' but a target may not.
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
	target, rest, ok1 := strings.Cut(rest, "_")
	i := strings.LastIndexByte(rest, '_')
	if !ok1 || i <= 0 || target == "" || i == len(rest)-1 {
		return id, fmt.Errorf("artifact file %q: want %s_<target>_<kernel release>_<kernel version>%s", file, driverName, id.Kind.Ext())
	}
	id.DriverName, id.TargetID, id.KernelRelease, id.KernelVersion = driverName, target, rest[:i], rest[i+1:]
	return id, nil
}
