// Package kernelrelease parses and compares kernel releases (uname -r) and
// kernel versions (uname -v), and turns a host's distro and kernel into a
// Target: the Falco target ID, the per-distro rewritten ("fixed") kernel
// release and version, and the artifact file names that follow from them.
//
// The rules reproduce those of Falco's loader (falcoctl) so that names are
// byte-identical and existing mirrors keep working; each distro's rules
// live in their own file behind the distro interface.
package kernelrelease
