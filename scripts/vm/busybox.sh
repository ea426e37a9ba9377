#!/bin/bash
# busybox.sh ARCH: print the path of a static busybox for ARCH. amd64 uses
# the host's busybox-static; arm64's is downloaded from the archive with the
# private apt state (never installed on the host).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
arch=${1:?usage: busybox.sh ARCH}
if [ "$arch" = amd64 ] && [ "$(dpkg --print-architecture)" = amd64 ] && [ -x /bin/busybox ] &&
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
	echo /bin/busybox
	exit 0
fi
vm_lock cache
out=$VM_CACHE/busybox/$arch
if [ ! -x "$out/bin/busybox" ]; then
	apt_prepare bookworm
	apt_opts bookworm
	mkdir -p "$out.tmp"
	(cd "$out.tmp" && apt-get "${APT_OPTS[@]}" download "busybox-static:$arch" >&2)
	dpkg-deb -x "$out.tmp"/busybox-static_*.deb "$out.tmp/root"
	mkdir -p "$out/bin"
	cp "$out.tmp/root/bin/busybox" "$out/bin/busybox.new"
	mv "$out/bin/busybox.new" "$out/bin/busybox"
	rm -rf "$out.tmp"
fi
echo "$out/bin/busybox"
