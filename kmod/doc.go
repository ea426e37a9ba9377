// Package kmod is the Go side of kdriver's kernel module: it checks a .ko
// against the target kernel before the kernel sees it (Inspect, Check),
// loads it with finit_module and unloads it with delete_module (Load,
// Unload), and reads its events from /dev/kdriver (Open, an events.Source).
//
// The module's C source is in the src folder (kbuild, kernel style); its
// user ABI, kd_ioctl.h, is mirrored in abi.go.
package kmod
