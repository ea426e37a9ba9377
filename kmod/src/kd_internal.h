/* SPDX-License-Identifier: GPL-2.0-only */
/* kdriver kernel module: declarations shared by its files. */
#ifndef KD_INTERNAL_H
#define KD_INTERNAL_H

#include <linux/types.h>
#include <linux/sched.h>
#include <linux/ptrace.h>
#include "kd_event.h"
#include "kd_ioctl.h"

/* One CPU's ring: info page and data pages, the data vmapped twice. */
struct kd_ring {
	struct page *info_page;
	struct kd_ring_info *info;
	struct page **pages;		/* npages data pages */
	unsigned long npages;
	char *data;			/* vmap of pages, twice: 2 * buf_size */
	char *scratch;			/* one event is built here first */
};

/* kd_ring.c */
int kd_rings_alloc(unsigned long buf_size);
void kd_rings_free(void);
void kd_rings_reset(void);
struct kd_ring *kd_ring_cpu(int cpu);
int kd_ring_commit(struct kd_ring *r, const void *ev, u32 len);
int kd_dev_register(void);
void kd_dev_unregister(void);
unsigned long kd_buf_size(void);

/* kd_main.c */
int kd_capture_start(void);
void kd_capture_stop(void);
void kd_set_mask(const struct kd_mask *m);
void kd_mask_reset(void);

/* kd_fill.c: build one event in a scratch buffer */
struct kd_evt {
	char *buf;		/* KD_MAX_EVENT_LEN bytes */
	u32 len;		/* bytes used so far */
	u16 np;			/* parameters written */
	u16 np_max;		/* parameters declared in the header */
	u32 flags;
};

void kd_evt_init(struct kd_evt *e, char *buf, u16 type, u16 nparams,
		 struct task_struct *task);
void kd_put_s64(struct kd_evt *e, s64 v);
void kd_put_u64(struct kd_evt *e, u64 v);
void kd_put_empty(struct kd_evt *e);
void kd_put_user_str(struct kd_evt *e, unsigned long uptr, u32 max);
void kd_put_user_args(struct kd_evt *e, unsigned long uargv);
void kd_put_user_bytes(struct kd_evt *e, unsigned long uptr, u32 len, u32 max);
int kd_read_user(void *dst, unsigned long uptr, size_t len);
u32 kd_evt_finish(struct kd_evt *e);

#endif /* KD_INTERNAL_H */
