/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * kdriver event format: the one wire format that every kdriver driver emits
 * (kernel module, legacy eBPF, modern eBPF, userspace) and that the Go reader
 * in package events decodes. docs/events.md describes it for humans; the Go
 * side mirrors every number here and its tests check the golden vectors in
 * events/testdata against both.
 *
 * An event is:
 *
 *   struct kd_evt_hdr            48 bytes, fixed
 *   __u16 param_len[nparams]     length in bytes of each parameter
 *   parameter bytes              concatenated, in table order
 *
 * All integers are little-endian (both supported arches are). hdr.len is the
 * exact length of the event; producers that need alignment pad the record
 * they store the event in (to 8 bytes), never the event itself.
 *
 * This header is included by kernel code (kbuild), by BPF code (clang -target
 * bpf, with vmlinux.h) and by plain userspace C, so it only uses the __uNN
 * types and needs no libc.
 */
#ifndef KD_EVENT_H
#define KD_EVENT_H

/* Bump the major on incompatible changes; readers refuse another major. */
#define KD_API_VERSION_MAJOR	1
#define KD_API_VERSION_MINOR	0
/* Bump when an event type or parameter list changes. */
#define KD_SCHEMA_VERSION	1

#define KD_COMM_LEN		16
#define KD_HDR_LEN		48
/* Upper bound of one event, header and parameter lengths included. */
#define KD_MAX_EVENT_LEN	16384
/* Upper bounds of variable-length parameters (bytes, NUL included). */
#define KD_MAX_PATH		4096
#define KD_MAX_ARGV		4096
#define KD_MAX_SOCKADDR		128
#define KD_MAX_PARAMS		8

struct kd_evt_hdr {
	__u64 ts_ns;		/*  0: CLOCK_BOOTTIME, nanoseconds */
	__u32 tid;		/*  8: thread id (task->pid) */
	__u32 pid;		/* 12: process id (task->tgid) */
	__u32 len;		/* 16: whole event, header included */
	__u16 type;		/* 20: enum kd_event_type */
	__u16 nparams;		/* 22: number of __u16 lengths that follow */
	__u32 flags;		/* 24: KD_EF_* */
	__u32 cpu;		/* 28: CPU the event was produced on */
	char comm[KD_COMM_LEN];	/* 32: task->comm, NUL-padded */
};

/* hdr.flags */
#define KD_EF_TRUNCATED		(1U << 0) /* a parameter was cut to its bound */
#define KD_EF_PARAM_FAULT	(1U << 1) /* a user pointer could not be read */

/*
 * Event types. _E events are taken at syscall entry, _X at exit (arguments
 * read again at exit from the saved registers; aarch64's first argument from
 * orig_x0). The parameter list of each type is fixed by the schema version:
 *
 * type               params (kind)
 * EXECVE_E           filename(str) argv(args)
 * EXECVE_X           res(s64)
 * EXECVEAT_E         dirfd(s64) filename(str) argv(args) flags(u64)
 * EXECVEAT_X         res(s64)
 * OPEN_X, OPENAT_X,  res(s64) dirfd(s64) path(str) flags(u64) mode(u64)
 * OPENAT2_X            (open: dirfd is AT_FDCWD; openat2: open_how fields)
 * CONNECT_X          res(s64) fd(s64) addr(sockaddr)
 * ACCEPT_X,          res(s64) fd(s64) addr(sockaddr) flags(u64)
 * ACCEPT4_X            (peer address as the kernel wrote it back; accept: 0)
 * CLONE_X, CLONE3_X, res(s64) flags(u64)
 * FORK_X, VFORK_X      (fork/vfork: flags are the implied clone flags, 0)
 * CLOSE_X            res(s64) fd(s64)
 * UNLINKAT_X         res(s64) dirfd(s64) path(str) flags(u64)
 * RENAMEAT2_X        res(s64) olddirfd(s64) oldpath(str) newdirfd(s64)
 *                    newpath(str) flags(u64)
 * PROCEXIT           status(s64) exit_code(s64) signal(s64)
 *                      (from sched_process_exit, once per thread;
 *                       exit_code = (status >> 8) & 0xff, signal = status & 0x7f)
 *
 * Kinds: s64/u64 are 8 bytes; str is the bytes with the terminating NUL
 * (length 0 means unavailable); args is the NUL-separated argument strings
 * as in /proc/PID/cmdline; sockaddr is the raw struct sockaddr bytes as the
 * process passed them (family first), length 0 if none.
 */
enum kd_event_type {
	KD_EV_UNKNOWN		= 0,
	KD_EV_EXECVE_E		= 1,
	KD_EV_EXECVE_X		= 2,
	KD_EV_EXECVEAT_E	= 3,
	KD_EV_EXECVEAT_X	= 4,
	KD_EV_OPEN_X		= 5,
	KD_EV_OPENAT_X		= 6,
	KD_EV_OPENAT2_X		= 7,
	KD_EV_CONNECT_X		= 8,
	KD_EV_ACCEPT_X		= 9,
	KD_EV_ACCEPT4_X		= 10,
	KD_EV_CLONE_X		= 11,
	KD_EV_CLONE3_X		= 12,
	KD_EV_FORK_X		= 13,
	KD_EV_VFORK_X		= 14,
	KD_EV_CLOSE_X		= 15,
	KD_EV_UNLINKAT_X	= 16,
	KD_EV_RENAMEAT2_X	= 17,
	KD_EV_PROCEXIT		= 18,
	KD_EV_MAX		= 19,
};

/* Parameter counts per type, for producers' static checks. */
#define KD_NP_EXECVE_E		2
#define KD_NP_EXECVE_X		1
#define KD_NP_EXECVEAT_E	4
#define KD_NP_EXECVEAT_X	1
#define KD_NP_OPEN_X		5
#define KD_NP_CONNECT_X		3
#define KD_NP_ACCEPT_X		4
#define KD_NP_CLONE_X		2
#define KD_NP_CLOSE_X		2
#define KD_NP_UNLINKAT_X	4
#define KD_NP_RENAMEAT2_X	6
#define KD_NP_PROCEXIT		3

/*
 * Layout checks, so that a compiler with other packing rules breaks the
 * build instead of the reader. _Static_assert is C11 and accepted by gcc in
 * gnu89/gnu11 (kernel) and by clang for BPF.
 */
_Static_assert(sizeof(struct kd_evt_hdr) == KD_HDR_LEN, "kd_evt_hdr size");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, ts_ns) == 0, "ts_ns");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, tid) == 8, "tid");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, pid) == 12, "pid");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, len) == 16, "len");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, type) == 20, "type");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, nparams) == 22, "nparams");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, flags) == 24, "flags");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, cpu) == 28, "cpu");
_Static_assert(__builtin_offsetof(struct kd_evt_hdr, comm) == 32, "comm");

#endif /* KD_EVENT_H */
