#!/bin/bash
# boot.sh ARCH VMLINUZ INITRD LOG: boot a TCG guest without network, its
# console into LOG; gives up after ${KDRIVER_VM_TIMEOUT:-600} seconds.
set -euo pipefail
arch=${1:?usage: boot.sh ARCH VMLINUZ INITRD LOG}
kernel=$2
initrd=$3
log=$4
common=(-accel tcg -m 1024 -smp 2 -nic none -nographic -no-reboot
	-kernel "$kernel" -initrd "$initrd")
append="rdinit=/init panic=-1 loglevel=${KDRIVER_VM_LOGLEVEL:-4} nokaslr"
case $arch in
amd64)
	cmd=(qemu-system-x86_64 "${common[@]}" -cpu max -append "console=ttyS0 $append") ;;
arm64)
	cmd=(qemu-system-aarch64 -M virt -cpu cortex-a57 "${common[@]}" -append "console=ttyAMA0 $append") ;;
*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
esac
timeout --foreground -k 10 "${KDRIVER_VM_TIMEOUT:-600}" "${cmd[@]}" </dev/null >"$log" 2>&1
