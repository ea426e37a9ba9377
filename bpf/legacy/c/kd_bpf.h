/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * BPF helpers and map definitions for the legacy probe, declared from the
 * target kernel's own uapi/linux/bpf.h (enum bpf_func_id), so a helper the
 * kernel lacks does not compile instead of failing at load. Names carry a
 * kd_ prefix: the kernel headers this file is compiled with declare their
 * own bpf_* symbols.
 */
#ifndef KD_BPF_H
#define KD_BPF_H

#include <linux/version.h>
#include <uapi/linux/bpf.h>

#define SEC(name)	__attribute__((section(name), used))
#define KD_INLINE	static __attribute__((always_inline)) inline

/*
 * Maps in the "maps" section (struct bpf_map_def layout): the object
 * carries no BTF, since the kernels this probe is for may have none.
 */
struct kd_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

#define KD_MAP(name, t, k, v, n) \
	struct kd_map_def SEC("maps") name = { \
		.type = t, .key_size = sizeof(k), .value_size = sizeof(v), .max_entries = n }

static void *(*kd_map_lookup_elem)(void *map, const void *key) =
	(void *)BPF_FUNC_map_lookup_elem;
static long (*kd_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) =
	(void *)BPF_FUNC_map_update_elem;
static long (*kd_map_delete_elem)(void *map, const void *key) =
	(void *)BPF_FUNC_map_delete_elem;
static __u64 (*kd_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*kd_get_current_comm)(void *buf, __u32 size) = (void *)BPF_FUNC_get_current_comm;
static __u32 (*kd_get_smp_processor_id)(void) = (void *)BPF_FUNC_get_smp_processor_id;
static __u64 (*kd_get_current_task)(void) = (void *)BPF_FUNC_get_current_task;
static long (*kd_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) =
	(void *)BPF_FUNC_perf_event_output;

/*
 * Boot time came with 5.8 (bpf_ktime_get_boot_ns); before, the monotonic
 * clock is the closest (it stops during suspend).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 8, 0)
static __u64 (*kd_ktime_ns)(void) = (void *)BPF_FUNC_ktime_get_boot_ns;
#else
static __u64 (*kd_ktime_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
#endif

/*
 * 5.5 split bpf_probe_read{,_str} into _kernel and _user variants; x86 and
 * arm64 keep the old ones, but newer kernels may refuse them under lockdown.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 5, 0)
static long (*kd_read_kernel)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_kernel;
static long (*kd_read_user)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_user;
static long (*kd_read_user_str)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_user_str;
#else
static long (*kd_read_kernel)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read;
static long (*kd_read_user)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read;
static long (*kd_read_user_str)(void *dst, __u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_str;
#endif

#endif /* KD_BPF_H */
