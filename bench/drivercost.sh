#!/bin/bash
# bench/drivercost.sh [-k KERNEL] [-a ARCH] [DRIVERCOST-ARGS...]: the cost per
# syscall of kdriver's kernel module, legacy eBPF probe and modern eBPF probe,
# measured by bench/drivercost in one qemu guest booting a real Debian kernel
# (default 6.1 amd64), the configurations interleaved round by round.
# The module is built as scripts/vmtest builds it, the probe by `kdriver
# build --kind ebpf` (scripts/vm/ebpf-store.sh). Needs root and what
# scripts/setup-vm.sh installs. Prints the report (markdown) on stdout;
# the guest's console stays in $KDRIVER_CACHE/vm/bench/<time>.
# Example: bench/drivercost.sh -- -n 300000 -rounds 7
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vm=$repo/scripts/vm
# shellcheck source=../scripts/vm/apt.sh
. "$vm/apt.sh"
k=6.1 a=amd64
while [ $# -gt 0 ]; do
	case $1 in
	-k) k=${2:?}; shift 2 ;;
	-a) a=${2:?}; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
out=$VM_CACHE/bench/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/bin"
log() { echo "drivercost: $*" >&2; }

"$vm/kernel.sh" "$k" "$a" >"$out/kernel.env" 2>"$out/kernel.log" || { tail -5 "$out/kernel.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$out/kernel.env"
log "kernel $KREL ($KVER); building the module, the probe and the binaries"
"$vm/build-kmod.sh" "$KDIR" "$a" "$out"
(cd "$repo" && CGO_ENABLED=0 go build -o "$out/bin/kdriver" ./cmd/kdriver &&
	CGO_ENABLED=0 GOARCH=$a go build -o "$out/bin/drivercost" ./bench/drivercost)
"$vm/ebpf-store.sh" "$out" "$out/bin/kdriver" "$KSET:$KREL:$a:$KVER"
probe=$(jq -r '.results[0].artifact' "$out/ebpf-build.json")
cp "$probe" "$out/kdriver.o"

# shellcheck disable=SC2016
printf 'case_run drivercost /drivercost -kmod /kdriver.ko -legacy /kdriver.o %s\n' "$*" >"$out/cases.sh"
"$vm/initramfs.sh" "$out/initrd.gz" "$("$vm/busybox.sh" "$a")" "$out/cases.sh" \
	"$out/kdriver.ko" "$out/kdriver.o" "$out/bin/drivercost"
log "booting $KREL (load average $(cut -d' ' -f1-3 /proc/loadavg))"
rc=0
KDRIVER_VM_TIMEOUT=${KDRIVER_VM_TIMEOUT:-1800} "$vm/boot.sh" "$a" "$VMLINUZ" "$out/initrd.gz" "$out/console.log" || rc=$?
tr -d '\r' <"$out/console.log" >"$out/console.txt"
log "guest done (qemu exit $rc, load average $(cut -d' ' -f1-3 /proc/loadavg)); console: $out/console.txt"
body=$(awk '/^KDRIVER-CASE-BEGIN drivercost/ { on = 1; next } /^KDRIVER-CASE-END drivercost/ { print "#rc " $3; exit } on' "$out/console.txt")
grep -v '^round \|^#rc ' <<<"$body"
grep '^round ' <<<"$body" >&2 || true
grep -q '^#rc rc=0$' <<<"$body"
