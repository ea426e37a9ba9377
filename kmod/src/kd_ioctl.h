/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * kdriver kernel module: the user ABI of /dev/kdriver. Package kmod mirrors
 * every number here (kmod/abi.go); keep them in step.
 *
 * mmap: each possible CPU has one span of KD_INFO_SIZE + 2 * buf_size bytes
 * at offset cpu * span (the span from KD_IOC_GEOMETRY). The span starts with
 * struct kd_ring_info on its own page, then the data ring mapped twice back
 * to back, so an event that wraps around the ring's end is contiguous.
 * head and tail are byte counts that only grow; the ring position is
 * count % buf_size. Each event is stored padded to 8 bytes.
 */
#ifndef KD_IOCTL_H
#define KD_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KD_DEVICE_NAME		"kdriver"
#define KD_RECORD_ALIGN		8
#define KD_SYSCALL_MASK_BITS	1024

struct kd_version {
	__u32 major;
	__u32 minor;
};

struct kd_geometry {
	__u32 ncpus;		/* spans to map: nr_cpu_ids */
	__u32 info_size;	/* bytes before the data in each span */
	__u64 buf_size;		/* data ring bytes per CPU, a power of two */
	__u64 span;		/* bytes of one CPU's mmap span */
	__u64 possible[16];	/* bitmap of CPUs that have a ring */
};

struct kd_ring_info {
	__u64 head;		/* written by the kernel (release) */
	__u64 tail;		/* written by the reader (release) */
	__u64 events;		/* events written */
	__u64 drops;		/* events dropped: ring full */
	__u64 drops_fault;	/* events written with a parameter fault */
	__u64 buf_size;
	__u32 cpu;
	__u32 pad;
};

struct kd_mask {
	__u64 bits[KD_SYSCALL_MASK_BITS / 64];	/* bit n: capture syscall n */
};

#define KD_IOC_MAGIC		0xd7
#define KD_IOC_API_VERSION	_IOR(KD_IOC_MAGIC, 1, struct kd_version)
#define KD_IOC_SCHEMA_VERSION	_IOR(KD_IOC_MAGIC, 2, __u32)
#define KD_IOC_GEOMETRY		_IOR(KD_IOC_MAGIC, 3, struct kd_geometry)
#define KD_IOC_START		_IO(KD_IOC_MAGIC, 4)
#define KD_IOC_STOP		_IO(KD_IOC_MAGIC, 5)
#define KD_IOC_SET_MASK		_IOW(KD_IOC_MAGIC, 6, struct kd_mask)

#endif /* KD_IOCTL_H */
