// SPDX-License-Identifier: GPL-2.0-only
/*
 * kdriver kernel module: finds the sys_enter, sys_exit and
 * sched_process_exit tracepoints, turns the syscalls kdriver knows into
 * events of the shared format (events/c/kd_event.h) and writes them into
 * per-CPU rings that /dev/kdriver maps (kd_ring.c).
 */
#include <linux/bitmap.h>
#include <linux/compat.h>
#include <linux/fcntl.h>
#include <linux/log2.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include "kd_internal.h"

#ifndef KD_DRIVER_VERSION
#define KD_DRIVER_VERSION "0.0.0-dev"
#endif

static unsigned long buf_size = 2 * 1024 * 1024;
module_param(buf_size, ulong, 0444);
MODULE_PARM_DESC(buf_size, "ring bytes per CPU: a power of two, at least 64 KiB");

static struct tracepoint *kd_tp_enter, *kd_tp_exit, *kd_tp_procexit;
static bool kd_capturing;
static unsigned long kd_mask[BITS_TO_LONGS(KD_SYSCALL_MASK_BITS)];

/* kd_arg reads syscall argument i from the saved user registers. */
static inline unsigned long kd_arg(const struct pt_regs *regs, int i)
{
#if defined(CONFIG_X86_64)
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	default: return regs->r9;
	}
#elif defined(CONFIG_ARM64)
	/* x0 holds the return value at exit; the first argument is saved */
	return i == 0 ? regs->orig_x0 : regs->regs[i];
#else
#error "kdriver supports x86_64 and arm64"
#endif
}

static inline s64 kd_int_arg(const struct pt_regs *regs, int i)
{
	return (s64)(int)kd_arg(regs, i);
}

static inline bool kd_wanted(long id)
{
	return id >= 0 && id < KD_SYSCALL_MASK_BITS && test_bit(id, kd_mask);
}

static void kd_emit(struct kd_evt *e, struct kd_ring *r)
{
	u32 len = kd_evt_finish(e);

	if (e->flags & KD_EF_PARAM_FAULT)
		r->info->drops_fault++;
	kd_ring_commit(r, e->buf, len);
}

static void kd_fill_enter(struct kd_evt *e, char *buf, struct pt_regs *regs,
			  long id)
{
	switch (id) {
	case __NR_execve:
		kd_evt_init(e, buf, KD_EV_EXECVE_E, KD_NP_EXECVE_E, current);
		kd_put_user_str(e, kd_arg(regs, 0), KD_MAX_PATH);
		kd_put_user_args(e, kd_arg(regs, 1));
		break;
#ifdef __NR_execveat
	case __NR_execveat:
		kd_evt_init(e, buf, KD_EV_EXECVEAT_E, KD_NP_EXECVEAT_E, current);
		kd_put_s64(e, kd_int_arg(regs, 0));
		kd_put_user_str(e, kd_arg(regs, 1), KD_MAX_PATH);
		kd_put_user_args(e, kd_arg(regs, 2));
		kd_put_u64(e, kd_arg(regs, 4));
		break;
#endif
	default:
		e->buf = NULL;
	}
}

/*
 * Syscall tracepoints became faultable after 6.12 (TRACE_EVENT_SYSCALL): their
 * probes may run preemptible. Every probe disables preemption itself, so the
 * per-CPU ring and scratch buffer stay its own on every kernel.
 */
static void kd_probe_enter(void *data, struct pt_regs *regs, long id)
{
	struct kd_ring *r;
	struct kd_evt e;

	if (!kd_wanted(id) || in_compat_syscall())
		return;
	if (id != __NR_execve
#ifdef __NR_execveat
	    && id != __NR_execveat
#endif
	   )
		return;
	preempt_disable();
	r = kd_ring_cpu(smp_processor_id());
	kd_fill_enter(&e, r->scratch, regs, id);
	if (e.buf)
		kd_emit(&e, r);
	preempt_enable();
}

static void kd_put_open(struct kd_evt *e, struct pt_regs *regs, long ret,
			s64 dirfd, int path)
{
	kd_put_s64(e, ret);
	kd_put_s64(e, dirfd);
	kd_put_user_str(e, kd_arg(regs, path), KD_MAX_PATH);
	kd_put_u64(e, kd_arg(regs, path + 1));
	kd_put_u64(e, kd_arg(regs, path + 2));
}

static void kd_put_accept(struct kd_evt *e, struct pt_regs *regs, long ret)
{
	int alen = 0;

	kd_put_s64(e, ret);
	kd_put_s64(e, kd_int_arg(regs, 0));
	if (ret >= 0 && kd_arg(regs, 1) && kd_arg(regs, 2) &&
	    !kd_read_user(&alen, kd_arg(regs, 2), sizeof(alen)) && alen > 0)
		kd_put_user_bytes(e, kd_arg(regs, 1), alen, KD_MAX_SOCKADDR);
	else
		kd_put_empty(e);
}

/* kd_fill_exit builds the exit event of syscall id; false: not ours. */
static bool kd_fill_exit(struct kd_evt *e, char *buf, struct pt_regs *regs,
			 long id, long ret)
{
	u64 v[2] = {0, 0};

	switch (id) {
	case __NR_execve:
		kd_evt_init(e, buf, KD_EV_EXECVE_X, KD_NP_EXECVE_X, current);
		kd_put_s64(e, ret);
		return true;
#ifdef __NR_execveat
	case __NR_execveat:
		kd_evt_init(e, buf, KD_EV_EXECVEAT_X, KD_NP_EXECVEAT_X, current);
		kd_put_s64(e, ret);
		return true;
#endif
#ifdef __NR_open
	case __NR_open:
		kd_evt_init(e, buf, KD_EV_OPEN_X, KD_NP_OPEN_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, AT_FDCWD);
		kd_put_user_str(e, kd_arg(regs, 0), KD_MAX_PATH);
		kd_put_u64(e, kd_arg(regs, 1));
		kd_put_u64(e, kd_arg(regs, 2));
		return true;
#endif
	case __NR_openat:
		kd_evt_init(e, buf, KD_EV_OPENAT_X, KD_NP_OPEN_X, current);
		kd_put_open(e, regs, ret, kd_int_arg(regs, 0), 1);
		return true;
#ifdef __NR_openat2
	case __NR_openat2:
		/* struct open_how starts with flags and mode (5.6) */
		kd_evt_init(e, buf, KD_EV_OPENAT2_X, KD_NP_OPEN_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, kd_int_arg(regs, 0));
		kd_put_user_str(e, kd_arg(regs, 1), KD_MAX_PATH);
		if (kd_arg(regs, 3) < sizeof(v) ||
		    kd_read_user(v, kd_arg(regs, 2), sizeof(v)))
			e->flags |= KD_EF_PARAM_FAULT;
		kd_put_u64(e, v[0]);
		kd_put_u64(e, v[1]);
		return true;
#endif
	case __NR_connect:
		kd_evt_init(e, buf, KD_EV_CONNECT_X, KD_NP_CONNECT_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, kd_int_arg(regs, 0));
		kd_put_user_bytes(e, kd_arg(regs, 1), (u32)kd_arg(regs, 2),
				  KD_MAX_SOCKADDR);
		return true;
#ifdef __NR_accept
	case __NR_accept:
		kd_evt_init(e, buf, KD_EV_ACCEPT_X, KD_NP_ACCEPT_X, current);
		kd_put_accept(e, regs, ret);
		kd_put_u64(e, 0);
		return true;
#endif
	case __NR_accept4:
		kd_evt_init(e, buf, KD_EV_ACCEPT4_X, KD_NP_ACCEPT_X, current);
		kd_put_accept(e, regs, ret);
		kd_put_u64(e, kd_arg(regs, 3));
		return true;
	case __NR_clone:
		kd_evt_init(e, buf, KD_EV_CLONE_X, KD_NP_CLONE_X, current);
		kd_put_s64(e, ret);
		kd_put_u64(e, kd_arg(regs, 0));
		return true;
#ifdef __NR_clone3
	case __NR_clone3:
		/* struct clone_args starts with flags (5.3) */
		kd_evt_init(e, buf, KD_EV_CLONE3_X, KD_NP_CLONE_X, current);
		kd_put_s64(e, ret);
		if (kd_read_user(v, kd_arg(regs, 0), sizeof(v[0])))
			e->flags |= KD_EF_PARAM_FAULT;
		kd_put_u64(e, v[0]);
		return true;
#endif
#ifdef __NR_fork
	case __NR_fork:
		kd_evt_init(e, buf, KD_EV_FORK_X, KD_NP_CLONE_X, current);
		kd_put_s64(e, ret);
		kd_put_u64(e, 0);
		return true;
#endif
#ifdef __NR_vfork
	case __NR_vfork:
		kd_evt_init(e, buf, KD_EV_VFORK_X, KD_NP_CLONE_X, current);
		kd_put_s64(e, ret);
		kd_put_u64(e, 0);
		return true;
#endif
	case __NR_close:
		kd_evt_init(e, buf, KD_EV_CLOSE_X, KD_NP_CLOSE_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, kd_int_arg(regs, 0));
		return true;
	case __NR_unlinkat:
		kd_evt_init(e, buf, KD_EV_UNLINKAT_X, KD_NP_UNLINKAT_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, kd_int_arg(regs, 0));
		kd_put_user_str(e, kd_arg(regs, 1), KD_MAX_PATH);
		kd_put_u64(e, kd_arg(regs, 2));
		return true;
	case __NR_renameat2:
		kd_evt_init(e, buf, KD_EV_RENAMEAT2_X, KD_NP_RENAMEAT2_X, current);
		kd_put_s64(e, ret);
		kd_put_s64(e, kd_int_arg(regs, 0));
		kd_put_user_str(e, kd_arg(regs, 1), KD_MAX_PATH);
		kd_put_s64(e, kd_int_arg(regs, 2));
		kd_put_user_str(e, kd_arg(regs, 3), KD_MAX_PATH);
		kd_put_u64(e, kd_arg(regs, 4));
		return true;
	}
	return false;
}

static void kd_probe_exit(void *data, struct pt_regs *regs, long ret)
{
	long id = syscall_get_nr(current, regs);
	struct kd_ring *r;
	struct kd_evt e;

	if (!kd_wanted(id) || in_compat_syscall())
		return;
	preempt_disable();
	r = kd_ring_cpu(smp_processor_id());
	if (kd_fill_exit(&e, r->scratch, regs, id, ret))
		kd_emit(&e, r);
	preempt_enable();
}

#ifdef KD_PROCESS_EXIT_GROUP_DEAD
/* sched_process_exit gained group_dead (7.x headers); see the Makefile probe */
static void kd_probe_procexit(void *data, struct task_struct *p, bool group_dead)
#else
static void kd_probe_procexit(void *data, struct task_struct *p)
#endif
{
	struct kd_ring *r;
	struct kd_evt e;
	int status = p->exit_code;

	preempt_disable();
	r = kd_ring_cpu(smp_processor_id());
	kd_evt_init(&e, r->scratch, KD_EV_PROCEXIT, KD_NP_PROCEXIT, p);
	kd_put_s64(&e, status);
	kd_put_s64(&e, (status >> 8) & 0xff);
	kd_put_s64(&e, status & 0x7f);
	kd_emit(&e, r);
	preempt_enable();
}

static void kd_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		kd_tp_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		kd_tp_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		kd_tp_procexit = tp;
}

void kd_set_mask(const struct kd_mask *m)
{
	int i;

	for (i = 0; i < KD_SYSCALL_MASK_BITS; i++) {
		if (m->bits[i / 64] & (1ULL << (i % 64)))
			set_bit(i, kd_mask);
		else
			clear_bit(i, kd_mask);
	}
}

/* Every reader starts with all syscalls; the mask is the reader's choice. */
void kd_mask_reset(void)
{
	bitmap_fill(kd_mask, KD_SYSCALL_MASK_BITS);
}

/* Called under the ioctl lock. */
int kd_capture_start(void)
{
	int err;

	if (kd_capturing)
		return 0;
	kd_rings_reset();
	err = tracepoint_probe_register(kd_tp_enter, kd_probe_enter, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(kd_tp_exit, kd_probe_exit, NULL);
	if (err)
		goto out_enter;
	err = tracepoint_probe_register(kd_tp_procexit, kd_probe_procexit, NULL);
	if (err)
		goto out_exit;
	kd_capturing = true;
	return 0;
out_exit:
	tracepoint_probe_unregister(kd_tp_exit, kd_probe_exit, NULL);
out_enter:
	tracepoint_probe_unregister(kd_tp_enter, kd_probe_enter, NULL);
	tracepoint_synchronize_unregister();
	return err;
}

/* Called under the ioctl lock. */
void kd_capture_stop(void)
{
	if (!kd_capturing)
		return;
	tracepoint_probe_unregister(kd_tp_procexit, kd_probe_procexit, NULL);
	tracepoint_probe_unregister(kd_tp_exit, kd_probe_exit, NULL);
	tracepoint_probe_unregister(kd_tp_enter, kd_probe_enter, NULL);
	/* no probe may still be writing when the reader resets the rings */
	tracepoint_synchronize_unregister();
	kd_capturing = false;
}

static int __init kd_init(void)
{
	int err;

	if (buf_size < 64 * 1024 || !is_power_of_2(buf_size) ||
	    buf_size > 256UL * 1024 * 1024) {
		pr_err("kdriver: buf_size %lu: want a power of two in [64 KiB, 256 MiB]\n",
		       buf_size);
		return -EINVAL;
	}
	for_each_kernel_tracepoint(kd_find_tp, NULL);
	if (!kd_tp_enter || !kd_tp_exit || !kd_tp_procexit) {
		pr_err("kdriver: tracepoints sys_enter, sys_exit, sched_process_exit not all found\n");
		return -ENOENT;
	}
	kd_mask_reset();
	err = kd_rings_alloc(buf_size);
	if (err)
		return err;
	err = kd_dev_register();
	if (err) {
		kd_rings_free();
		return err;
	}
	pr_info("kdriver: loaded, version %s, %lu bytes per CPU\n",
		KD_DRIVER_VERSION, buf_size);
	return 0;
}

static void __exit kd_exit(void)
{
	kd_dev_unregister();
	kd_rings_free();
	pr_info("kdriver: unloaded\n");
}

module_init(kd_init);
module_exit(kd_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kdriver authors");
MODULE_DESCRIPTION("kdriver syscall capture");
MODULE_VERSION(KD_DRIVER_VERSION);
MODULE_INFO(api_version, __stringify(KD_API_VERSION_MAJOR) "." __stringify(KD_API_VERSION_MINOR));
MODULE_INFO(schema_version, __stringify(KD_SCHEMA_VERSION));
