#!/bin/bash
# initramfs.sh OUT.cpio.gz BUSYBOX CASES FILE...: pack a guest initramfs with
# a static busybox, guest-init as /init, CASES as /cases.sh and each FILE in /.
# A FILE given as DIR=NAME copies the folder DIR as /NAME (a guest userland).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: initramfs.sh OUT BUSYBOX CASES FILE...}
busybox=$2
cases=$3
shift 3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/root"
cp "$busybox" "$root/bin/busybox"
cp "$here/guest-init" "$root/init"
cp "$cases" "$root/cases.sh"
chmod 755 "$root/init" "$root/bin/busybox"
for f in "$@"; do
	case $f in
	*=*) cp -a "${f%=*}" "$root/${f##*=}" ;;
	*) cp "$f" "$root/" ;;
	esac
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
