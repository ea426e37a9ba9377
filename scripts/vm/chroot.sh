#!/bin/bash
# chroot.sh SUITE PKG...: print the path of a minbase chroot of SUITE (made
# with debootstrap from the host's mirror, cached under $KDRIVER_CACHE/vm/
# chroots) that has PKG... installed. For kernels built with a compiler the
# host lacks (sid's gcc-16): build-kmod.sh runs make inside it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
suite=${1:?usage: chroot.sh SUITE PKG...}
shift
vm_lock cache
root=$VM_CACHE/chroots/$suite
main=$(host_mirrors | awk '$1 == "main" { print $2 }')
base="make bc bison flex cpio kmod dwarves ca-certificates"
case $suite in
bullseye | bookworm) base="$base libelf1" ;;
*) base="$base libelf1t64" ;;
esac
if [ ! -f "$root/.done" ]; then
	rm -rf "$root"
	mkdir -p "$(dirname "$root")"
	echo "chroot: debootstrap $suite into $root" >&2
	debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$suite" "$root" "$main" >&2
	echo "deb [check-valid-until=no] $main $suite main" >"$root/etc/apt/sources.list"
	chroot "$root" apt-get -q -o Acquire::Check-Valid-Until=false update >&2
	touch "$root/.done"
fi
want=""
for p in $base "$@"; do
	if ! chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		want="$want $p"
	fi
done
if [ -n "$want" ]; then
	echo "chroot: installing$want in $suite" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -q -o Acquire::Check-Valid-Until=false \
		install -y --no-install-recommends $want >&2
fi
echo "$root"
