#!/bin/bash
# builder-vmtest.sh [KERNEL[/ARCH][:scap][:ebpf]...]: build the kernel module with
# `kdriver build --backend auto` (docker, with builder images made from the
# kernel's own suite, for kernels whose compiler this host lacks; the host's
# toolchain, cross for arm64, otherwise), then load and verify each .ko in a
# qemu guest booting that very kernel.
#
# :ebpf  kdriver's own legacy probe too (`kdriver build --kind ebpf`, in the
#        kernel's builder image with its suite's clang), installed from the
#        file with its self-test, then the probe's guest tests (an openat
#        seen, 5 s of stress with events and drops, nothing left after).
# :scap  Falco's module too: `kdriver build --source` of Debian's
#        falcosecurity-scap-dkms (sid's 0.23.2 and trixie's 0.20.0, from the
#        mirror's pool) in the same image; the guest runs the scap case of
#        scripts/vm/scap-cases.sh (install from a Falco-layout store under the
#        name the node looks for, which must be the built name; verify; sysdig,
#        sid's, unpacked in /sysroot, prints an openat of a nonce path;
#        unloading under sysdig refused; falco-driver-loader; trixie's kit).
#        On amd64 also Falco's probe (sid's bpf/, built in the image with its
#        clang): placed by falco-driver-loader bpf, read by sysdig --bpf.
#
# Default: 5.10/amd64:ebpf (bullseye, gcc-10), sid/amd64:ebpf (7.x, gcc-16),
# trixie/amd64:scap:ebpf and trixie/arm64:scap (trixie's own 6.12, gcc-14;
# arm64 cross-built in the container). 6.1/arm64 and 6.12/arm64 prove cross
# builds on the host. Reuses scripts/vm (kernel image, initramfs, boot,
# console parsing); the headers come from the local mirror of
# scripts/setup-builder.sh, served on 127.0.0.1. Prints one JSON line per
# case; exits 1 if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
vm=$here/vm
# shellcheck source=vm/apt.sh
. "$vm/apt.sh"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(5.10/amd64:ebpf sid/amd64:ebpf trixie/amd64:scap:ebpf trixie/arm64:scap)
CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
out=$CACHE/builder/vmruns/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out/bin"
log() { echo "builder-vmtest: $*" >&2; }

[ "${KDRIVER_VM_SETUP:-1}" = 1 ] && { "$here/setup-vm.sh" >&2; "$here/setup-builder.sh" >&2; }

(cd "$repo" && go build -o "$out/bin/kdriver-host" ./cmd/kdriver)
for a in amd64 arm64; do
	case " ${kernels[*]} " in *"/$a "* | *"/$a:"*) ;; *) continue ;; esac
	mkdir -p "$out/bin/$a"
	(cd "$repo" && CGO_ENABLED=0 GOARCH=$a go build -o "$out/bin/$a/kdriver" ./cmd/kdriver &&
		CGO_ENABLED=0 GOARCH=$a go test -c -tags vmguest -o "$out/bin/$a/kmod.test" ./kmod &&
		CGO_ENABLED=0 GOARCH=$a go test -c -o "$out/bin/$a/legacy.test" ./bpf/legacy)
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
# ebpf: kdriver's legacy probe built for this kernel by `kdriver build --kind
# ebpf` (in the kernel's builder image, with its clang): installed from the
# file, preflighted, loaded, self-test passed; no BPF program left after
ebpf_file() {
	/kdriver install --type ebpf --file /kdriver.o --verify-timeout 120s --buf-size-preset 1 >/tmp/ebpf.txt 2>&1
	rc=$?
	cat /tmp/ebpf.txt
	[ $rc = 0 ] && grep -q '^verify: passed' /tmp/ebpf.txt || return 1
	left=$(grep -l '^prog_type:' /proc/[0-9]*/fdinfo/* 2>/dev/null | wc -l)
	echo "after the commands: $left BPF program descriptors open, $(ls -A /sys/fs/bpf | wc -l) entries in /sys/fs/bpf"
	[ "$left" = 0 ] && [ -z "$(ls -A /sys/fs/bpf)" ]
}
CASES

# kbuild SOURCE OUTDIR JSON [ARG...]: `kdriver build` of SOURCE (a kit)
# for the guest's kernel (KREL, a, KSET) into OUTDIR; the report goes to
# JSON, its stderr beside it.
kbuild() {
	local src=$1 dir=$2 json=$3
	shift 3
	"$out/bin/kdriver-host" build --kernel-release "$KREL" --arch "$a" \
		--mirror "http://127.0.0.1:$port" --suite "${KSET%-nosec}" --backend auto \
		--docker-host "$sock" --debootstrap-mirror "$main" \
		${src:+--source "$src"} --output-dir "$dir" --cache-dir "$CACHE/builder/vmbuild" \
		-o json "$@" >"$json" 2>"${json%.json}.err"
}
# kresult JSON CASE: the report's first target as one result line.
kresult() {
	jq -c --arg k "$k" --arg a "$a" --arg case "$2" '{kernel: $k, arch: $a, kernel_release: .results[0].kernel_release,
		case: $case, ok: (.results[0].status == "built" or .results[0].status == "cached"),
		status: .results[0].status, backend: .results[0].backend, compiler: .results[0].compiler,
		artifact: ((.results[0].artifact // "") | split("/") | last), error: .results[0].error}' "$1"
}

failed=0
for ka in "${kernels[@]}"; do
	scap="" ebpf=""
	case $ka in *:ebpf) ebpf=1 ka=${ka%:ebpf} ;; esac
	case $ka in *:scap) scap=1 ka=${ka%:scap} ;; esac
	k=${ka%/*} a=${ka#*/}
	[ "$a" != "$ka" ] || a=amd64
	d=$out/$k-$a
	mkdir -p "$d"
	"$vm/kernel.sh" "$k" "$a" >"$d/kernel.env" 2>"$d/kernel.log"
	# shellcheck disable=SC1091
	. "$d/kernel.env"
	log "$k/$a: kernel $KREL ($KVER) from $KSET, compiler ${KCC_VERSION}"
	if ! kbuild "$repo/kmod/src" "$d/out" "$d/build.json"; then
		tail -5 "$d/build.err" >&2
		jq -cn --arg k "$k" --arg a "$a" --arg krel "$KREL" '{kernel: $k, arch: $a, kernel_release: $krel, case: "kdriver-build", ok: false}'
		failed=1
		continue
	fi
	ko=$(jq -r '.results[0].artifact' "$d/build.json")
	jq -c --arg k "$k" --arg a "$a" '{kernel: $k, arch: $a, kernel_release: .results[0].kernel_release, case: "kdriver-build", ok: true,
		status: .results[0].status, backend: .results[0].backend, compiler: .results[0].compiler}' "$d/build.json"
	cp "$ko" "$d/kdriver.ko"
	cp "$out/cases.sh" "$d/cases.sh"
	extra=()
	if [ -n "$ebpf" ]; then
		# kdriver's own legacy probe (its embedded source), same image + clang
		kbuild "" "$d/ebpf-out" "$d/ebpf-build.json" --kind ebpf || tail -5 "$d/ebpf-build.err" >&2
		kresult "$d/ebpf-build.json" ebpf-build 2>/dev/null ||
			jq -cn --arg k "$k" --arg a "$a" --arg krel "$KREL" --arg e "$(tail -3 "$d/ebpf-build.err")" \
				'{kernel: $k, arch: $a, kernel_release: $krel, case: "ebpf-build", ok: false, error: $e}'
		o=$(jq -r '.results[0].artifact // empty' "$d/ebpf-build.json" 2>/dev/null || true)
		if [ -n "$o" ] && [ -f "$o" ]; then
			cp "$o" "$d/kdriver.o"
			extra+=("$d/kdriver.o" "$out/bin/$a/legacy.test")
			echo 'case_run ebpf ebpf_file' >>"$d/cases.sh"
			# the probe's own guest tests, as in scripts/vmtest: an openat
			# seen and nothing left after close; 5 s of openat against
			# 1 MiB buffers, events and drops reported
			echo 'export KDRIVER_EBPF_GUEST=/kdriver.o' >>"$d/cases.sh"
			echo 'case_run ebpf-stress /legacy.test -test.run "^(TestStress|TestOpenatAndCleanup|TestExecEntryWays)\$" -test.v -test.timeout 300s' >>"$d/cases.sh"
		else
			failed=1
		fi
	fi
	if [ -n "$scap" ]; then
		# Falco's module, sid's kit and trixie's, built for this kernel
		# by kdriver build as a CI matrix would (the same builder image),
		# and on amd64 sid's probe (its bpf/; the image adds clang, llvm)
		for s in sid trixie sid-bpf; do
			deb=$(ls "$CACHE"/builder/mirror/pool/${s%-bpf}/falcosecurity-scap-dkms_*_all.deb 2>/dev/null | head -1 || true)
			name=scap-$s kind=() ext=ko
			case $s in
			sid) name=scap ;;
			sid-bpf)
				[ "$a" = amd64 ] || continue
				name=scap-bpf kind=(--kind ebpf) ext=o
				;;
			esac
			if ! kbuild "$deb" "$d/$name-out" "$d/$name-build.json" ${kind[@]+"${kind[@]}"}; then
				tail -5 "$d/$name-build.err" >&2
			fi
			kresult "$d/$name-build.json" "$name-build" 2>/dev/null ||
				jq -cn --arg k "$k" --arg a "$a" --arg krel "$KREL" --arg case "$name-build" \
					--arg e "$(tail -3 "$d/$name-build.err")" '{kernel: $k, arch: $a, kernel_release: $krel, case: $case, ok: false, error: $e}'
			sko=$(jq -r '.results[0].artifact // empty' "$d/$name-build.json" 2>/dev/null || true)
			if [ -z "$sko" ] || [ ! -f "$sko" ]; then
				failed=1
				continue
			fi
			cp "$sko" "$d/$name.$ext"
			extra+=("$d/$name.$ext")
			case $s in
			sid)
				# the driver version: the folder the artifact is published in
				basename "$(dirname "$(dirname "$sko")")" >"$d/scap-version"
				basename "$sko" >"$d/scap-name"
				extra+=("$d/scap-version" "$d/scap-name")
				;;
			trixie)
				basename "$(dirname "$(dirname "$sko")")" >"$d/$name-version"
				extra+=("$d/$name-version")
				;;
			sid-bpf)
				basename "$sko" >"$d/scap-bpf-name"
				extra+=("$d/scap-bpf-name")
				;;
			esac
		done
		if [ -f "$d/scap.ko" ]; then
			# a copy "built for another kernel" (vermagic patched), for the preflight
			perl -0777 -pe 's/vermagic=6/vermagic=9/' "$d/scap.ko" >"$d/scap-badver.ko"
			extra+=("$d/scap-badver.ko")
		fi
		if sysroot=$("$vm/sysdig-root.sh" "$a" 2>"$d/sysdig-root.log"); then
			extra+=("$sysroot=sysroot")
		else
			tail -3 "$d/sysdig-root.log" >&2
			jq -cn --arg k "$k" --arg a "$a" --arg krel "$KREL" '{kernel: $k, arch: $a, kernel_release: $krel, case: "scap-userland", ok: false}'
			failed=1
		fi
		cat "$vm/scap-cases.sh" >>"$d/cases.sh"
		echo 'case_run scap scap_case' >>"$d/cases.sh"
		[ "$a" != amd64 ] || echo 'case_run scap-bpf scap_bpf_case' >>"$d/cases.sh"
	fi
	"$vm/initramfs.sh" "$d/initrd.gz" "$("$vm/busybox.sh" "$a")" "$d/cases.sh" \
		"$d/kdriver.ko" "$out/bin/$a/kdriver" "$out/bin/$a/kmod.test" ${extra[@]+"${extra[@]}"}
	rc=0
	start=$SECONDS
	"$vm/boot.sh" "$a" "$VMLINUZ" "$d/initrd.gz" "$d/console.log" || rc=$?
	tr -d '\r' <"$d/console.log" >"$d/console.txt"
	"$vm/parse-console.sh" "$k" "$a" "$KREL" "$d/console.txt" "$rc" $((SECONDS - start)) | tee "$d/results.jsonl"
	# (jq -e on the lines would judge by the last line's output only, and let
	# a failed case pass unless it came last: count them instead)
	[ "$(jq -c 'select(.ok == false)' "$d/results.jsonl" | wc -l)" -eq 0 ] || failed=1
done
log "results in $out"
exit $failed
