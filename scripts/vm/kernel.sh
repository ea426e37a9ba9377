#!/bin/bash
# kernel.sh NAME ARCH: resolve a Debian kernel from the archive at run time,
# download its image and headers (cached) and unpack them. Prints shell
# assignments on stdout:
#   KREL=<uname -r>  KVER=<package version>  VMLINUZ=<path>  KDIR=<headers build dir>
#   KBUILD_BIN=<amd64 kbuild helpers dir>  KCC_VERSION=<CONFIG_CC_VERSION_TEXT>
# NAME: 5.10 (bullseye; 5.10-nosec without bullseye-security), 6.1 (bookworm), 6.12 (bookworm's 6.12 backport),
#       trixie (6.12 built with trixie's gcc), sid (newest, 7.x).
# ARCH: amd64 or arm64.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"

name=${1:?usage: kernel.sh NAME ARCH}
arch=${2:?usage: kernel.sh NAME ARCH}
case $arch in
amd64 | arm64) ;;
*) echo "arch $arch: want amd64 or arm64" >&2; exit 2 ;;
esac

case $name in
5.10 | bullseye) set=bullseye meta=$arch ;;
# bullseye's kernel without -security: the reachable archive lacks the arm64
# packages of bullseye-security (listed in its index, 404 in its pool)
5.10-nosec) set=bullseye-nosec meta=$arch ;;
6.1 | bookworm) set=bookworm meta=$arch ;;
6.12) set=bookworm meta=6.12-$arch ;;
trixie) set=trixie meta=$arch ;;
7 | 7.* | sid) set=sid meta=$arch ;;
*) echo "kernel $name: want 5.10, 6.1, 6.12, trixie or sid" >&2; exit 2 ;;
esac

vm_lock cache
apt_prepare "$set"
apt_opts "$set"

# deps PKG prints the package names PKG depends on (alternatives included).
deps() {
	apt-cache "${APT_OPTS[@]}" depends --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "$1" |
		awk '$1 ~ /Depends:$/ { n = $2; gsub(/[<>]/, "", n); sub(/:.*/, "", n); print n }'
}

img=$(deps "linux-image-$meta:$arch" | grep -m1 '^linux-image-' || true)
hdr=$(deps "linux-headers-$meta:$arch" | grep -m1 '^linux-headers-' || true)
if [ -z "$img" ] || [ -z "$hdr" ]; then
	echo "kernel $name/$arch: meta-packages linux-image-$meta / linux-headers-$meta not found in $set" >&2
	exit 1
fi
krel=${hdr#linux-headers-}
kver=$(apt-cache "${APT_OPTS[@]}" show "$hdr:$arch" | awk '/^Version:/ { print $2; exit }')

# Packages to fetch: the image and what carries its vmlinuz (linux-binary-*
# from 7.x on), the headers, their -common part (arch: all) and the kbuild
# helpers, always for amd64 since they run on this host.
pkgs=("$img:$arch")
for d in $(deps "$img:$arch"); do
	case $d in linux-binary-* | linux-image-*) pkgs+=("$d:$arch") ;; esac
done
pkgs+=("$hdr:$arch")
for d in $(deps "$hdr:$arch"); do
	case $d in
	linux-headers-*-common*) pkgs+=("$d") ;;
	linux-kbuild-*) pkgs+=("$d:amd64") ;;
	esac
done
for d in $(deps "${pkgs[-1]}"); do
	case $d in linux-kbuild-*) pkgs+=("$d:amd64") ;; esac
done

dir=$VM_CACHE/kernels/$krel-$arch-$kver
if [ ! -f "$dir/.done" ]; then
	dl=$VM_CACHE/debs
	mkdir -p "$dl"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/root"
	for p in $(printf '%s\n' "${pkgs[@]}" | awk '!seen[$0]++'); do
		v=$(apt-cache "${APT_OPTS[@]}" show "$p" | awk '/^Version:/ { print $2; exit }')
		a=${p#*:}
		[ "$a" = "$p" ] && a=all
		n=${p%%:*}
		f=$(ls "$dl/${n}_${v//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
		if [ -z "$f" ]; then
			if ! (cd "$dl" && apt-get "${APT_OPTS[@]}" download "$p" >&2); then
				# A signed image missing from the pool: its -unsigned twin
				# carries the same kernel.
				case $n in
				linux-image-*) ;;
				*) exit 1 ;;
				esac
				echo "kernel: $p failed, trying $n-unsigned" >&2
				n=$n-unsigned
				if ! (cd "$dl" && apt-get "${APT_OPTS[@]}" download "$n:$a" >&2); then
					rm -rf "$dir.tmp"
					if [ "$set" = bullseye ]; then
						# bullseye-security's arm64 pool is missing on some
						# mirrors: take bullseye's own last kernel instead
						echo "kernel: falling back to bullseye without -security" >&2
						exec "$0" 5.10-nosec "$arch"
					fi
					exit 1
				fi
			fi
			f=$(ls "$dl/${n}_${v//:/%3a}_"*.deb | head -1)
		fi
		echo "kernel: unpack $(basename "$f")" >&2
		dpkg-deb -x "$f" "$dir.tmp/root"
	done
	# The headers' Makefile includes the -common tree by absolute path.
	for mk in "$dir.tmp"/root/usr/src/linux-headers-*/Makefile; do
		sed -i -e "s|^include /usr/src/|include $dir/root/usr/src/|" \
			-e "s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$dir/root/usr/src/|" "$mk"
	done
	mv "$dir.tmp" "$dir"
	touch "$dir/.done"
fi

root=$dir/root
vmlinuz=$(ls "$root/boot/vmlinuz-$krel" "$root/usr/lib/modules/$krel/vmlinuz" 2>/dev/null | head -1 || true)
kdir=$root/usr/src/linux-headers-$krel
kbuild=$(ls -d "$root"/usr/lib/linux-kbuild-* 2>/dev/null | head -1 || true)
if [ -z "$vmlinuz" ] || [ ! -d "$kdir" ]; then
	echo "kernel $krel: no vmlinuz or headers in $root" >&2
	exit 1
fi
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdir/.config" 2>/dev/null || true)
printf 'KREL=%q\nKVER=%q\nVMLINUZ=%q\nKDIR=%q\nKBUILD_BIN=%q\nKCC_VERSION=%q\nKSET=%q\n' \
	"$krel" "$kver" "$vmlinuz" "$kdir" "$kbuild" "$cc" "$set"
