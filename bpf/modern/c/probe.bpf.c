// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * kdriver modern eBPF probe: CO-RE programs on raw_syscalls:sys_enter,
 * raw_syscalls:sys_exit and sched:sched_process_exit that emit the events of
 * events/c/kd_event.h into BPF ring buffers.
 *
 * Each program exists twice: as tp_btf (BTF-typed raw tracepoint, 5.5+) and
 * as a plain raw tracepoint (4.17+); the Go loader tries tp_btf first and
 * falls back by trying to attach. Both receive the same (regs, id|ret) pair.
 *
 * The probe is arch-neutral: the Go side fills kd_filter with syscall
 * number -> event type for the target arch, and the programs dispatch on
 * the event type. Arguments of exit events are read again at exit from the
 * saved registers (arm64: argument 0 from orig_x0).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_event.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Syscall numbers the filter map covers (x86_64 and aarch64 stay below). */
#define KD_SYSCALL_MAX		512
/* Event build area: offsets are masked to KD_OFF_MASK before each write,
 * and no single write is larger than KD_MAX_EVENT_LEN, so the area is twice
 * that: the verifier sees every access in bounds. */
#define KD_OFF_MASK		(KD_MAX_EVENT_LEN - 1)
#define KD_SCRATCH_LEN		(2 * KD_MAX_EVENT_LEN)
/* argv: at most this many arguments are read. */
#define KD_MAX_ARGS		32
#define KD_AT_FDCWD		-100

/* Mask v in a register in a way the compiler cannot drop as redundant, so
 * that the verifier sees the bound where the value is used. */
#define kd_bound(v, mask)	asm volatile("%0 &= " #mask : "+r"(v))

/* The format version this object writes; the loader checks it against
 * the reader's before loading (a stale generated object fails there). */
volatile const __u32 kd_api_major = KD_API_VERSION_MAJOR;
volatile const __u32 kd_api_minor = KD_API_VERSION_MINOR;
volatile const __u32 kd_schema = KD_SCHEMA_VERSION;

/* Set by the loader before load. */
volatile const __u32 kd_procexit_enabled = 1;
/* Wake the reader only once this much data waits in a buffer; below it the
 * reader finds the events on its next poll (a wakeup per event would cost
 * more than the event itself). 0: the kernel's adaptive wakeup. */
volatile const __u64 kd_wakeup_bytes = 0;

struct kd_filter {
	__u16 enter;	/* event type at entry, 0: none */
	__u16 exit;	/* event type at exit, 0: none */
};

struct kd_counters {
	__u64 events;	/* events written to a ring buffer */
	__u64 drops;	/* events lost: buffer full or missing */
	__u64 lost;	/* exec exits typed without their entry (see exec_pending) */
};

struct kd_scratch {
	__u8 buf[KD_SCRATCH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KD_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct kd_filter);
} syscall_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kd_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kd_scratch);
} scratch SEC(".maps");

/*
 * Exec entry type per process (tgid, which a multithreaded exec keeps): a
 * successful execveat returns with the syscall number of execve in the
 * registers (x86_64 6.18 reports 59), so the exit needs the entry's type.
 * An entry lives from the exec's entry to its exit; the exit of an exec
 * into a 32-bit program (a compat exit, not reported) and the death of
 * the process remove it too. LRU, so that entries whose exit never came
 * cannot fill it: an exec whose entry was evicted is typed by its syscall
 * number at exit and counted in kd_counters.lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u16);
} exec_pending SEC(".maps");

/*
 * One slot per possible CPU; the loader puts a ring buffer in each slot,
 * sharing one buffer between several CPUs when asked (cpus per buffer), and
 * leaves the slots of offline CPUs empty when it allocates for online CPUs
 * only. The inner size here is a template: the loader sets the real one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 1 << 16);
	});
} ringbufs SEC(".maps");

/* Registers as each arch saves them; CO-RE matches these by field name
 * against the running kernel's struct pt_regs. */
struct pt_regs___kd_x86 {
	unsigned long di, si, dx, r10, r8, r9, orig_ax;
} __attribute__((preserve_access_index));

struct pt_regs___kd_arm64 {
	__u64 regs[31];
	__u64 pstate;
	__u64 orig_x0;
	__s32 syscallno;
} __attribute__((preserve_access_index));

/* x86_64: the ia32 entries (int 0x80, sysenter, 32-bit syscall) set
 * TS_COMPAT in thread_info.status; it is cleared on the way back to user
 * mode, after sys_exit. */
struct thread_info___kd_x86 {
	__u32 status;
} __attribute__((preserve_access_index));

struct task_struct___kd_x86 {
	struct thread_info___kd_x86 thread_info;
} __attribute__((preserve_access_index));

#define KD_TS_COMPAT		0x0002
/* arm64: an AArch32 task's saved pstate has PSR_MODE32_BIT. */
#define KD_PSR_MODE32_BIT	0x10

static __always_inline unsigned long kd_arg(struct pt_regs *regs, int i)
{
#if defined(__TARGET_ARCH_arm64)
	struct pt_regs___kd_arm64 *r = (void *)regs;

	switch (i) {
	case 0: return BPF_CORE_READ(r, orig_x0);
	case 1: return BPF_CORE_READ(r, regs[1]);
	case 2: return BPF_CORE_READ(r, regs[2]);
	case 3: return BPF_CORE_READ(r, regs[3]);
	default: return BPF_CORE_READ(r, regs[4]);
	}
#else
	struct pt_regs___kd_x86 *r = (void *)regs;

	switch (i) {
	case 0: return BPF_CORE_READ(r, di);
	case 1: return BPF_CORE_READ(r, si);
	case 2: return BPF_CORE_READ(r, dx);
	case 3: return BPF_CORE_READ(r, r10);
	default: return BPF_CORE_READ(r, r8);
	}
#endif
}

static __always_inline long kd_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ((struct pt_regs___kd_arm64 *)regs, syscallno);
#else
	return BPF_CORE_READ((struct pt_regs___kd_x86 *)regs, orig_ax);
#endif
}

/*
 * A 32-bit compat syscall (ia32 on x86_64, AArch32 on arm64): its number
 * is another table's (ia32 read is 3, x86_64 close), so it is not
 * reported, as the module (in_compat_syscall) and the tracer (the audit
 * arch) do not report it.
 */
static __always_inline bool kd_compat(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ((struct pt_regs___kd_arm64 *)regs, pstate) & KD_PSR_MODE32_BIT;
#else
	struct task_struct___kd_x86 *t = (void *)bpf_get_current_task();

	if (!bpf_core_field_exists(t->thread_info.status))
		return false;
	return BPF_CORE_READ(t, thread_info.status) & KD_TS_COMPAT;
#endif
}

/* Event under construction in the per-CPU scratch area. */
struct kd_buf {
	__u8 *data;
	__u32 off;	/* where the next parameter goes */
	__u32 np;	/* parameters written so far */
	__u32 flags;
};

static __always_inline int kd_begin(struct kd_buf *b, __u16 type, __u16 nparams)
{
	struct kd_evt_hdr *h;
	__u32 zero = 0;
	__u64 id;

	b->data = bpf_map_lookup_elem(&scratch, &zero);
	if (!b->data)
		return -1;
	h = (void *)b->data;
	id = bpf_get_current_pid_tgid();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->tid = (__u32)id;
	h->pid = id >> 32;
	h->type = type;
	h->nparams = nparams;
	h->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	b->off = KD_HDR_LEN + 2 * nparams;
	b->np = 0;
	b->flags = 0;
	return 0;
}

static __always_inline void kd_param_done(struct kd_buf *b, __u32 len)
{
	__u32 i = b->np & (KD_MAX_PARAMS - 1);

	*(__u16 *)&b->data[KD_HDR_LEN + 2 * i] = len;
	b->np++;
	b->off += len;
}

static __always_inline void kd_u64(struct kd_buf *b, __u64 v)
{
	__u32 off = b->off & KD_OFF_MASK;

	__builtin_memcpy(&b->data[off], &v, sizeof(v));
	kd_param_done(b, sizeof(v));
}

/* A user string, NUL included; length 0 when the pointer is NULL or bad. */
static __always_inline void kd_ustr(struct kd_buf *b, unsigned long uptr, __u32 max)
{
	__u32 off = b->off & KD_OFF_MASK;
	long n = 0;

	if (uptr) {
		n = bpf_probe_read_user_str(&b->data[off], max, (const void *)uptr);
		if (n < 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			n = 0;
		} else if (n == max) {
			b->flags |= KD_EF_TRUNCATED;
		}
	}
	kd_param_done(b, n);
}

/* argv as /proc/PID/cmdline: each argument with its NUL. */
static __always_inline void kd_uargv(struct kd_buf *b, unsigned long uargv)
{
	__u32 total = 0;
	int i;

	for (i = 0; i < KD_MAX_ARGS && uargv; i++) {
		unsigned long p = 0;
		__u64 off, room;
		long n;

		if (bpf_probe_read_user(&p, sizeof(p), (const void *)(uargv + i * sizeof(p))) < 0) {
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
		n = bpf_probe_read_user_str(&b->data[off], room, (const void *)p);
		if (n <= 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			break;
		}
		total += n;
		if (n == room) {
			b->flags |= KD_EF_TRUNCATED;
			break;
		}
	}
	if (i == KD_MAX_ARGS)
		b->flags |= KD_EF_TRUNCATED;
	kd_param_done(b, total);
}

/* Raw sockaddr bytes from user memory, at most KD_MAX_SOCKADDR. */
static __always_inline void kd_usockaddr(struct kd_buf *b, unsigned long uaddr, long ulen)
{
	__u32 off = b->off & KD_OFF_MASK;
	__u32 len = 0;

	if (uaddr && ulen > 0) {
		len = ulen > KD_MAX_SOCKADDR ? KD_MAX_SOCKADDR : ulen;
		len &= 0xff;
		if (bpf_probe_read_user(&b->data[off], len, (const void *)uaddr) < 0) {
			b->flags |= KD_EF_PARAM_FAULT;
			len = 0;
		}
	}
	kd_param_done(b, len);
}

static __always_inline __u64 kd_uu64(struct kd_buf *b, unsigned long uptr)
{
	__u64 v = 0;

	if (uptr && bpf_probe_read_user(&v, sizeof(v), (const void *)uptr) < 0)
		b->flags |= KD_EF_PARAM_FAULT;
	return v;
}

static __always_inline void kd_submit(struct kd_buf *b)
{
	struct kd_evt_hdr *h = (void *)b->data;
	struct kd_counters *c;
	__u32 zero = 0, cpu;
	__u64 len = b->off;
	__u64 wake = 0;
	void *rb;

	c = bpf_map_lookup_elem(&counters, &zero);
	if (!c)
		return;
	h->len = len;
	h->flags = b->flags;
	cpu = bpf_get_smp_processor_id();
	rb = bpf_map_lookup_elem(&ringbufs, &cpu);
	if (!rb || len > KD_MAX_EVENT_LEN) {
		c->drops++;
		return;
	}
	if (kd_wakeup_bytes)
		wake = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) + len >= kd_wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	kd_bound(len, 32767);
	if (bpf_ringbuf_output(rb, b->data, len, wake))
		c->drops++;
	else
		c->events++;
}

/* fd-like int arguments: the register may hold a zero-extended int. */
static __always_inline __s64 kd_int(unsigned long v)
{
	return (__s64)(__s32)v;
}

static __always_inline int kd_on_enter(struct pt_regs *regs, long id)
{
	struct kd_filter *f;
	struct kd_buf b;
	__u32 nr;

	if (id < 0 || id >= KD_SYSCALL_MAX)
		return 0;
	nr = id;
	f = bpf_map_lookup_elem(&syscall_filter, &nr);
	if (!f || !f->enter || kd_compat(regs))
		return 0;
	if (f->enter == KD_EV_EXECVE_E || f->enter == KD_EV_EXECVEAT_E) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u16 t = f->enter;

		bpf_map_update_elem(&exec_pending, &tgid, &t, BPF_ANY);
	}
	switch (f->enter) {
	case KD_EV_EXECVE_E:
		if (kd_begin(&b, KD_EV_EXECVE_E, KD_NP_EXECVE_E))
			return 0;
		kd_ustr(&b, kd_arg(regs, 0), KD_MAX_PATH);
		kd_uargv(&b, kd_arg(regs, 1));
		break;
	case KD_EV_EXECVEAT_E:
		if (kd_begin(&b, KD_EV_EXECVEAT_E, KD_NP_EXECVEAT_E))
			return 0;
		kd_u64(&b, kd_int(kd_arg(regs, 0)));
		kd_ustr(&b, kd_arg(regs, 1), KD_MAX_PATH);
		kd_uargv(&b, kd_arg(regs, 2));
		kd_u64(&b, (__u32)kd_arg(regs, 4));
		break;
	default:
		return 0;
	}
	kd_submit(&b);
	return 0;
}

static __always_inline void kd_open_x(struct kd_buf *b, struct pt_regs *regs, __u16 type)
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

static __always_inline void kd_accept_x(struct kd_buf *b, struct pt_regs *regs, long ret, __u16 type)
{
	unsigned long lenp = kd_arg(regs, 2);
	long alen = 0;

	kd_u64(b, kd_int(kd_arg(regs, 0)));
	if (ret >= 0 && lenp) {
		__s32 l = 0;

		if (bpf_probe_read_user(&l, sizeof(l), (const void *)lenp) == 0)
			alen = l;
	}
	kd_usockaddr(b, kd_arg(regs, 1), alen);
	kd_u64(b, type == KD_EV_ACCEPT4_X ? (__u32)kd_arg(regs, 3) : 0);
}

/* ia32 numbers of execve and execveat (arch/x86/entry/syscalls/syscall_32.tbl) */
#define KD_IA32_EXECVE		11
#define KD_IA32_EXECVEAT	358

/* The exit of an exec into a 32-bit program is a compat syscall's: not
 * reported, as by the module and the tracer; its entry is dropped here. */
static __always_inline void kd_exec_forget(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&exec_pending, &tgid);
}

static __always_inline void kd_count_lost(void)
{
	__u32 zero = 0;
	struct kd_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c->lost++;
}

/* The exit type of the exec this process entered (see exec_pending). */
static __always_inline __u16 kd_exec_exit_type(__u16 type)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u16 *entered = bpf_map_lookup_elem(&exec_pending, &tgid);

	if (!entered) {
		kd_count_lost();
		return type;
	}
	type = *entered == KD_EV_EXECVEAT_E ? KD_EV_EXECVEAT_X : KD_EV_EXECVE_X;
	bpf_map_delete_elem(&exec_pending, &tgid);
	return type;
}

static __always_inline int kd_on_exit(struct pt_regs *regs, long ret)
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
	f = bpf_map_lookup_elem(&syscall_filter, &nr);
	if (!f || !f->exit) {
#if !defined(__TARGET_ARCH_arm64)
		/* An exec into an ia32 program returns with the ia32 exec's
		 * number in orig_ax (x86_64 munmap and a free slot). */
		if ((nr == KD_IA32_EXECVE || nr == KD_IA32_EXECVEAT) && kd_compat(regs))
			kd_exec_forget();
#endif
		return 0;
	}
	if (kd_compat(regs)) {
		/* Not reported; on arm64 this may be the exit of an exec into
		 * an AArch32 program, which keeps the arm64 number. */
		kd_exec_forget();
		return 0;
	}
	type = f->exit;
	switch (type) {
	case KD_EV_EXECVE_X:
	case KD_EV_EXECVEAT_X:
		type = kd_exec_exit_type(type);
		np = KD_NP_EXECVE_X;
		break;
	case KD_EV_OPEN_X:
	case KD_EV_OPENAT_X:
	case KD_EV_OPENAT2_X:
		np = KD_NP_OPEN_X;
		break;
	case KD_EV_CONNECT_X:
		np = KD_NP_CONNECT_X;
		break;
	case KD_EV_ACCEPT_X:
	case KD_EV_ACCEPT4_X:
		np = KD_NP_ACCEPT_X;
		break;
	case KD_EV_CLONE_X:
	case KD_EV_CLONE3_X:
	case KD_EV_FORK_X:
	case KD_EV_VFORK_X:
		np = KD_NP_CLONE_X;
		break;
	case KD_EV_CLOSE_X:
		np = KD_NP_CLOSE_X;
		break;
	case KD_EV_UNLINKAT_X:
		np = KD_NP_UNLINKAT_X;
		break;
	case KD_EV_RENAMEAT2_X:
		np = KD_NP_RENAMEAT2_X;
		break;
	default:
		return 0;
	}
	if (kd_begin(&b, type, np))
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
	kd_submit(&b);
	return 0;
}

static __always_inline int kd_on_procexit(struct task_struct *task)
{
	struct kd_buf b;
	__s64 status;

	/* The last thread of a process: an exec entry whose exit never came
	 * goes with it (signal->live is decremented before this tracepoint). */
	if (BPF_CORE_READ(task, signal, live.counter) == 0) {
		__u32 tgid = BPF_CORE_READ(task, tgid);

		bpf_map_delete_elem(&exec_pending, &tgid);
	}
	if (!kd_procexit_enabled)
		return 0;
	if (kd_begin(&b, KD_EV_PROCEXIT, KD_NP_PROCEXIT))
		return 0;
	status = BPF_CORE_READ(task, exit_code);
	kd_u64(&b, status);
	kd_u64(&b, (status >> 8) & 0xff);
	kd_u64(&b, status & 0x7f);
	kd_submit(&b);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(kd_sys_enter_btf, struct pt_regs *regs, long id)
{
	return kd_on_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(kd_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return kd_on_exit(regs, ret);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kd_proc_exit_btf, struct task_struct *task)
{
	return kd_on_procexit(task);
}

SEC("raw_tracepoint/sys_enter")
int BPF_PROG(kd_sys_enter_raw, struct pt_regs *regs, long id)
{
	return kd_on_enter(regs, id);
}

SEC("raw_tracepoint/sys_exit")
int BPF_PROG(kd_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return kd_on_exit(regs, ret);
}

SEC("raw_tracepoint/sched_process_exit")
int BPF_PROG(kd_proc_exit_raw, struct task_struct *task)
{
	return kd_on_procexit(task);
}
