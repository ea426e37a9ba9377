// SPDX-License-Identifier: GPL-2.0-only
/*
 * kdriver kernel module: per-CPU rings and the misc device that maps them.
 *
 * Each ring's data pages are vmapped twice back to back, in the kernel and
 * in the reader's mapping, so neither side ever splits an event at the
 * ring's end. One producer per CPU (probes run with preemption disabled),
 * one reader per ring: head is published with a release store after the
 * event is written, tail is read with an acquire load before the space is
 * reused.
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include "kd_internal.h"

static struct kd_ring *kd_rings;	/* nr_cpu_ids entries */
static unsigned long kd_size;		/* data bytes per ring */
static atomic_t kd_open_count = ATOMIC_INIT(0);
static DEFINE_MUTEX(kd_ioctl_lock);

unsigned long kd_buf_size(void)
{
	return kd_size;
}

struct kd_ring *kd_ring_cpu(int cpu)
{
	return &kd_rings[cpu];
}

static void kd_ring_free(struct kd_ring *r)
{
	unsigned long i;

	if (r->data)
		vunmap(r->data);
	if (r->pages) {
		for (i = 0; i < r->npages; i++)
			if (r->pages[i])
				__free_page(r->pages[i]);
		kvfree(r->pages);
	}
	if (r->info_page)
		__free_page(r->info_page);
	vfree(r->scratch);
	memset(r, 0, sizeof(*r));
}

static int kd_ring_alloc(struct kd_ring *r, int cpu, unsigned long size)
{
	struct page **twice;
	unsigned long i;

	r->npages = size >> PAGE_SHIFT;
	r->info_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	/* kvmalloc_array (4.12) rather than kvcalloc (4.18): 4.14 is supported */
	r->pages = kvmalloc_array(r->npages, sizeof(*r->pages), GFP_KERNEL | __GFP_ZERO);
	r->scratch = vmalloc(KD_MAX_EVENT_LEN);
	if (!r->info_page || !r->pages || !r->scratch)
		return -ENOMEM;
	for (i = 0; i < r->npages; i++) {
		r->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!r->pages[i])
			return -ENOMEM;
	}
	twice = kvmalloc_array(2 * r->npages, sizeof(*twice), GFP_KERNEL);
	if (!twice)
		return -ENOMEM;
	for (i = 0; i < 2 * r->npages; i++)
		twice[i] = r->pages[i % r->npages];
	r->data = vmap(twice, 2 * r->npages, VM_MAP, PAGE_KERNEL);
	kvfree(twice);
	if (!r->data)
		return -ENOMEM;
	r->info = page_address(r->info_page);
	r->info->buf_size = size;
	r->info->cpu = cpu;
	return 0;
}

int kd_rings_alloc(unsigned long size)
{
	int cpu, err;

	kd_rings = kcalloc(nr_cpu_ids, sizeof(*kd_rings), GFP_KERNEL);
	if (!kd_rings)
		return -ENOMEM;
	kd_size = size;
	for_each_possible_cpu(cpu) {
		err = kd_ring_alloc(&kd_rings[cpu], cpu, size);
		if (err) {
			kd_rings_free();
			return err;
		}
	}
	return 0;
}

void kd_rings_free(void)
{
	int cpu;

	if (!kd_rings)
		return;
	for_each_possible_cpu(cpu)
		kd_ring_free(&kd_rings[cpu]);
	kfree(kd_rings);
	kd_rings = NULL;
}

/* Called with capture stopped: no producer runs. */
void kd_rings_reset(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kd_ring_info *info = kd_rings[cpu].info;

		info->events = 0;
		info->drops = 0;
		info->drops_fault = 0;
		smp_store_release(&info->tail, 0);
		smp_store_release(&info->head, 0);
	}
}

int kd_ring_commit(struct kd_ring *r, const void *ev, u32 len)
{
	struct kd_ring_info *info = r->info;
	u64 head = info->head;
	u64 tail = smp_load_acquire(&info->tail);
	u32 rec = ALIGN(len, KD_RECORD_ALIGN);

	if (head - tail > kd_size || kd_size - (head - tail) < rec) {
		info->drops++;
		return -ENOSPC;
	}
	memcpy(r->data + (head & (kd_size - 1)), ev, len);
	info->events++;
	smp_store_release(&info->head, head + rec);
	return 0;
}

static int kd_open(struct inode *inode, struct file *f)
{
	if (atomic_cmpxchg(&kd_open_count, 0, 1) != 0)
		return -EBUSY;
	return 0;
}

static int kd_release(struct inode *inode, struct file *f)
{
	mutex_lock(&kd_ioctl_lock);
	kd_capture_stop();
	kd_mask_reset();
	mutex_unlock(&kd_ioctl_lock);
	atomic_set(&kd_open_count, 0);
	return 0;
}

static const struct vm_operations_struct kd_vm_ops = {};

static unsigned long kd_span(void)
{
	return PAGE_SIZE + 2 * kd_size;
}

static int kd_mmap(struct file *f, struct vm_area_struct *vma)
{
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long addr = vma->vm_start, i;
	struct kd_ring *r;
	unsigned int cpu;
	int err;

	if (len != kd_span() || off % kd_span())
		return -EINVAL;
	cpu = off / kd_span();
	if (cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	r = &kd_rings[cpu];
	/* A mapping with vm_ops is not anonymous: no page is ever faulted in. */
	vma->vm_ops = &kd_vm_ops;
	err = vm_insert_page(vma, addr, r->info_page);
	for (i = 0; !err && i < 2 * r->npages; i++) {
		addr += PAGE_SIZE;
		err = vm_insert_page(vma, addr, r->pages[i % r->npages]);
	}
	return err;
}

static long kd_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long err = 0;

	switch (cmd) {
	case KD_IOC_API_VERSION: {
		struct kd_version v = {
			.major = KD_API_VERSION_MAJOR,
			.minor = KD_API_VERSION_MINOR,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case KD_IOC_SCHEMA_VERSION: {
		__u32 v = KD_SCHEMA_VERSION;

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case KD_IOC_GEOMETRY: {
		struct kd_geometry g = {
			.ncpus = nr_cpu_ids,
			.info_size = PAGE_SIZE,
			.buf_size = kd_size,
			.span = kd_span(),
		};
		int cpu;

		for_each_possible_cpu(cpu)
			if (cpu < 64 * ARRAY_SIZE(g.possible))
				g.possible[cpu / 64] |= 1ULL << (cpu % 64);
		return copy_to_user(uarg, &g, sizeof(g)) ? -EFAULT : 0;
	}
	case KD_IOC_SET_MASK: {
		struct kd_mask m;

		if (copy_from_user(&m, uarg, sizeof(m)))
			return -EFAULT;
		kd_set_mask(&m);
		return 0;
	}
	case KD_IOC_START:
		mutex_lock(&kd_ioctl_lock);
		err = kd_capture_start();
		mutex_unlock(&kd_ioctl_lock);
		return err;
	case KD_IOC_STOP:
		mutex_lock(&kd_ioctl_lock);
		kd_capture_stop();
		mutex_unlock(&kd_ioctl_lock);
		return 0;
	}
	return -ENOTTY;
}

static const struct file_operations kd_fops = {
	.owner = THIS_MODULE,
	.open = kd_open,
	.release = kd_release,
	.mmap = kd_mmap,
	.unlocked_ioctl = kd_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kd_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KD_DEVICE_NAME,
	.fops = &kd_fops,
	.mode = 0600,
};

int kd_dev_register(void)
{
	return misc_register(&kd_misc);
}

void kd_dev_unregister(void)
{
	misc_deregister(&kd_misc);
}
