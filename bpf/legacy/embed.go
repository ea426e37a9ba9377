package legacy

import (
	"embed"
	"strconv"
)

// CSource is the probe's C source and kbuild Makefile (the c folder),
// carried in the binary so that builds need no checkout. kd_event.h is not
// in it: it comes from package events (events.CHeader).
//
//go:embed c
var CSource embed.FS

// TargetHeader is kd_target.h, written next to the source by a build: what
// the probe records besides the headers' release (its kernel's uname -v,
// empty when the build does not know it, and the driver version), as C
// string literals (strconv.Quote's escapes are C's for these strings).
func TargetHeader(kernelVersion, driverVersion string) string {
	if driverVersion == "" {
		driverVersion = "dev"
	}
	return "#define KD_TARGET_VERSION " + strconv.Quote(kernelVersion) + "\n" +
		"#define KD_DRIVER_VERSION " + strconv.Quote(driverVersion) + "\n"
}
