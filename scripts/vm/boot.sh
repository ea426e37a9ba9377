#!/bin/bash
# boot.sh ARCH VMLINUZ INITRD LOG: boot a TCG guest without network, its
# console into LOG; gives up after ${KDRIVER_VM_TIMEOUT:-600} seconds.
#
# TCG runs single-threaded by default (KDRIVER_VM_TCG_THREAD=multi to change):
# with multi-threaded TCG, the guest kernel's live patching of the syscall
# tracepoints' static branches was not always seen by the other vCPU (stale
# translated code): "Oops: int3" in syscall_exit_to_user_mode_prepare on
# 6.12 x86_64, and sys_exit probes silently not called on one vCPU on arm64,
# both during 20 register/unregister cycles. Single-threaded TCG keeps two
# vCPUs (preempted in turn) and was also faster on this 2-core host.
set -euo pipefail
arch=${1:?usage: boot.sh ARCH VMLINUZ INITRD LOG}
kernel=$2
initrd=$3
log=$4
common=(-accel "tcg,thread=${KDRIVER_VM_TCG_THREAD:-single}" -m 1024 -smp 2 -nic none -nographic -no-reboot
	-kernel "$kernel" -initrd "$initrd")
append="rdinit=/init panic=-1 loglevel=${KDRIVER_VM_LOGLEVEL:-4} nokaslr"
case $arch in
amd64)
	# no_timer_check: on a loaded host the emulated 8254 ticks too slowly
	# for the kernel's IO-APIC timer check, which then panics at boot
	# ("IO-APIC + timer doesn't work!", seen with trixie's 6.12 at load 12)
	cmd=(qemu-system-x86_64 "${common[@]}" -cpu max -append "console=ttyS0 no_timer_check $append") ;;
arm64)
	cmd=(qemu-system-aarch64 -M virt -cpu cortex-a57 "${common[@]}" -append "console=ttyAMA0 $append") ;;
*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
esac
timeout --foreground -k 10 "${KDRIVER_VM_TIMEOUT:-600}" "${cmd[@]}" </dev/null >"$log" 2>&1
