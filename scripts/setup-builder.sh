#!/bin/bash
# setup-builder.sh: what the builder's tests and benchmarks need (idempotent).
#
#  - host tools: make, gcc-12, the arm64 cross compiler, pahole, dpkg-dev
#    (dpkg-scanpackages, dpkg-deb for the extraction benchmark), apt-utils
#    (apt-ftparchive), docker.io and debootstrap for the docker backend;
#  - a local Debian-style mirror under $KDRIVER_CACHE/builder/mirror made from
#    real packages (apt-get download) of the newest kernels of bookworm (6.1
#    and 6.12, amd64 and arm64), bullseye (5.10, amd64; arm64 without -security), trixie (6.12, amd64 and arm64)
#    and sid (amd64 and arm64),
#    indexed with dpkg-scanpackages and apt-ftparchive. Tests serve it on
#    127.0.0.1.
#  - in the same pool, Debian's falcosecurity-scap-dkms of bookworm
#    (0.1.1dev), trixie (0.20.0) and sid (0.23.2): Falco's kernel module as
#    a DKMS source, for the driver-kit acceptance test of `kdriver build
#    --source <deb>` (cmd/kdriver/testdata/build/scap_kits.txtar).
#
# The packages come from the host's own apt mirror through the private apt
# states of scripts/vm/apt.sh; no mirror is named here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vm/apt.sh
. "$here/vm/apt.sh"

CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
MIRROR=$CACHE/builder/mirror
APT=(apt-get -o DPkg::Lock::Timeout=600 -q)

need=()
for p in make gcc-12 libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross dwarves dpkg-dev apt-utils \
	xz-utils zstd bc libelf-dev docker.io debootstrap gpg gpgv jq; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	"${APT[@]}" install -y --no-install-recommends "${need[@]}"
fi

# show SET PKG[:ARCH]: the candidate's control fields in SET's apt state.
show() {
	apt_opts "$1"
	apt-cache "${APT_OPTS[@]}" show --no-all-versions "$2"
}
# meta_dep SET META[:ARCH]: the headers package a meta-package depends on.
meta_dep() {
	show "$1" "$2" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/^ *//; s/ .*//; s/:.*//' | grep '^linux-headers-' | head -n1
}
# build_deps SET PKG[:ARCH]: the headers' -common, kbuild and compiler packages.
build_deps() {
	show "$1" "$2" | sed -n 's/^Depends: //p' | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//' | grep -E '^linux-(headers-.*-common|kbuild-|compiler-)' | sort -u
}

# fetch SET META ARCH…: download the newest kernel of META for each arch
# with its build packages, into the pool (POOL: the suite folder, default
# SET).
fetch() {
	local set=$1 meta=$2 arch m h abi d p name a pool=${POOL:-$1}
	shift 2
	apt_prepare "$set"
	apt_opts "$set"
	local want=()
	for arch in "$@"; do
		m=${meta%-amd64}-$arch
		h=$(meta_dep "$set" "$m:$arch")
		abi=${h#linux-headers-}
		abi=${abi%-"$arch"}
		want+=("$m:$arch" "linux-headers-$abi-$arch:$arch")
		for d in $(build_deps "$set" "linux-headers-$abi-$arch:$arch"); do
			case $d in
			linux-headers-*) want+=("$d") ;;
			*) want+=("$d:$arch") ;;
			esac
		done
		# Cross builds take the kbuild helpers of the build host's arch.
		for d in $(build_deps "$set" "linux-headers-$abi-$arch:$arch" | grep '^linux-kbuild-'); do
			want+=("$d:amd64")
		done
	done
	mkdir -p "$MIRROR/pool/$pool"
	cd "$MIRROR/pool/$pool"
	for p in "${want[@]}"; do
		name=${p%%:*}
		a=${p#*:}
		[ "$a" = "$p" ] && a=all
		ls "${name}"_*_"$a".deb "${name}"_*_all.deb >/dev/null 2>&1 && continue
		apt-get "${APT_OPTS[@]}" download "$p"
	done
	cd - >/dev/null
}

# fetch_pkg SET PKG: download the candidate of an arch-independent package.
fetch_pkg() {
	local set=$1 pkg=$2
	apt_prepare "$set"
	apt_opts "$set"
	mkdir -p "$MIRROR/pool/$set"
	cd "$MIRROR/pool/$set"
	ls "$pkg"_*_all.deb >/dev/null 2>&1 || apt-get "${APT_OPTS[@]}" download "$pkg"
	cd - >/dev/null
}

# index SUITE ARCH…: Packages and Release for one suite of the pool.
index() {
	local suite=$1 arch d
	shift
	cd "$MIRROR"
	for arch in "$@"; do
		d=dists/$suite/main/binary-$arch
		mkdir -p "$d"
		dpkg-scanpackages -m -a "$arch" "pool/$suite" >"$d/Packages" 2>/dev/null
		xz -kf "$d/Packages"
		gzip -kf9n "$d/Packages"
	done
	apt-ftparchive \
		-o APT::FTPArchive::Release::Suite="$suite" \
		-o APT::FTPArchive::Release::Codename="$suite" \
		-o APT::FTPArchive::Release::Architectures="$*" \
		-o APT::FTPArchive::Release::Components=main \
		release "dists/$suite" >"dists/$suite/Release.new"
	mv "dists/$suite/Release.new" "dists/$suite/Release"
	cd - >/dev/null
}

# The mirror is refreshed once a day (the newest kernels rotate), or when
# this script changes.
stamp=$MIRROR/.stamp
want_stamp=$(sha256sum "$0" | cut -d' ' -f1)
if [ -n "$(find "$stamp" -mmin -1440 2>/dev/null)" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
	echo "builder mirror ready: $MIRROR (refreshed less than a day ago)"
	exit 0
fi

# An earlier layout kept bookworm's packages at the top of the pool.
if ls "$MIRROR"/pool/*.deb >/dev/null 2>&1; then
	mkdir -p "$MIRROR/pool/bookworm"
	mv "$MIRROR"/pool/*.deb "$MIRROR/pool/bookworm/"
fi

fetch bookworm linux-headers-amd64 amd64 arm64
fetch bookworm linux-headers-6.12-amd64 amd64 arm64
fetch_pkg bookworm falcosecurity-scap-dkms
index bookworm amd64 arm64
# trixie's own 6.12 (gcc-14: built in a trixie builder container by
# scripts/builder-vmtest.sh, with Falco's module)
fetch trixie linux-headers-amd64 amd64 arm64
fetch_pkg trixie falcosecurity-scap-dkms
index trixie amd64 arm64
fetch bullseye linux-headers-amd64 amd64
# arm64 from bullseye without -security (its arm64 packages are listed in
# its index but missing from the archive's pool), in the same suite folder
POOL=bullseye fetch bullseye-nosec linux-headers-amd64 arm64
index bullseye amd64 arm64
fetch sid linux-headers-amd64 amd64 arm64
fetch_pkg sid falcosecurity-scap-dkms
index sid amd64 arm64
echo "$want_stamp" >"$stamp"
echo "builder mirror ready: $MIRROR"
