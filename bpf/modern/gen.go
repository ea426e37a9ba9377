package modern

// Regenerate the committed objects with `go generate ./bpf/...` (make
// generate); needs clang-16 and llvm-strip-16 (scripts/setup-bpf.sh).
// c/vmlinux.h is committed: `make vmlinux` regenerates it from the running
// kernel's BTF with bpftool.
//go:generate go tool bpf2go -cc clang-16 -strip llvm-strip-16 -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type kd_filter -type kd_counters probe c/probe.bpf.c -- -I../../events/c
