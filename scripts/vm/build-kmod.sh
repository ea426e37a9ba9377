#!/bin/bash
# build-kmod.sh KDIR ARCH OUT: build kmod/src against the unpacked Debian
# headers in KDIR for ARCH (amd64 natively, arm64 with the cross compiler),
# with -Werror; any compiler or modpost warning fails the build. Writes
# OUT/kdriver.ko and OUT/build.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kdir=${1:?usage: build-kmod.sh KDIR ARCH OUT}
arch=${2:?usage: build-kmod.sh KDIR ARCH OUT}
out=${3:?usage: build-kmod.sh KDIR ARCH OUT}
version=${KD_DRIVER_VERSION:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)}

rm -rf "$out/src"
mkdir -p "$out/src"
cp "$repo"/kmod/src/*.c "$repo"/kmod/src/*.h "$repo"/kmod/src/Makefile "$out/src/"
cp "$repo/events/c/kd_event.h" "$out/src/"

args=(-C "$kdir" M="$out/src" KD_EVENT_DIR="$out/src" KD_DRIVER_VERSION="$version"
	KCFLAGS=-Werror -j2)
# KD_GCC=12 overrides the compiler the headers name with gcc-12 (an
# experiment: modules should be built with the kernel's own compiler).
if [ -n "${KD_GCC:-}" ]; then
	case $arch in
	amd64) args+=(CC="gcc-$KD_GCC") ;;
	arm64) args+=(CC="aarch64-linux-gnu-gcc-$KD_GCC") ;;
	esac
fi
case $arch in
amd64) args+=(ARCH=x86) ;;
arm64) args+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
esac

# KD_CHROOT: run make inside that userland (a suite's own compiler), with
# the kernel trees and OUT bind-mounted at the same paths.
run_make() {
	if [ -z "${KD_CHROOT:-}" ]; then
		make "$@"
		return
	fi
	local trees
	trees=$(cd "$kdir/../../../.." && pwd)
	unshare -m bash -euc '
		root=$1 trees=$2 out=$3
		shift 3
		mkdir -p "$root$trees" "$root$out"
		mount --bind "$trees" "$root$trees"
		mount --bind "$out" "$root$out"
		mount -t proc proc "$root/proc"
		chroot "$root" make "$@"
	' bash "$KD_CHROOT" "$trees" "$out" "$@"
}

if ! run_make "${args[@]}" modules >"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	echo "build-kmod: build failed against $kdir ($arch); log: $out/build.log" >&2
	exit 1
fi
if grep -E -i '(^|[^a-z_])warning[: ]' "$out/build.log" >&2; then
	echo "build-kmod: warnings against $kdir ($arch); log: $out/build.log" >&2
	exit 1
fi
cp "$out/src/kdriver.ko" "$out/kdriver.ko"
