#!/bin/bash
# build-ebpf.sh KDIR ARCH OUT: build kdriver's legacy eBPF probe (bpf/legacy/c)
# against the unpacked Debian headers in KDIR for ARCH (amd64, or arm64
# cross-built: kbuild with ARCH=arm64 and the arm64 cross gcc for its checks,
# clang for the probe). Writes OUT/kdriver.o and OUT/ebpf-build.log.
# KD_TARGET_VERSION (uname -v of the target kernel) is recorded when set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kdir=${1:?usage: build-ebpf.sh KDIR ARCH OUT}
arch=${2:?usage: build-ebpf.sh KDIR ARCH OUT}
out=${3:?usage: build-ebpf.sh KDIR ARCH OUT}
version=${KD_DRIVER_VERSION:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)}
clang=${KD_CLANG:-clang-16}
llc=${KD_LLC:-llc-16}

src=$out/ebpf-src
rm -rf "$src"
mkdir -p "$src"
cp "$repo"/bpf/legacy/c/* "$src/"
cp "$repo/events/c/kd_event.h" "$src/"
# Values go into a header, not onto the command line: no quoting through make.
jq -rn --arg v "${KD_TARGET_VERSION:-}" --arg d "$version" \
	'"#define KD_TARGET_VERSION \($v | tojson)\n#define KD_DRIVER_VERSION \($d | tojson)"' >"$src/kd_target.h"

args=(-C "$kdir" M="$src" KD_EVENT_DIR="$src" CLANG="$clang" LLC="$llc")
case $arch in
amd64) args+=(ARCH=x86) ;;
arm64) args+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
esac
if ! make "${args[@]}" >"$out/ebpf-build.log" 2>&1; then
	tail -30 "$out/ebpf-build.log" >&2
	echo "build-ebpf: build failed against $kdir ($arch); log: $out/ebpf-build.log" >&2
	exit 1
fi
# Warnings in the kernel's headers are the kernel's; in kdriver's files, ours.
if grep -E '(probe\.c|kd_bpf\.h|kd_event\.h):[0-9]+:[0-9]+: warning' "$out/ebpf-build.log" >&2; then
	echo "build-ebpf: warnings in the probe's source against $kdir ($arch); log: $out/ebpf-build.log" >&2
	exit 1
fi
cp "$src/probe.o" "$out/kdriver.o"
