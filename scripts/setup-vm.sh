#!/bin/sh
# Installs what the kernel-module and legacy eBPF probe VM tests need
# (scripts/vmtest; clang-16 and llc-16 build the probe; dpkg-dev, apt-utils,
# curl and python3 index and serve its packages to kdriver build). Idempotent:
# packages already present are left alone. Kernel images, headers and the
# arm64 busybox are not installed here: scripts/vmtest downloads them with a
# private apt state into ${KDRIVER_CACHE:-/var/cache/kdriver-dev}.
set -eu

pkgs="qemu-system-x86 qemu-system-arm busybox-static gcc-12 gcc-aarch64-linux-gnu
make bc bison flex cpio dwarves libelf1 kmod xz-utils zstd jq ca-certificates
debootstrap util-linux clang-16 llvm-16 perl dpkg-dev apt-utils curl python3"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "setup-vm: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $missing
fi
