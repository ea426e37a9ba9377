// Package kit describes a driver as data: the module's name, its device, the
// driver version, the kinds it offers, where its source is, how it is built
// and which event format it writes. kdriver's own driver is one kit (Own);
// any DKMS-layout source is another (a folder with dkms.conf and a kbuild
// Makefile, a .deb holding one under usr/src/<name>-<version>, or a
// falcosecurity/libs driver/ tree configured here without cmake).
//
// It is a package of its own because builder (what to compile), loader
// (what to load, unload and verify) and cmd all need the same identity,
// and none of them should own it: a kit knows nothing about where it is
// built or installed.
package kit
