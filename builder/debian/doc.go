// Package debian reads Debian-style archives from their own metadata: apt
// sources (one-line and deb822), Release/InRelease, Packages indexes, and
// from those the kernel flavours an archive holds and the packages each
// flavour's headers need to build a module (headers, -common, kbuild and the
// compiler), each with its size and SHA256.
//
// Nothing here guesses URLs: every file is named by the metadata above it and
// checked against the digest that metadata gives.
package debian
