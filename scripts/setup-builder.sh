#!/bin/sh
# setup-builder.sh: what the builder's tests and benchmarks need (idempotent).
#
#  - host tools: make, gcc-12, the arm64 cross compiler, pahole, dpkg-dev
#    (dpkg-scanpackages, dpkg-deb for the extraction benchmark), apt-utils
#    (apt-ftparchive), docker.io and debootstrap for the docker backend;
#  - a local Debian-style mirror under $KDRIVER_CACHE/builder/mirror made from
#    real packages (apt-get download) of the newest bookworm 6.1 and 6.12
#    kernels, amd64 and arm64, indexed with dpkg-scanpackages and
#    apt-ftparchive. Tests serve it on 127.0.0.1.
#
# The packages come from the host's own apt sources; no mirror is named here.
set -eu

CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
MIRROR=$CACHE/builder/mirror
APT="apt-get -o DPkg::Lock::Timeout=600 -q"

need=""
for p in make gcc-12 libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross dwarves dpkg-dev apt-utils xz-utils zstd bc libelf-dev; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	$APT install -y --no-install-recommends $need
fi

# arm64 package indexes (downloads only: never install linux-headers-*:arm64).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	$APT update
fi

# meta_dep META[:ARCH] PREFIX: the first dependency of a meta-package that
# starts with PREFIX (the current ABI).
meta_dep() {
	apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/^ *//; s/ .*//; s/:.*//' | grep "^$2" | head -n1
}
# build_deps PKG[:ARCH]: the headers' -common, kbuild and compiler packages.
build_deps() {
	apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//' | grep -E '^linux-(headers-.*-common|kbuild-|compiler-)' | sort -u
}

mkdir -p "$MIRROR/pool"
cd "$MIRROR/pool"
want=""
for meta in linux-headers-amd64 linux-headers-6.12-amd64; do
	h=$(meta_dep "$meta" linux-headers-)
	abi=${h#linux-headers-}
	abi=${abi%-amd64}
	for arch in amd64 arm64; do
		m=$meta
		[ "$arch" = arm64 ] && m=$(echo "$meta" | sed 's/amd64$/arm64/')
		want="$want $m:$arch linux-headers-$abi-$arch:$arch"
		for d in $(build_deps "linux-headers-$abi-$arch:$arch"); do
			case $d in
			linux-headers-*) want="$want $d" ;;
			*) want="$want $d:$arch" ;;
			esac
		done
	done
done
for p in $want; do
	name=${p%%:*}
	arch=${p#*:}
	[ "$arch" = "$p" ] && arch=all
	ls "${name}"_*_"$arch".deb "${name}"_*_all.deb >/dev/null 2>&1 && continue
	$APT download "$p"
done

cd "$MIRROR"
for arch in amd64 arm64; do
	d=dists/bookworm/main/binary-$arch
	mkdir -p "$d"
	dpkg-scanpackages -m -a "$arch" pool >"$d/Packages" 2>/dev/null
	xz -kf "$d/Packages"
	gzip -kf9n "$d/Packages"
done
apt-ftparchive \
	-o APT::FTPArchive::Release::Suite=bookworm \
	-o APT::FTPArchive::Release::Codename=bookworm \
	-o APT::FTPArchive::Release::Architectures="amd64 arm64" \
	-o APT::FTPArchive::Release::Components=main \
	release dists/bookworm >dists/bookworm/Release.new
mv dists/bookworm/Release.new dists/bookworm/Release
echo "builder mirror ready: $MIRROR"
