#!/bin/bash
# build-scap.sh KDIR ARCH OUT [SUITE]: build Falco's kernel module (SUITE's
# falcosecurity-scap-dkms, default sid's; the libs driver named scap) against the unpacked
# Debian headers in KDIR for ARCH, as its dkms.conf would: kbuild with
# KERNELDIR pointing at the headers (its Makefile runs feature probes under
# configure/ there). Writes OUT/scap.ko and OUT/scap-build.log (for another
# suite than sid: OUT/scap-SUITE.ko, OUT/scap-SUITE-build.log). The module
# is cached under $KDRIVER_CACHE/vm/scap per package version and kernel
# tree: a cold build takes minutes on a loaded 2-core host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
kdir=${1:?usage: build-scap.sh KDIR ARCH OUT}
arch=${2:?usage: build-scap.sh KDIR ARCH OUT}
out=${3:?usage: build-scap.sh KDIR ARCH OUT}
suite=${4:-sid}
name=scap
[ "$suite" = sid ] || name=scap-$suite

vm_lock scap
apt_prepare "$suite"
apt_opts "$suite"
version=$(apt-cache "${APT_OPTS[@]}" show falcosecurity-scap-dkms 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[ -n "$version" ] || { echo "build-scap: no falcosecurity-scap-dkms in $suite" >&2; exit 1; }
# the kernel tree's folder names the release, arch and package version
tree=$(basename "$(cd "$kdir/../../../.." && pwd)")
cache=$VM_CACHE/scap/${version//[^A-Za-z0-9.+-]/_}/$tree
if [ ! -f "$cache/scap.ko" ]; then
	debs=$VM_CACHE/debs
	mkdir -p "$debs" "$cache"
	deb=$(ls "$debs"/falcosecurity-scap-dkms_"${version//:/%3a}"_all.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$debs" && apt-get "${APT_OPTS[@]}" download "falcosecurity-scap-dkms=$version" >&2)
		deb=$(ls "$debs"/falcosecurity-scap-dkms_*"${version#*:}"_all.deb | head -1)
	fi
	src=$cache/src
	rm -rf "$src" "$cache/unpack"
	dpkg-deb -x "$deb" "$cache/unpack"
	mv "$cache/unpack"/usr/src/scap-* "$src"
	rm -rf "$cache/unpack"
	args=(-C "$kdir" M="$src" KERNELDIR="$kdir" -j2)
	case $arch in
	amd64) args+=(ARCH=x86) ;;
	arm64) args+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-) ;;
	*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
	esac
	if [ "$arch" = arm64 ]; then
		# The libs Makefile runs its feature probes (configure/) with make
		# under `env -i`, which drops ARCH and CROSS_COMPILE: a make first
		# on PATH puts them back (as kdriver build's script does), else the
		# probes build for the host and "the build system is broken".
		mkdir -p "$cache/bin"
		printf '#!/bin/sh\nexport ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-\nexec %s "$@"\n' "$(command -v make)" >"$cache/bin/make"
		chmod +x "$cache/bin/make"
		export PATH="$cache/bin:$PATH"
	fi
	rc=0
	if [ -z "${KD_CHROOT:-}" ]; then
		make "${args[@]}" modules >"$cache/scap-build.log" 2>&1 || rc=$?
	else
		trees=$(cd "$kdir/../../../.." && pwd)
		unshare -m bash -euc '
			root=$1 trees=$2 cache=$3
			shift 3
			mkdir -p "$root$trees" "$root$cache"
			mount --bind "$trees" "$root$trees"
			mount --bind "$cache" "$root$cache"
			mount -t proc proc "$root/proc"
			chroot "$root" make "$@"
		' bash "$KD_CHROOT" "$trees" "$cache" "${args[@]}" modules >"$cache/scap-build.log" 2>&1 || rc=$?
	fi
	cp "$cache/scap-build.log" "$out/$name-build.log"
	if [ "$rc" != 0 ]; then
		tail -20 "$cache/scap-build.log" >&2
		echo "build-scap: scap $version failed against $kdir ($arch); log: $out/$name-build.log" >&2
		exit 1
	fi
	cp "$src/scap.ko" "$cache/scap.ko"
	rm -rf "$src"
	echo "$version" >"$cache/version"
fi
cp "$cache/scap.ko" "$out/$name.ko"
[ -f "$out/$name-build.log" ] || echo "cached: $cache/scap.ko (scap $version)" >"$out/$name-build.log"
cat "$cache/version"
