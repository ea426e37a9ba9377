#!/bin/bash
# builder-vmtest.sh [KERNEL...]: build the kernel module with `kdriver build`
# (docker backend: builder images made from the kernel's own suite) for
# kernels whose compiler this host lacks, then load and verify each .ko in a
# qemu guest booting that very kernel. KERNEL: 5.10 (bullseye) and sid by
# default. Reuses scripts/vm (kernel image, initramfs, boot, console parsing);
# the headers come from the local mirror of scripts/setup-builder.sh, served
# on 127.0.0.1. Prints one JSON line per case; exits 1 if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vm=$here/vm
# shellcheck source=vm/apt.sh
. "$vm/apt.sh"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(5.10 sid)
CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
out=$CACHE/builder/vmruns/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/bin"
log() { echo "builder-vmtest: $*" >&2; }

[ "${KDRIVER_VM_SETUP:-1}" = 1 ] && { "$here/setup-vm.sh" >&2; "$here/setup-builder.sh" >&2; }

(cd "$repo" && go build -o "$out/bin/kdriver-host" ./cmd/kdriver &&
	CGO_ENABLED=0 go build -trimpath -o "$out/bin/kdriver" ./cmd/kdriver &&
	CGO_ENABLED=0 go test -c -trimpath -o "$out/bin/kmod.test" ./kmod)

# The mirror on 127.0.0.1, and a Docker engine of our own (no bridge, no
# iptables); both stopped on exit by the PIDs started here.
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
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
for k in "${kernels[@]}"; do
	d=$out/$k
	mkdir -p "$d"
	"$vm/kernel.sh" "$k" amd64 >"$d/kernel.env" 2>"$d/kernel.log"
	# shellcheck disable=SC1091
	. "$d/kernel.env"
	log "$k: kernel $KREL ($KVER) from $KSET, compiler ${KCC_VERSION}"
	if ! "$out/bin/kdriver-host" build --kernel-release "$KREL" --arch amd64 \
		--mirror "http://127.0.0.1:$port" --suite "$KSET" --backend docker \
		--docker-host "$sock" --debootstrap-mirror "$main" \
		--source "$repo/kmod/src" --output-dir "$d/out" --cache-dir "$CACHE/builder/vmbuild" \
		-o json >"$d/build.json" 2>"$d/build.err"; then
		tail -5 "$d/build.err" >&2
		jq -cn --arg k "$k" --arg krel "$KREL" '{kernel: $k, kernel_release: $krel, case: "kdriver-build", ok: false}'
		failed=1
		continue
	fi
	ko=$(jq -r '.results[0].artifact' "$d/build.json")
	jq -c --arg k "$k" '{kernel: $k, kernel_release: .results[0].kernel_release, case: "kdriver-build", ok: true,
		status: .results[0].status, backend: .results[0].backend, compiler: .results[0].compiler}' "$d/build.json"
	cp "$ko" "$d/kdriver.ko"
	"$vm/initramfs.sh" "$d/initrd.gz" "$("$vm/busybox.sh" amd64)" "$out/cases.sh" \
		"$d/kdriver.ko" "$out/bin/kdriver" "$out/bin/kmod.test"
	rc=0
	start=$SECONDS
	"$vm/boot.sh" amd64 "$VMLINUZ" "$d/initrd.gz" "$d/console.log" || rc=$?
	tr -d '\r' <"$d/console.log" >"$d/console.txt"
	"$vm/parse-console.sh" "$k" amd64 "$KREL" "$d/console.txt" "$rc" $((SECONDS - start)) | tee "$d/results.jsonl"
	if jq -e 'select(.ok == false)' "$d/results.jsonl" >/dev/null; then failed=1; fi
done
log "results in $out"
exit $failed
