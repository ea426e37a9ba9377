// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * kdriver modern eBPF probe: CO-RE programs on raw_syscalls:sys_enter,
 * raw_syscalls:sys_exit and sched:sched_process_exit that emit the events of
 * events/c/kd_event.h into BPF ring buffers.
 *
 * Each program exists twice: as tp_btf (BTF-typed raw tracepoint, 5.5+) and
 * as a plain raw tracepoint (4.17+); the Go loader tries tp_btf first and
 * falls back by trying to attach. Both receive the same (regs, id|ret) pair.
 * The exec entries (the only entry events) come from the first of three
 * that loads: fentry on the exec syscalls' functions, the kernel's
 * syscalls:sys_enter_execve(at) tracepoints, the sys_enter program.
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
/* Wake the reader once a CPU has written this many bytes since its last
 * wakeup; below it the reader finds the events on its next poll (a wakeup
 * per event would cost more than the event itself). The loader sets it to
 * the buffer's wakeup threshold divided by the CPUs sharing the buffer.
 * 0: the kernel's adaptive wakeup. */
volatile const __u64 kd_wakeup_bytes = 0;

struct kd_filter {
	__u16 enter;	/* event type at entry, 0: none */
	__u16 exit;	/* event type at exit, 0: none */
};

struct kd_counters {
	__u64 events;	/* events written to a ring buffer */
	__u64 drops;	/* events lost: buffer full or missing */
	__u64 lost;	/* exec exits typed without their entry (see exec_pending) */
	__u64 unwoken;	/* bytes this CPU wrote since it last woke the reader (kd_wake) */
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

/*
 * Register and task reads. The tp_btf programs pass btf = 1: their
 * arguments are BTF-typed pointers the verifier lets them load from
 * directly (a plain load), where a raw tracepoint program must call
 * bpf_probe_read_kernel for each field. btf is a constant at every call
 * (each program inlines its own copy), so each program keeps one way only.
 */
#define KD_RD(btf, p, field)	((btf) ? (p)->field : BPF_CORE_READ(p, field))

static __always_inline unsigned long kd_arg(const int btf, struct pt_regs *regs, int i)
{
#if defined(__TARGET_ARCH_arm64)
	struct pt_regs___kd_arm64 *r = (void *)regs;

	switch (i) {
	case 0: return KD_RD(btf, r, orig_x0);
	case 1: return KD_RD(btf, r, regs[1]);
	case 2: return KD_RD(btf, r, regs[2]);
	case 3: return KD_RD(btf, r, regs[3]);
	default: return KD_RD(btf, r, regs[4]);
	}
#else
	struct pt_regs___kd_x86 *r = (void *)regs;

	switch (i) {
	case 0: return KD_RD(btf, r, di);
	case 1: return KD_RD(btf, r, si);
	case 2: return KD_RD(btf, r, dx);
	case 3: return KD_RD(btf, r, r10);
	default: return KD_RD(btf, r, r8);
	}
#endif
}

static __always_inline long kd_syscall_nr(const int btf, struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return KD_RD(btf, (struct pt_regs___kd_arm64 *)regs, syscallno);
#else
	return KD_RD(btf, (struct pt_regs___kd_x86 *)regs, orig_ax);
#endif
}

/*
 * The current task, fetched once per event and passed to what reads it
 * (compat check, header, comm): with btf a BTF pointer (5.11+) the
 * program loads from directly, else an address for bpf_probe_read_kernel.
 */
static __always_inline struct task_struct *kd_task(const int btf)
{
	if (btf)
		return bpf_get_current_task_btf();
#if defined(__TARGET_ARCH_arm64)
	return NULL;	/* raw mode on arm64 reads nothing through it */
#else
	return (void *)bpf_get_current_task();
#endif
}

/*
 * A 32-bit compat syscall (ia32 on x86_64, AArch32 on arm64): its number
 * is another table's (ia32 read is 3, x86_64 close), so it is not
 * reported, as the module (in_compat_syscall) and the tracer (the audit
 * arch) do not report it.
 */
static __always_inline bool kd_compat(const int btf, struct pt_regs *regs, struct task_struct *task)
{
#if defined(__TARGET_ARCH_arm64)
	return KD_RD(btf, (struct pt_regs___kd_arm64 *)regs, pstate) & KD_PSR_MODE32_BIT;
#else
	struct task_struct___kd_x86 *t = (void *)task;

	if (!bpf_core_field_exists(t->thread_info.status))
		return false;
	return KD_RD(btf, t, thread_info.status) & KD_TS_COMPAT;
#endif
}

/* Event under construction in the per-CPU scratch area. */
struct kd_buf {
	__u8 *data;
	__u32 off;	/* where the next parameter goes */
	__u32 np;	/* parameters written so far */
	__u32 flags;
};

/* x with its bytes from the first NUL on cleared (little endian); *nul
 * tells whether it had one. The lowest flagged byte of the classic
 * has-zero-byte test is exact (borrows only flag bytes above it). */
static __always_inline __u64 kd_cut_at_nul(__u64 x, bool *nul)
{
	__u64 z = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;

	*nul = z != 0;
	return z ? x & (((z & -z) >> 7) - 1) : x;
}

/*
 * comm as bpf_get_current_comm writes it: the name up to its NUL, then
 * zeros (a kernel that set it with strlcpy may leave bytes of a longer
 * former name after the NUL). tp_btf programs read it with two plain
 * loads instead of the helper call.
 */
static __always_inline void kd_comm(const int btf, struct task_struct *t, char *dst)
{
	__u64 lo, hi;
	bool nul;

	if (!btf) {
		bpf_get_current_comm(dst, KD_COMM_LEN);
		return;
	}
	lo = kd_cut_at_nul(*(__u64 *)&t->comm[0], &nul);
	hi = nul ? 0 : kd_cut_at_nul(*(__u64 *)&t->comm[8], &nul);
	*(__u64 *)&dst[0] = lo;
	*(__u64 *)&dst[8] = hi;
}

/* The header fields every event shares; len and flags come at the end.
 * With btf, tid and pid are loaded from the task (what
 * bpf_get_current_pid_tgid returns, without the call). */
static __always_inline void kd_header(const int btf, struct task_struct *t, struct kd_evt_hdr *h,
				      __u16 type, __u16 nparams)
{
	h->ts_ns = bpf_ktime_get_boot_ns();
	if (btf) {
		h->tid = t->pid;
		h->pid = t->tgid;
	} else {
		__u64 id = bpf_get_current_pid_tgid();

		h->tid = (__u32)id;
		h->pid = id >> 32;
	}
	h->type = type;
	h->nparams = nparams;
	h->cpu = bpf_get_smp_processor_id();
	kd_comm(btf, t, h->comm);
}

static __always_inline int kd_begin(const int btf, struct task_struct *t, struct kd_buf *b,
				     __u16 type, __u16 nparams)
{
	__u32 zero = 0;

	b->data = bpf_map_lookup_elem(&scratch, &zero);
	if (!b->data)
		return -1;
	kd_header(btf, t, (void *)b->data, type, nparams);
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

	/* One 8-byte store: parameters are not 8-aligned (they follow
	 * 2 * nparams bytes of lengths), and the verifier allows unaligned
	 * map value and ring buffer access on the supported arches. */
	*(__u64 *)&b->data[off] = v;
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

static __always_inline __u64 kd_uu64(__u32 *flags, unsigned long uptr)
{
	__u64 v = 0;

	if (uptr && bpf_probe_read_user(&v, sizeof(v), (const void *)uptr) < 0)
		*flags |= KD_EF_PARAM_FAULT;
	return v;
}

/* This CPU's ring buffer and counters; NULL if either is missing (a drop
 * when only the buffer is: a CPU the loader allocated none for). */
static __always_inline void *kd_ring(struct kd_counters **cp)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	void *rb;

	*cp = bpf_map_lookup_elem(&counters, &zero);
	if (!*cp)
		return NULL;
	rb = bpf_map_lookup_elem(&ringbufs, &cpu);
	if (!rb)
		(*cp)->drops++;
	return rb;
}

/*
 * The wakeup flag for an event of len bytes (see kd_wakeup_bytes): the
 * event that takes this CPU's bytes since its last wakeup across the
 * threshold wakes the reader, the others do not. A count in the counters
 * this CPU already holds, where asking the buffer for its unread bytes
 * (bpf_ringbuf_query) cost a helper call per event. Waking on every event
 * would cost a self-interrupt (irq_work) per event whenever the reader was
 * slow to be scheduled. One wakeup per threshold is enough: the reader's
 * epoll is level triggered, so it never sleeps while data is unread, and
 * it polls every 10 ms when nothing wakes it.
 */
static __always_inline __u64 kd_wake(struct kd_counters *c, __u64 len)
{
	__u64 n;

	if (!kd_wakeup_bytes)
		return 0;
	n = c->unwoken + len;
	if (n < kd_wakeup_bytes) {
		c->unwoken = n;
		return BPF_RB_NO_WAKEUP;
	}
	c->unwoken = 0;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void kd_submit(struct kd_buf *b)
{
	struct kd_evt_hdr *h = (void *)b->data;
	struct kd_counters *c;
	__u64 len = b->off;
	__u64 wake;
	void *rb;

	rb = kd_ring(&c);
	if (!rb)
		return;
	if (len > KD_MAX_EVENT_LEN) {
		c->drops++;
		return;
	}
	h->len = len;
	h->flags = b->flags;
	wake = kd_wake(c, len);
	kd_bound(len, 32767);
	if (bpf_ringbuf_output(rb, b->data, len, wake))
		c->drops++;
	else
		c->events++;
}

/*
 * Events whose parameters are all 8-byte integers (close, clone, fork,
 * the exec exits, procexit) have a size known here: they are written in
 * place in the ring buffer (reserve, submit) instead of being built in the
 * scratch area and copied (output). p0..p2 are the first np parameters.
 */
static __always_inline void kd_emit_fixed(const int btf, struct task_struct *t, __u16 type,
					  const __u16 np, __u32 flags, __u64 p0, __u64 p1, __u64 p2)
{
	const __u32 len = KD_HDR_LEN + np * (sizeof(__u16) + sizeof(__u64));
	struct kd_counters *c;
	struct kd_evt_hdr *h;
	__u16 *lens;
	__u8 *e, *v;
	__u64 wake;
	void *rb;

	rb = kd_ring(&c);
	if (!rb)
		return;
	e = bpf_ringbuf_reserve(rb, len, 0);
	if (!e) {
		c->drops++;
		return;
	}
	wake = kd_wake(c, len);
	h = (void *)e;
	kd_header(btf, t, h, type, np);
	h->len = len;
	h->flags = flags;
	lens = (void *)(e + KD_HDR_LEN);
	v = e + KD_HDR_LEN + 2 * np;
	lens[0] = sizeof(__u64);
	*(__u64 *)v = p0;
	if (np > 1) {
		lens[1] = sizeof(__u64);
		*(__u64 *)(v + 8) = p1;
	}
	if (np > 2) {
		lens[2] = sizeof(__u64);
		*(__u64 *)(v + 16) = p2;
	}
	bpf_ringbuf_submit(e, wake);
	c->events++;
}

/* fd-like int arguments: the register may hold a zero-extended int. */
static __always_inline __s64 kd_int(unsigned long v)
{
	return (__s64)(__s32)v;
}

/* The arguments of a syscall entry, from the saved registers or from a
 * syscall tracepoint's record. */
struct kd_args {
	unsigned long a[5];
};

/*
 * An exec entry (the only entry events). t and the header are read the
 * btf way or the helper way (kd_header); compat syscalls were left out by
 * the caller.
 */
static __always_inline int kd_enter(const int btf, struct task_struct *t, __u16 type,
				    const struct kd_args *a)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct kd_buf b;

	if (type != KD_EV_EXECVE_E && type != KD_EV_EXECVEAT_E)
		return 0;
	bpf_map_update_elem(&exec_pending, &tgid, &type, BPF_ANY);
	if (type == KD_EV_EXECVE_E) {
		if (kd_begin(btf, t, &b, KD_EV_EXECVE_E, KD_NP_EXECVE_E))
			return 0;
		kd_ustr(&b, a->a[0], KD_MAX_PATH);
		kd_uargv(&b, a->a[1]);
	} else {
		if (kd_begin(btf, t, &b, KD_EV_EXECVEAT_E, KD_NP_EXECVEAT_E))
			return 0;
		kd_u64(&b, kd_int(a->a[0]));
		kd_ustr(&b, a->a[1], KD_MAX_PATH);
		kd_uargv(&b, a->a[2]);
		kd_u64(&b, (__u32)a->a[4]);
	}
	kd_submit(&b);
	return 0;
}

static __always_inline struct kd_filter *kd_filter_of(long id)
{
	__u32 nr;

	if (id < 0 || id >= KD_SYSCALL_MAX)
		return NULL;
	nr = id;
	return bpf_map_lookup_elem(&syscall_filter, &nr);
}

/* sys_enter, or fentry on the exec syscalls' functions: the registers as
 * the syscall entry saved them. */
static __always_inline int kd_on_enter(const int btf, struct pt_regs *regs, long id)
{
	struct kd_filter *f = kd_filter_of(id);
	struct task_struct *t;
	struct kd_args a;
	int i;

	if (!f || !f->enter)
		return 0;
	t = kd_task(btf);
	if (kd_compat(btf, regs, t))
		return 0;
	for (i = 0; i < 5; i++)
		a.a[i] = kd_arg(btf, regs, i);
	return kd_enter(btf, t, f->enter, &a);
}

static __always_inline void kd_open_x(const int btf, struct kd_buf *b, struct pt_regs *regs, __u16 type)
{
	unsigned long how;

	switch (type) {
	case KD_EV_OPEN_X:
		kd_u64(b, KD_AT_FDCWD);
		kd_ustr(b, kd_arg(btf, regs, 0), KD_MAX_PATH);
		kd_u64(b, (__u32)kd_arg(btf, regs, 1));
		kd_u64(b, (__u32)kd_arg(btf, regs, 2));
		break;
	case KD_EV_OPENAT_X:
		kd_u64(b, kd_int(kd_arg(btf, regs, 0)));
		kd_ustr(b, kd_arg(btf, regs, 1), KD_MAX_PATH);
		kd_u64(b, (__u32)kd_arg(btf, regs, 2));
		kd_u64(b, (__u32)kd_arg(btf, regs, 3));
		break;
	default: /* openat2: struct open_how { u64 flags, mode, resolve; } */
		how = kd_arg(btf, regs, 2);
		kd_u64(b, kd_int(kd_arg(btf, regs, 0)));
		kd_ustr(b, kd_arg(btf, regs, 1), KD_MAX_PATH);
		kd_u64(b, kd_uu64(&b->flags, how));
		kd_u64(b, how ? kd_uu64(&b->flags, how + 8) : 0);
		break;
	}
}

static __always_inline void kd_accept_x(const int btf, struct kd_buf *b, struct pt_regs *regs, long ret, __u16 type)
{
	unsigned long lenp = kd_arg(btf, regs, 2);
	long alen = 0;

	kd_u64(b, kd_int(kd_arg(btf, regs, 0)));
	if (ret >= 0 && lenp) {
		__s32 l = 0;

		if (bpf_probe_read_user(&l, sizeof(l), (const void *)lenp) == 0)
			alen = l;
	}
	kd_usockaddr(b, kd_arg(btf, regs, 1), alen);
	kd_u64(b, type == KD_EV_ACCEPT4_X ? (__u32)kd_arg(btf, regs, 3) : 0);
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

static __always_inline int kd_on_exit(const int btf, struct pt_regs *regs, long ret)
{
	struct task_struct *t;
	struct kd_filter *f;
	struct kd_buf b;
	long id;
	__u32 nr;
	__u16 type;
	int np;

	id = kd_syscall_nr(btf, regs);
	if (id < 0 || id >= KD_SYSCALL_MAX)
		return 0;
	nr = id;
	f = bpf_map_lookup_elem(&syscall_filter, &nr);
	if (!f || !f->exit) {
#if !defined(__TARGET_ARCH_arm64)
		/* An exec into an ia32 program returns with the ia32 exec's
		 * number in orig_ax (x86_64 munmap and a free slot). */
		if ((nr == KD_IA32_EXECVE || nr == KD_IA32_EXECVEAT) && kd_compat(btf, regs, kd_task(btf)))
			kd_exec_forget();
#endif
		return 0;
	}
	t = kd_task(btf);
	if (kd_compat(btf, regs, t)) {
		/* Not reported; on arm64 this may be the exit of an exec into
		 * an AArch32 program, which keeps the arm64 number. */
		kd_exec_forget();
		return 0;
	}
	type = f->exit;
	switch (type) {
	case KD_EV_CLOSE_X:
		kd_emit_fixed(btf, t, type, KD_NP_CLOSE_X, 0, ret, kd_int(kd_arg(btf, regs, 0)), 0);
		return 0;
	case KD_EV_EXECVE_X:
	case KD_EV_EXECVEAT_X:
		kd_emit_fixed(btf, t, kd_exec_exit_type(type), KD_NP_EXECVE_X, 0, ret, 0, 0);
		return 0;
	case KD_EV_CLONE_X:
		kd_emit_fixed(btf, t, type, KD_NP_CLONE_X, 0, ret, kd_arg(btf, regs, 0), 0);
		return 0;
	case KD_EV_CLONE3_X: {
		__u32 flags = 0;
		__u64 cl = kd_uu64(&flags, kd_arg(btf, regs, 0));

		kd_emit_fixed(btf, t, type, KD_NP_CLONE_X, flags, ret, cl, 0);
		return 0;
	}
	case KD_EV_FORK_X:
	case KD_EV_VFORK_X:
		kd_emit_fixed(btf, t, type, KD_NP_CLONE_X, 0, ret, 0, 0);
		return 0;
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
	case KD_EV_UNLINKAT_X:
		np = KD_NP_UNLINKAT_X;
		break;
	case KD_EV_RENAMEAT2_X:
		np = KD_NP_RENAMEAT2_X;
		break;
	default:
		return 0;
	}
	if (kd_begin(btf, t, &b, type, np))
		return 0;
	kd_u64(&b, ret);
	switch (type) {
	case KD_EV_OPEN_X:
	case KD_EV_OPENAT_X:
	case KD_EV_OPENAT2_X:
		kd_open_x(btf, &b, regs, type);
		break;
	case KD_EV_CONNECT_X:
		kd_u64(&b, kd_int(kd_arg(btf, regs, 0)));
		kd_usockaddr(&b, kd_arg(btf, regs, 1), kd_int(kd_arg(btf, regs, 2)));
		break;
	case KD_EV_ACCEPT_X:
	case KD_EV_ACCEPT4_X:
		kd_accept_x(btf, &b, regs, ret, type);
		break;
	case KD_EV_UNLINKAT_X:
		kd_u64(&b, kd_int(kd_arg(btf, regs, 0)));
		kd_ustr(&b, kd_arg(btf, regs, 1), KD_MAX_PATH);
		kd_u64(&b, (__u32)kd_arg(btf, regs, 2));
		break;
	case KD_EV_RENAMEAT2_X:
		kd_u64(&b, kd_int(kd_arg(btf, regs, 0)));
		kd_ustr(&b, kd_arg(btf, regs, 1), KD_MAX_PATH);
		kd_u64(&b, kd_int(kd_arg(btf, regs, 2)));
		kd_ustr(&b, kd_arg(btf, regs, 3), KD_MAX_PATH);
		kd_u64(&b, (__u32)kd_arg(btf, regs, 4));
		break;
	}
	kd_submit(&b);
	return 0;
}

static __always_inline int kd_on_procexit(const int btf, struct task_struct *task)
{
	__s64 status;

	/* The last thread of a process: an exec entry whose exit never came
	 * goes with it (signal->live is decremented before this tracepoint). */
	if (BPF_CORE_READ(task, signal, live.counter) == 0) {
		__u32 tgid = BPF_CORE_READ(task, tgid);

		bpf_map_delete_elem(&exec_pending, &tgid);
	}
	if (!kd_procexit_enabled)
		return 0;
	status = BPF_CORE_READ(task, exit_code);
	kd_emit_fixed(btf, kd_task(btf), KD_EV_PROCEXIT, KD_NP_PROCEXIT, 0, status, (status >> 8) & 0xff, status & 0x7f);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(kd_sys_enter_btf, struct pt_regs *regs, long id)
{
	return kd_on_enter(1, regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(kd_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return kd_on_exit(1, regs, ret);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kd_proc_exit_btf, struct task_struct *task)
{
	return kd_on_procexit(1, task);
}

/*
 * Exec entries without a program on every syscall's entry: fentry on the
 * two syscalls' own functions runs for execve and execveat only, where a
 * sys_enter program runs for every syscall of every process (measured
 * 40-60 ns per syscall on a 2-CPU VM). Same context as sys_enter (after
 * seccomp, before the syscall's work, the registers as saved), and a
 * 32-bit exec enters other functions (__ia32_compat_sys_execve,
 * __arm64_compat_sys_execve). The loader falls back to the sys_enter
 * program when these do not load or attach (no trampolines on kernel
 * functions: arm64 before 6.4; no such function in the kernel's BTF).
 */
#if defined(__TARGET_ARCH_arm64)
#define KD_SYSCALL_FN(name)	"fentry/__arm64_sys_" #name
#else
#define KD_SYSCALL_FN(name)	"fentry/__x64_sys_" #name
#endif

SEC(KD_SYSCALL_FN(execve))
int BPF_PROG(kd_execve_fentry, struct pt_regs *regs)
{
	return kd_on_enter(1, regs, kd_syscall_nr(1, regs));
}

SEC(KD_SYSCALL_FN(execveat))
int BPF_PROG(kd_execveat_fentry, struct pt_regs *regs)
{
	return kd_on_enter(1, regs, kd_syscall_nr(1, regs));
}

/*
 * Exec entries where fentry is not there: the kernel's own per-syscall
 * tracepoints (syscalls:sys_enter_execve, sys_enter_execveat;
 * CONFIG_FTRACE_SYSCALLS). With them attached the kernel tests a bitmap at
 * each syscall's entry and runs these programs for the two exec syscalls
 * only, where a sys_enter program runs for every syscall. The record
 * carries the arguments as the entry saved them from offset 16 (the loader
 * checks the tracepoints' formats first); the syscall number before them
 * is not read (its offset moved on kernels with the realtime patches):
 * each program knows its syscall. The kernel leaves 32-bit (compat)
 * syscalls out of these tracepoints. The header is read with helpers
 * (btf 0): plain tracepoint programs get no BTF pointers.
 */
struct kd_syscall_enter_record {
	__u64 common;	/* common_type, common_flags, common_preempt_count, common_pid */
	__u64 nr;	/* __syscall_nr: not read */
	__u64 args[6];
};

/* nargs: how many the record has (execve 3, execveat 5); the kernel
 * refuses to attach a program that reads past its tracepoint's record. */
static __always_inline int kd_on_enter_tp(struct kd_syscall_enter_record *r, __u16 type, const int nargs)
{
	struct kd_args a = {};
	int i;

	for (i = 0; i < nargs && i < 5; i++)
		a.a[i] = r->args[i];
	return kd_enter(0, kd_task(0), type, &a);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int kd_execve_tp(struct kd_syscall_enter_record *r)
{
	return kd_on_enter_tp(r, KD_EV_EXECVE_E, 3);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int kd_execveat_tp(struct kd_syscall_enter_record *r)
{
	return kd_on_enter_tp(r, KD_EV_EXECVEAT_E, 5);
}

SEC("raw_tracepoint/sys_enter")
int BPF_PROG(kd_sys_enter_raw, struct pt_regs *regs, long id)
{
	return kd_on_enter(0, regs, id);
}

SEC("raw_tracepoint/sys_exit")
int BPF_PROG(kd_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return kd_on_exit(0, regs, ret);
}

SEC("raw_tracepoint/sched_process_exit")
int BPF_PROG(kd_proc_exit_raw, struct task_struct *task)
{
	return kd_on_procexit(0, task);
}
