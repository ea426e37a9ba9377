package modern

// Regenerate the committed objects (amd64 and arm64) with
//
//	go generate ./bpf/...
//
// which needs clang-16 and llvm-strip-16 (scripts/setup-bpf.sh); the output
// is byte-for-byte reproducible and TestGeneratedUpToDate checks it.
// c/vmlinux.h is committed too, generated once from a 6.18 kernel's BTF:
//
//	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/modern/c/vmlinux.h
//
// The probe reads only CO-RE-relocated fields, so the header's kernel does
// not need to match the running one; arch-specific registers come from the
// pt_regs flavours in c/probe.bpf.c, not from this x86 header.
//go:generate go tool bpf2go -cc clang-16 -strip llvm-strip-16 -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type kd_filter -type kd_counters probe c/probe.bpf.c -- -I../../events/c
