// Package legacy is kdriver's legacy eBPF probe: C source compiled for one
// kernel at a time against that kernel's headers (kbuild, clang and llc; see
// c/Makefile), for kernels without BTF or older than the modern probe's
// 5.8. It writes the events of events/c/kd_event.h into perf event arrays
// from raw tracepoints.
//
// The Go side inspects a probe object before anything reaches the kernel
// (Inspect, Info.Check: ELF machine BPF, little endian, the kernel release,
// version and arch the object records, its programs and maps), loads and
// attaches it with cilium/ebpf (Load) and reads its perf buffers as an
// events.Source (Source).
package legacy
