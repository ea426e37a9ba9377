// SPDX-License-Identifier: GPL-2.0-only
/*
 * kdriver kernel module: building one event in the shared format. Every
 * read of user memory here is non-faulting: probes run with preemption
 * disabled, and a pointer that is not mapped yields an empty parameter and
 * KD_EF_PARAM_FAULT instead of a sleep.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include "kd_internal.h"

static inline u64 kd_now(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 3, 0)
	return ktime_get_boottime_ns();
#else
	/* 5.3 renamed ktime_get_boot_ns() to ktime_get_boottime_ns() */
	return ktime_get_boot_ns();
#endif
}

void kd_evt_init(struct kd_evt *e, char *buf, u16 type, u16 nparams,
		 struct task_struct *task)
{
	struct kd_evt_hdr *h = (struct kd_evt_hdr *)buf;

	memset(h, 0, sizeof(*h));
	h->ts_ns = kd_now();
	h->tid = task->pid;
	h->pid = task->tgid;
	h->type = type;
	h->nparams = nparams;
	h->cpu = smp_processor_id();
	memcpy(h->comm, task->comm, min_t(size_t, sizeof(h->comm), sizeof(task->comm)));
	h->comm[KD_COMM_LEN - 1] = '\0';
	e->buf = buf;
	e->np = 0;
	e->np_max = nparams;
	e->flags = 0;
	e->len = KD_HDR_LEN + 2 * nparams;
}

static inline void kd_set_len(struct kd_evt *e, u32 n)
{
	__u16 *lens = (__u16 *)(e->buf + KD_HDR_LEN);

	lens[e->np++] = n;
	e->len += n;
}

static inline u32 kd_room(const struct kd_evt *e)
{
	return KD_MAX_EVENT_LEN - e->len;
}

void kd_put_u64(struct kd_evt *e, u64 v)
{
	if (WARN_ON_ONCE(e->np >= e->np_max || kd_room(e) < 8))
		return;
	memcpy(e->buf + e->len, &v, 8);
	kd_set_len(e, 8);
}

void kd_put_s64(struct kd_evt *e, s64 v)
{
	kd_put_u64(e, (u64)v);
}

void kd_put_empty(struct kd_evt *e)
{
	if (WARN_ON_ONCE(e->np >= e->np_max))
		return;
	kd_set_len(e, 0);
}

int kd_read_user(void *dst, unsigned long uptr, size_t len)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 8, 0)
	/* 5.8 added copy_from_user_nofault() (was probe_user_read()) */
	return copy_from_user_nofault(dst, (const void __user *)uptr, len);
#else
	unsigned long left;

	pagefault_disable();
	left = copy_from_user(dst, (const void __user *)uptr, len);
	pagefault_enable();
	return left ? -EFAULT : 0;
#endif
}

/*
 * kd_strncpy copies a user string; returns its length with the NUL.
 * strncpy_from_user_nofault() is not exported to modules, so fault handling
 * is turned off around strncpy_from_user(), which then fails with -EFAULT
 * instead of sleeping on a page that is not present.
 */
static long kd_strncpy(char *dst, unsigned long uptr, long max)
{
	long n;

	pagefault_disable();
	n = strncpy_from_user(dst, (const char __user *)uptr, max);
	pagefault_enable();
	if (n < 0)
		return n;
	if (n >= max) {
		dst[max - 1] = '\0';
		return max;
	}
	return n + 1;
}

void kd_put_user_str(struct kd_evt *e, unsigned long uptr, u32 max)
{
	long n;

	if (WARN_ON_ONCE(e->np >= e->np_max))
		return;
	max = min(max, kd_room(e));
	if (!uptr || max == 0) {
		kd_set_len(e, 0);
		return;
	}
	n = kd_strncpy(e->buf + e->len, uptr, max);
	if (n < 0) {
		e->flags |= KD_EF_PARAM_FAULT;
		n = 0;
	} else if (n == max) {
		e->flags |= KD_EF_TRUNCATED;
	}
	kd_set_len(e, n);
}

void kd_put_user_args(struct kd_evt *e, unsigned long uargv)
{
	u32 max, used = 0;
	char *dst;
	int i;

	if (WARN_ON_ONCE(e->np >= e->np_max))
		return;
	max = min_t(u32, KD_MAX_ARGV, kd_room(e));
	dst = e->buf + e->len;
	for (i = 0; uargv && used < max; i++) {
		unsigned long p;
		long n;

		if (kd_read_user(&p, uargv + i * sizeof(p), sizeof(p))) {
			e->flags |= KD_EF_PARAM_FAULT;
			break;
		}
		if (!p)
			break;
		n = kd_strncpy(dst + used, p, max - used);
		if (n < 0) {
			e->flags |= KD_EF_PARAM_FAULT;
			break;
		}
		used += n;
		if (used == max) {
			e->flags |= KD_EF_TRUNCATED;
			break;
		}
	}
	kd_set_len(e, used);
}

void kd_put_user_bytes(struct kd_evt *e, unsigned long uptr, u32 len, u32 max)
{
	if (WARN_ON_ONCE(e->np >= e->np_max))
		return;
	if (len > max) {
		len = max;
		e->flags |= KD_EF_TRUNCATED;
	}
	len = min(len, kd_room(e));
	if (!uptr || !len) {
		kd_set_len(e, 0);
		return;
	}
	if (kd_read_user(e->buf + e->len, uptr, len)) {
		e->flags |= KD_EF_PARAM_FAULT;
		len = 0;
	}
	kd_set_len(e, len);
}

/* kd_evt_finish fills the remaining header fields; returns the length. */
u32 kd_evt_finish(struct kd_evt *e)
{
	struct kd_evt_hdr *h = (struct kd_evt_hdr *)e->buf;

	while (e->np < e->np_max)
		kd_put_empty(e);
	h->len = e->len;
	h->flags = e->flags;
	return e->len;
}
