#!/bin/bash
# builder-vmtest.sh [KERNEL[/ARCH]...]: build the kernel module with
# `kdriver build --backend auto` (docker, with builder images made from the
# kernel's own suite, for kernels whose compiler this host lacks; the host's
# toolchain, cross for arm64, otherwise), then load and verify each .ko in a
# qemu guest booting that very kernel. Default: 5.10/amd64 (bullseye, gcc-10)
# and sid/amd64 (7.x); 6.1/arm64 and 6.12/arm64 prove cross builds. Reuses scripts/vm (kernel image, initramfs, boot, console parsing);
# the headers come from the local mirror of scripts/setup-builder.sh, served
# on 127.0.0.1. Prints one JSON line per case; exits 1 if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vm=$here/vm
# shellcheck source=vm/apt.sh
. "$vm/apt.sh"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(5.10/amd64 sid/amd64)
CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
out=$CACHE/builder/vmruns/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/bin"
log() { echo "builder-vmtest: $*" >&2; }

[ "${KDRIVER_VM_SETUP:-1}" = 1 ] && { "$here/setup-vm.sh" >&2; "$here/setup-builder.sh" >&2; }

(cd "$repo" && go build -o "$out/bin/kdriver-host" ./cmd/kdriver)
for a in amd64 arm64; do
	case " ${kernels[*]} " in *"/$a "*) ;; *) continue ;; esac
	mkdir -p "$out/bin/$a"
	(cd "$repo" && CGO_ENABLED=0 GOARCH=$a go build -trimpath -o "$out/bin/$a/kdriver" ./cmd/kdriver &&
		CGO_ENABLED=0 GOARCH=$a go test -c -tags vmguest -trimpath -o "$out/bin/$a/kmod.test" ./kmod)
done

# The mirror on 127.0.0.1, and a Docker engine of our own (no bridge, no
# iptables); both stopped on exit by the PIDs started here.
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -z "${run:-}" ] || rm -rf "$run"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$CACHE/builder/mirror" "$port" >"$out/http.log" 2>&1 &
pids+=($!)
run=$(mktemp -d /tmp/kdd-XXXXXX)
sock=unix://$run/d.sock
dockerd --data-root "$CACHE/builder/docker" --exec-root "$run/x" --pidfile "$run/d.pid" -H "$sock" \
	--bridge=none --iptables=false --ip6tables=false --ip-masq=false >"$out/dockerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do docker -H "$sock" version >/dev/null 2>&1 && break; sleep 0.5; done
main=$(host_mirrors | awk '$1 == "main" { print $2 }')

cat >"$out/cases.sh" <<'CASES'
export KDRIVER_KMOD_GUEST=/kdriver.ko KDRIVER_VM=1 CI=true
case_run load-verify /kmod.test -test.run '^TestGuestLoadVerifyUnload$' -test.v -test.timeout 300s
case_run cli sh -c '/kdriver install --type kmod --file /kdriver.ko --verify=false && /kdriver verify --type kmod && /kdriver cleanup'
CASES

failed=0
for ka in "${kernels[@]}"; do
	k=${ka%/*} a=${ka#*/}
	[ "$a" != "$ka" ] || a=amd64
	d=$out/$k-$a
	mkdir -p "$d"
	"$vm/kernel.sh" "$k" "$a" >"$d/kernel.env" 2>"$d/kernel.log"
	# shellcheck disable=SC1091
	. "$d/kernel.env"
	log "$k/$a: kernel $KREL ($KVER) from $KSET, compiler ${KCC_VERSION}"
	if ! "$out/bin/kdriver-host" build --kernel-release "$KREL" --arch "$a" \
		--mirror "http://127.0.0.1:$port" --suite "$KSET" --backend auto \
		--docker-host "$sock" --debootstrap-mirror "$main" \
		--source "$repo/kmod/src" --output-dir "$d/out" --cache-dir "$CACHE/builder/vmbuild" \
		-o json >"$d/build.json" 2>"$d/build.err"; then
		tail -5 "$d/build.err" >&2
		jq -cn --arg k "$k" --arg a "$a" --arg krel "$KREL" '{kernel: $k, arch: $a, kernel_release: $krel, case: "kdriver-build", ok: false}'
		failed=1
		continue
	fi
	ko=$(jq -r '.results[0].artifact' "$d/build.json")
	jq -c --arg k "$k" --arg a "$a" '{kernel: $k, arch: $a, kernel_release: .results[0].kernel_release, case: "kdriver-build", ok: true,
		status: .results[0].status, backend: .results[0].backend, compiler: .results[0].compiler}' "$d/build.json"
	cp "$ko" "$d/kdriver.ko"
	"$vm/initramfs.sh" "$d/initrd.gz" "$("$vm/busybox.sh" "$a")" "$out/cases.sh" \
		"$d/kdriver.ko" "$out/bin/$a/kdriver" "$out/bin/$a/kmod.test"
	rc=0
	start=$SECONDS
	"$vm/boot.sh" "$a" "$VMLINUZ" "$d/initrd.gz" "$d/console.log" || rc=$?
	tr -d '\r' <"$d/console.log" >"$d/console.txt"
	"$vm/parse-console.sh" "$k" "$a" "$KREL" "$d/console.txt" "$rc" $((SECONDS - start)) | tee "$d/results.jsonl"
	if jq -e 'select(.ok == false)' "$d/results.jsonl" >/dev/null; then failed=1; fi
done
log "results in $out"
exit $failed
