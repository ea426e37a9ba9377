package kmod

import "embed"

// Source is the kernel module's C source (the src folder), carried in the
// binary so that `kdriver build` can build the module without a checkout.
//
//go:embed src
var Source embed.FS
