// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * kdriver legacy eBPF probe: raw tracepoints on sys_enter, sys_exit and
 * sched_process_exit that emit the events of events/c/kd_event.h into a
 * perf event array. Unlike the modern probe it is compiled for one kernel,
 * against that kernel's headers and config (kbuild, see Makefile): struct
 * offsets come from the headers, so it needs neither BTF nor CO-RE, and
 * perf buffers instead of the BPF ring buffer (5.8).
 *
 * The logic follows bpf/modern/c/probe.bpf.c (same filter map, same event
 * building, same exec_pending bookkeeping); the differences are the helpers
 * an older kernel has and the absence of global variables (.rodata maps
 * need 5.2): settings live in a map the loader fills.
 */
#include <linux/version.h>
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <generated/utsrelease.h>
#include "kd_bpf.h"
#include "kd_event.h"

#if __has_include("kd_target.h")
/* Written by the build: KD_TARGET_VERSION (uname -v), KD_DRIVER_VERSION. */
#include "kd_target.h"
#endif
#ifndef KD_TARGET_VERSION
#define KD_TARGET_VERSION ""
#endif
#ifndef KD_DRIVER_VERSION
#define KD_DRIVER_VERSION "dev"
#endif

#if defined(CONFIG_ARM64)
#define KD_ARCH "aarch64"
#elif defined(CONFIG_X86_64)
#define KD_ARCH "x86_64"
#else
#error "kdriver legacy probe: x86_64 and arm64 kernels only"
#endif

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* What the object was built for, each in its own section (the symbols
 * must not share the sections' names): read by the Go preflight, never
 * loaded. */
char kd_rec_release[] SEC("kd_kernel_release") = UTS_RELEASE;
char kd_rec_version[] SEC("kd_kernel_version") = KD_TARGET_VERSION;
char kd_rec_arch[] SEC("kd_kernel_arch") = KD_ARCH;
char kd_rec_driver[] SEC("kd_driver_version") = KD_DRIVER_VERSION;
__u32 kd_rec_api[3] SEC("kd_api") = { KD_API_VERSION_MAJOR, KD_API_VERSION_MINOR, KD_SCHEMA_VERSION };

#define KD_SYSCALL_MAX		512
/* Event build area: twice the largest event, so that masked offsets plus
 * one bounded write always stay inside (see the modern probe). */
#define KD_OFF_MASK		(KD_MAX_EVENT_LEN - 1)
#define KD_SCRATCH_LEN		(2 * KD_MAX_EVENT_LEN)
#define KD_MAX_ARGS		32
#define KD_AT_FDCWD		-100

#define kd_bound(v, mask)	asm volatile("%0 &= " #mask : "+r"(v))

struct kd_filter {
	__u16 enter;
	__u16 exit;
};

struct kd_counters {
	__u64 events;	/* events written to a perf buffer */
	__u64 drops;	/* events lost: buffer full */
	__u64 lost;	/* exec exits typed without their entry */
};

/* Set by the loader before attaching. */
struct kd_settings {
	__u32 procexit_enabled;
	__u32 pad;
};

struct kd_scratch {
	__u8 buf[KD_SCRATCH_LEN];
};

KD_MAP(syscall_filter, BPF_MAP_TYPE_ARRAY, __u32, struct kd_filter, KD_SYSCALL_MAX);
KD_MAP(counters, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct kd_counters, 1);
KD_MAP(settings, BPF_MAP_TYPE_ARRAY, __u32, struct kd_settings, 1);
KD_MAP(scratch, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct kd_scratch, 1);
/* tgid -> exec entry type; see exec_pending in the modern probe. */
KD_MAP(exec_pending, BPF_MAP_TYPE_LRU_HASH, __u32, __u16, 4096);
/* One perf buffer per CPU; the loader sizes it to the possible CPUs. */
KD_MAP(perf_events, BPF_MAP_TYPE_PERF_EVENT_ARRAY, __u32, __u32, 0);

KD_INLINE unsigned long kd_reg(const void *p)
{
	unsigned long v = 0;

	kd_read_kernel(&v, sizeof(v), p);
	return v;
}

KD_INLINE unsigned long kd_arg(struct pt_regs *regs, int i)
{
#if defined(CONFIG_ARM64)
	switch (i) {
	case 0: return kd_reg(&regs->orig_x0);
	case 1: return kd_reg(&regs->regs[1]);
	case 2: return kd_reg(&regs->regs[2]);
	case 3: return kd_reg(&regs->regs[3]);
	default: return kd_reg(&regs->regs[4]);
	}
#else
	switch (i) {
	case 0: return kd_reg(&regs->di);
	case 1: return kd_reg(&regs->si);
	case 2: return kd_reg(&regs->dx);
	case 3: return kd_reg(&regs->r10);
	default: return kd_reg(&regs->r8);
	}
#endif
}

KD_INLINE long kd_syscall_nr(struct pt_regs *regs)
{
#if defined(CONFIG_ARM64)
	__s32 nr = -1;

	kd_read_kernel(&nr, sizeof(nr), &regs->syscallno);
	return nr;
#else
	return kd_reg(&regs->orig_ax);
#endif
}

/* A 32-bit compat syscall is not reported (its number is another table's). */
KD_INLINE int kd_compat(struct pt_regs *regs)
{
#if defined(CONFIG_ARM64)
	return (kd_reg(&regs->pstate) & PSR_MODE32_BIT) != 0;
#elif defined(TS_COMPAT)
	struct task_struct *t = (void *)kd_get_current_task();
	__u32 status = 0;

	kd_read_kernel(&status, sizeof(status), &t->thread_info.status);
	return (status & TS_COMPAT) != 0;
#else
	return 0;
#endif
}

struct kd_buf {
	__u8 *data;
	__u32 off;
	__u32 np;
	__u32 flags;
};

KD_INLINE int kd_begin(struct kd_buf *b, __u16 type, __u16 nparams)
{
	struct kd_evt_hdr *h;
	__u32 zero = 0;
	__u64 id;

	b->data = kd_map_lookup_elem(&scratch, &zero);
	if (!b->data)
		return -1;
	h = (void *)b->data;
	id = kd_get_current_pid_tgid();
	h->ts_ns = kd_ktime_ns();
	h->tid = (__u32)id;
	h->pid = id >> 32;
	h->type = type;
	h->nparams = nparams;
	h->cpu = kd_get_smp_processor_id();
	kd_get_current_comm(h->comm, sizeof(h->comm));
	b->off = KD_HDR_LEN + 2 * nparams;
	b->np = 0;
	b->flags = 0;
	return 0;
}

KD_INLINE void kd_param_done(struct kd_buf *b, __u32 len)
{
	__u32 i = b->np & (KD_MAX_PARAMS - 1);

	*(__u16 *)&b->data[KD_HDR_LEN + 2 * i] = len;
	b->np++;
	b->off += len;
}

KD_INLINE void kd_u64(struct kd_buf *b, __u64 v)
{
	__u32 off = b->off & KD_OFF_MASK;

	__builtin_memcpy(&b->data[off], &v, sizeof(v));
	kd_param_done(b, sizeof(v));
}

KD_INLINE void kd_ustr(struct kd_buf *b, unsigned long uptr, __u32 max)
{
	__u32 off = b->off & KD_OFF_MASK;
	long n = 0;

	if (uptr) {
		n = kd_read_user_str(&b->data[off], max, (const void *)uptr);
		if (n < 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			n = 0;
		} else if (n == max) {
			b->flags |= KD_EF_TRUNCATED;
		}
	}
	kd_param_done(b, n);
}

KD_INLINE void kd_uargv(struct kd_buf *b, unsigned long uargv)
{
	__u32 total = 0;
	int i;

	/* Unrolled: bounded loops need 5.3. */
#pragma unroll
	for (i = 0; i < KD_MAX_ARGS; i++) {
		unsigned long p = 0;
		__u64 off, room;
		long n;

		if (!uargv)
			break;
		if (kd_read_user(&p, sizeof(p), (const void *)(uargv + i * sizeof(p))) < 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			break;
		}
		if (!p)
			break;
		if (total >= KD_MAX_ARGV) {
			b->flags |= KD_EF_TRUNCATED;
			break;
		}
		off = b->off + total;
		kd_bound(off, 16383);
		room = KD_MAX_ARGV - total;
		kd_bound(room, 8191);
		n = kd_read_user_str(&b->data[off], room, (const void *)p);
		if (n <= 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			break;
		}
		total += n;
		if (n == room) {
			b->flags |= KD_EF_TRUNCATED;
			break;
		}
		if (i == KD_MAX_ARGS - 1)
			b->flags |= KD_EF_TRUNCATED;
	}
	kd_param_done(b, total);
}

KD_INLINE void kd_usockaddr(struct kd_buf *b, unsigned long uaddr, long ulen)
{
	__u32 off = b->off & KD_OFF_MASK;
	__u32 len = 0;

	if (uaddr && ulen > 0) {
		len = ulen > KD_MAX_SOCKADDR ? KD_MAX_SOCKADDR : ulen;
		len &= 0xff;
		if (kd_read_user(&b->data[off], len, (const void *)uaddr) < 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			len = 0;
		}
	}
	kd_param_done(b, len);
}

KD_INLINE __u64 kd_uu64(struct kd_buf *b, unsigned long uptr)
{
	__u64 v = 0;

	if (uptr && kd_read_user(&v, sizeof(v), (const void *)uptr) < 0)
		b->flags |= KD_EF_PARAM_FAULT;
	return v;
}

KD_INLINE void kd_submit(void *ctx, struct kd_buf *b)
{
	struct kd_evt_hdr *h = (void *)b->data;
	struct kd_counters *c;
	__u32 zero = 0;
	__u64 len = b->off;

	c = kd_map_lookup_elem(&counters, &zero);
	if (!c)
		return;
	h->len = len;
	h->flags = b->flags;
	if (len > KD_MAX_EVENT_LEN) {
		c->drops++;
		return;
	}
	kd_bound(len, 32767);
	if (kd_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, b->data, len))
		c->drops++;
	else
		c->events++;
}

KD_INLINE __s64 kd_int(unsigned long v)
{
	return (__s64)(__s32)v;
}

/* An exec entry (the only entry events) of type, its arguments in a[]. */
KD_INLINE int kd_enter(void *ctx, __u16 type, const unsigned long *a)
{
	__u32 tgid = kd_get_current_pid_tgid() >> 32;
	struct kd_buf b;

	if (type != KD_EV_EXECVE_E && type != KD_EV_EXECVEAT_E)
		return 0;
	kd_map_update_elem(&exec_pending, &tgid, &type, BPF_ANY);
	if (type == KD_EV_EXECVE_E) {
		if (kd_begin(&b, KD_EV_EXECVE_E, KD_NP_EXECVE_E))
			return 0;
		kd_ustr(&b, a[0], KD_MAX_PATH);
		kd_uargv(&b, a[1]);
	} else {
		if (kd_begin(&b, KD_EV_EXECVEAT_E, KD_NP_EXECVEAT_E))
			return 0;
		kd_u64(&b, kd_int(a[0]));
		kd_ustr(&b, a[1], KD_MAX_PATH);
		kd_uargv(&b, a[2]);
		kd_u64(&b, (__u32)a[4]);
	}
	kd_submit(ctx, &b);
	return 0;
}

KD_INLINE int kd_on_enter(void *ctx, struct pt_regs *regs, long id)
{
	unsigned long a[5];
	struct kd_filter *f;
	__u32 nr;
	int i;

	if (id < 0 || id >= KD_SYSCALL_MAX)
		return 0;
	nr = id;
	f = kd_map_lookup_elem(&syscall_filter, &nr);
	if (!f || !f->enter || kd_compat(regs))
		return 0;
	for (i = 0; i < 5; i++)
		a[i] = kd_arg(regs, i);
	return kd_enter(ctx, f->enter, a);
}

KD_INLINE void kd_open_x(struct kd_buf *b, struct pt_regs *regs, __u16 type)
{
	unsigned long how;

	switch (type) {
	case KD_EV_OPEN_X:
		kd_u64(b, KD_AT_FDCWD);
		kd_ustr(b, kd_arg(regs, 0), KD_MAX_PATH);
		kd_u64(b, (__u32)kd_arg(regs, 1));
		kd_u64(b, (__u32)kd_arg(regs, 2));
		break;
	case KD_EV_OPENAT_X:
		kd_u64(b, kd_int(kd_arg(regs, 0)));
		kd_ustr(b, kd_arg(regs, 1), KD_MAX_PATH);
		kd_u64(b, (__u32)kd_arg(regs, 2));
		kd_u64(b, (__u32)kd_arg(regs, 3));
		break;
	default: /* openat2: struct open_how { u64 flags, mode, resolve; } */
		how = kd_arg(regs, 2);
		kd_u64(b, kd_int(kd_arg(regs, 0)));
		kd_ustr(b, kd_arg(regs, 1), KD_MAX_PATH);
		kd_u64(b, kd_uu64(b, how));
		kd_u64(b, how ? kd_uu64(b, how + 8) : 0);
		break;
	}
}

KD_INLINE void kd_accept_x(struct kd_buf *b, struct pt_regs *regs, long ret, __u16 type)
{
	unsigned long lenp = kd_arg(regs, 2);
	long alen = 0;

	kd_u64(b, kd_int(kd_arg(regs, 0)));
	if (ret >= 0 && lenp) {
		__s32 l = 0;

		if (kd_read_user(&l, sizeof(l), (const void *)lenp) == 0)
			alen = l;
	}
	kd_usockaddr(b, kd_arg(regs, 1), alen);
	kd_u64(b, type == KD_EV_ACCEPT4_X ? (__u32)kd_arg(regs, 3) : 0);
}

/* ia32 numbers of execve and execveat (arch/x86/entry/syscalls/syscall_32.tbl) */
#define KD_IA32_EXECVE		11
#define KD_IA32_EXECVEAT	358

KD_INLINE void kd_exec_forget(void)
{
	__u32 tgid = kd_get_current_pid_tgid() >> 32;

	kd_map_delete_elem(&exec_pending, &tgid);
}

KD_INLINE __u16 kd_exec_exit_type(__u16 type)
{
	__u32 tgid = kd_get_current_pid_tgid() >> 32;
	__u16 *entered = kd_map_lookup_elem(&exec_pending, &tgid);

	if (!entered) {
		__u32 zero = 0;
		struct kd_counters *c = kd_map_lookup_elem(&counters, &zero);

		if (c)
			c->lost++;
		return type;
	}
	type = *entered == KD_EV_EXECVEAT_E ? KD_EV_EXECVEAT_X : KD_EV_EXECVE_X;
	kd_map_delete_elem(&exec_pending, &tgid);
	return type;
}

KD_INLINE int kd_nparams(__u16 type)
{
	switch (type) {
	case KD_EV_EXECVE_X:
	case KD_EV_EXECVEAT_X:
		return KD_NP_EXECVE_X;
	case KD_EV_OPEN_X:
	case KD_EV_OPENAT_X:
	case KD_EV_OPENAT2_X:
		return KD_NP_OPEN_X;
	case KD_EV_CONNECT_X:
		return KD_NP_CONNECT_X;
	case KD_EV_ACCEPT_X:
	case KD_EV_ACCEPT4_X:
		return KD_NP_ACCEPT_X;
	case KD_EV_CLONE_X:
	case KD_EV_CLONE3_X:
	case KD_EV_FORK_X:
	case KD_EV_VFORK_X:
		return KD_NP_CLONE_X;
	case KD_EV_CLOSE_X:
		return KD_NP_CLOSE_X;
	case KD_EV_UNLINKAT_X:
		return KD_NP_UNLINKAT_X;
	case KD_EV_RENAMEAT2_X:
		return KD_NP_RENAMEAT2_X;
	}
	return 0;
}

KD_INLINE int kd_on_exit(void *ctx, struct pt_regs *regs, long ret)
{
	struct kd_filter *f;
	struct kd_buf b;
	long id;
	__u32 nr;
	__u16 type;
	int np;

	id = kd_syscall_nr(regs);
	if (id < 0 || id >= KD_SYSCALL_MAX)
		return 0;
	nr = id;
	f = kd_map_lookup_elem(&syscall_filter, &nr);
	if (!f || !f->exit) {
#if !defined(CONFIG_ARM64)
		/* An exec into an ia32 program returns with the ia32 exec's number. */
		if ((nr == KD_IA32_EXECVE || nr == KD_IA32_EXECVEAT) && kd_compat(regs))
			kd_exec_forget();
#endif
		return 0;
	}
	if (kd_compat(regs)) {
		kd_exec_forget();
		return 0;
	}
	type = f->exit;
	if (type == KD_EV_EXECVE_X || type == KD_EV_EXECVEAT_X)
		type = kd_exec_exit_type(type);
	np = kd_nparams(type);
	if (!np || kd_begin(&b, type, np))
		return 0;
	kd_u64(&b, ret);
	switch (type) {
	case KD_EV_OPEN_X:
	case KD_EV_OPENAT_X:
	case KD_EV_OPENAT2_X:
		kd_open_x(&b, regs, type);
		break;
	case KD_EV_CONNECT_X:
		kd_u64(&b, kd_int(kd_arg(regs, 0)));
		kd_usockaddr(&b, kd_arg(regs, 1), kd_int(kd_arg(regs, 2)));
		break;
	case KD_EV_ACCEPT_X:
	case KD_EV_ACCEPT4_X:
		kd_accept_x(&b, regs, ret, type);
		break;
	case KD_EV_CLONE_X:
		kd_u64(&b, kd_arg(regs, 0));
		break;
	case KD_EV_CLONE3_X:
		kd_u64(&b, kd_uu64(&b, kd_arg(regs, 0)));
		break;
	case KD_EV_FORK_X:
	case KD_EV_VFORK_X:
		kd_u64(&b, 0);
		break;
	case KD_EV_CLOSE_X:
		kd_u64(&b, kd_int(kd_arg(regs, 0)));
		break;
	case KD_EV_UNLINKAT_X:
		kd_u64(&b, kd_int(kd_arg(regs, 0)));
		kd_ustr(&b, kd_arg(regs, 1), KD_MAX_PATH);
		kd_u64(&b, (__u32)kd_arg(regs, 2));
		break;
	case KD_EV_RENAMEAT2_X:
		kd_u64(&b, kd_int(kd_arg(regs, 0)));
		kd_ustr(&b, kd_arg(regs, 1), KD_MAX_PATH);
		kd_u64(&b, kd_int(kd_arg(regs, 2)));
		kd_ustr(&b, kd_arg(regs, 3), KD_MAX_PATH);
		kd_u64(&b, (__u32)kd_arg(regs, 4));
		break;
	}
	kd_submit(ctx, &b);
	return 0;
}

KD_INLINE int kd_on_procexit(void *ctx, struct task_struct *task)
{
	struct kd_settings *s;
	struct signal_struct *sig = NULL;
	struct kd_buf b;
	__u32 zero = 0;
	int live = 1, code = 0;
	__s64 status;

	/* The last thread of a process: its exec entry, if any, goes too. */
	kd_read_kernel(&sig, sizeof(sig), &task->signal);
	if (sig)
		kd_read_kernel(&live, sizeof(live), &sig->live.counter);
	if (live == 0) {
		__u32 tgid = 0;

		kd_read_kernel(&tgid, sizeof(tgid), &task->tgid);
		kd_map_delete_elem(&exec_pending, &tgid);
	}
	s = kd_map_lookup_elem(&settings, &zero);
	if (!s || !s->procexit_enabled)
		return 0;
	if (kd_begin(&b, KD_EV_PROCEXIT, KD_NP_PROCEXIT))
		return 0;
	kd_read_kernel(&code, sizeof(code), &task->exit_code);
	status = code;
	kd_u64(&b, status);
	kd_u64(&b, (status >> 8) & 0xff);
	kd_u64(&b, status & 0x7f);
	kd_submit(ctx, &b);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int kd_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return kd_on_enter(ctx, (struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

/*
 * Exec entries through the kernel's per-syscall tracepoints
 * (syscalls:sys_enter_execve, sys_enter_execveat), which run for those two
 * syscalls only, where the sys_enter program runs for every syscall; the
 * loader attaches these when the kernel has them and the records' formats
 * match (it checks), else kd_sys_enter. The record carries the arguments
 * as the entry saved them from offset 16; the syscall number before them
 * is not read (its offset moved under the realtime patches). The kernel
 * leaves 32-bit syscalls out of these tracepoints.
 */
struct kd_syscall_enter_record {
	__u64 common;	/* common_type, common_flags, common_preempt_count, common_pid */
	__u64 nr;	/* __syscall_nr: not read */
	unsigned long args[6];
};

SEC("tracepoint/syscalls/sys_enter_execve")
int kd_execve_tp(struct kd_syscall_enter_record *r)
{
	/* execve has 3 arguments: the kernel refuses a program that reads
	 * past its tracepoint's record. */
	unsigned long a[5] = { r->args[0], r->args[1], r->args[2] };

	return kd_enter(r, KD_EV_EXECVE_E, a);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int kd_execveat_tp(struct kd_syscall_enter_record *r)
{
	unsigned long a[5] = { r->args[0], r->args[1], r->args[2], r->args[3], r->args[4] };

	return kd_enter(r, KD_EV_EXECVEAT_E, a);
}

SEC("raw_tracepoint/sys_exit")
int kd_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return kd_on_exit(ctx, (struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

SEC("raw_tracepoint/sched_process_exit")
int kd_proc_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return kd_on_procexit(ctx, (struct task_struct *)ctx->args[0]);
}
