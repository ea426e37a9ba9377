// Package host detects the facts about a host that decide which driver it
// can run and what its artifacts are called: distro, kernel release and
// version, arch, BTF, lockdown, Secure Boot, module support and whether a
// driver is already loaded.
//
// Everything is read through an fs.FS rooted at the host's root directory
// (--host-root, "/host" in a container), so tests run against fixture trees.
// Open gives such an FS for a directory.
package host
