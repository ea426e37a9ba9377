// Package templates holds the build scripts kdriver runs, one per distro
// family and driver kind, embedded and rendered with text/template.
//
// A rendered script takes every value from its environment (KDIR, SRC, OUT,
// MODULE, KARCH, CROSS_COMPILE, CC, JOBS, DRIVER_VERSION), never from text
// pasted into it, so paths and versions need no shell quoting: the template
// only chooses the steps.
package templates
