#!/bin/bash
# sysdig-root.sh ARCH: print the path of a guest userland holding sid's
# sysdig and the libraries it depends on, for ARCH (amd64 or arm64). The
# packages are downloaded from the host's mirror with a private apt state
# and unpacked with dpkg-deb -x (no maintainer scripts: they could not run
# for the foreign arch); cached under $KDRIVER_CACHE/vm/userland. The guest
# runs it with chroot, /proc /sys /dev bind-mounted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
arch=${1:?usage: sysdig-root.sh ARCH}
vm_lock cache
apt_prepare sid
apt_opts sid
version=$(apt-cache "${APT_OPTS[@]}" show "sysdig:$arch" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[ -n "$version" ] || { echo "sysdig-root: no sysdig:$arch in sid" >&2; exit 1; }
root=$VM_CACHE/userland/sysdig-${version//[^A-Za-z0-9.+-]/_}-$arch
if [ ! -f "$root/.done" ]; then
	rm -rf "$root" "$root.debs"
	mkdir -p "$root/root" "$root.debs"
	# every package of the Depends closure; <virtual> names are left out
	mapfile -t pkgs < <(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "sysdig:$arch" | grep -v '^[ <]')
	echo "sysdig-root: sysdig $version ($arch): ${pkgs[*]}" >&2
	(cd "$root.debs" && apt-get "${APT_OPTS[@]}" download "${pkgs[@]}" >&2)
	for deb in "$root.debs"/*.deb; do
		dpkg-deb -x "$deb" "$root/root"
	done
	rm -rf "$root.debs"
	# merged /usr as base-files would make it; only what sysdig needs stays
	for d in bin sbin lib lib64; do
		[ -e "$root/root/$d" ] || [ ! -d "$root/root/usr/$d" ] || ln -s "usr/$d" "$root/root/$d"
	done
	[ -e "$root/root/lib64" ] || ln -s usr/lib "$root/root/lib64"
	rm -rf "$root/root/usr/share/doc" "$root/root/usr/share/man" "$root/root/usr/share/locale" \
		"$root/root/usr/share/info" "$root/root/usr/share/lintian" "$root/root/usr/lib/"*/gconv
	mkdir -p "$root/root/proc" "$root/root/sys" "$root/root/dev" "$root/root/tmp" "$root/root/etc"
	echo "$version" >"$root/version"
	touch "$root/.done"
fi
echo "$root/root"
