package artifacts

import (
	"fmt"
	"strings"
)

// ParseFileName splits a Falco-layout file name
// <driver>_<target>_<release>_<version>.ko|.o back into an ID (without
// driver version and arch, which the folder gives). The target is the
// field after the driver name; see splitReleaseVersion for the rest.
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
	target, rest, ok := strings.Cut(rest, "_")
	release, version := splitReleaseVersion(rest)
	if !ok || target == "" || release == "" || version == "" {
		return id, fmt.Errorf("artifact file %q: want %s_<target>_<kernel release>_<kernel version>%s", file, driverName, id.Kind.Ext())
	}
	id.DriverName, id.TargetID, id.KernelRelease, id.KernelVersion = driverName, target, release, version
	return id, nil
}

// splitReleaseVersion splits <release>_<version>. Both may contain '_':
// releases such as amazon's 5.10.205-195.804.amzn2.x86_64, versions such
// as minikube's 1_1.34.0 or bottlerocket's 1_1.20.1-aws. A version is
// either a build number (the last field, all digits) or "<digits>_<rest>";
// anything else takes the last field as the version.
func splitReleaseVersion(s string) (release, version string) {
	i := strings.LastIndexByte(s, '_')
	if i < 0 {
		return "", ""
	}
	last := s[i+1:]
	if allDigits(last) {
		return s[:i], last
	}
	if j := strings.LastIndexByte(s[:i], '_'); j >= 0 && allDigits(s[j+1:i]) {
		return s[:j], s[j+1:]
	}
	return s[:i], last
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
