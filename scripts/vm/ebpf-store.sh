#!/bin/bash
# ebpf-store.sh OUT KDRIVER SET:RELEASE:ARCH:VERSION...: build kdriver's legacy
# eBPF probe for each kernel resolved by kernel.sh with `kdriver build --kind
# ebpf` (KDRIVER: a kdriver binary for this host) and publish the probes with
# `kdriver artifact push` to the file store OUT/ebpf-store, as a user would.
#
# The builder reads kernels from repository metadata only, so the very
# packages kernel.sh downloaded (headers, -common, kbuild, image; plus the
# target arch's kbuild, which a cross build's matrix entry names) are indexed
# as a Debian-style archive under $VM_CACHE/ebpf-mirror/<digest of the file
# list> and served on 127.0.0.1 while the builder runs. Builds are cached by
# the builder's input-addressed cache in $VM_CACHE/ebpf-build: a warm run
# builds nothing. Writes OUT/ebpf-build.json (the builder's report) and
# OUT/ebpf-build.log. With SCAP_DEB set, Falco's probe too (below).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
out=${1:?usage: ebpf-store.sh OUT KDRIVER SET:RELEASE:ARCH:VERSION...}
kdriver=${2:?usage: ebpf-store.sh OUT KDRIVER SET:RELEASE:ARCH:VERSION...}
shift 2
[ $# -gt 0 ] || { echo "ebpf-store: no kernels" >&2; exit 2; }
debs=$VM_CACHE/debs
log=$out/ebpf-build.log
: >"$log"

# deb NAME VERSION ARCH [SET]: the cached package file, downloaded through
# SET's apt state (kernel.sh prepared it) when missing.
deb() {
	local f=$debs/${1}_${2//:/%3a}_$3.deb
	if [ ! -f "$f" ] && [ -n "${4:-}" ]; then
		apt_opts "$4"
		(cd "$debs" && apt-get "${APT_OPTS[@]}" download "$1:$3=$2" >>"$log" 2>&1) || true
	fi
	[ -f "$f" ] && echo "$f"
}

# The package files of each kernel, per suite.
vm_lock ebpf-mirror
mkdir -p "$debs"
list=$out/ebpf-mirror.list
: >"$list"
sets=()
for k in "$@"; do
	IFS=: read -r set krel arch kver <<<"$k"
	h=$(deb "linux-headers-$krel" "$kver" "$arch") ||
		{ echo "ebpf-store: no linux-headers-$krel $kver ($arch) in $debs: run kernel.sh first" >&2; exit 1; }
	echo "$set $h" >>"$list"
	deps=$(dpkg-deb -f "$h" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//')
	common=$(grep -m1 '^linux-headers-.*-common' <<<"$deps") || true
	kb=$(grep -m1 '^linux-kbuild-' <<<"$deps") ||
		{ echo "ebpf-store: $h depends on no linux-kbuild package" >&2; exit 1; }
	f=$(deb "$common" "$kver" all) || { echo "ebpf-store: no $common $kver in $debs" >&2; exit 1; }
	echo "$set $f" >>"$list"
	# the target's kbuild (the matrix entry names it) and, for a cross
	# build, the build host's, whose helpers run here
	for a in "$arch" amd64; do
		f=$(deb "$kb" "$kver" "$a" "$set") || { echo "ebpf-store: cannot get $kb:$a $kver" >&2; exit 1; }
		echo "$set $f" >>"$list"
	done
	# the image gives uname -v, which names the artifact (the headers'
	# version stands in when absent: Debian builds both from one source)
	for n in "linux-image-$krel" "linux-image-$krel-unsigned"; do
		if f=$(deb "$n" "$kver" "$arch"); then
			echo "$set $f" >>"$list"
			break
		fi
	done
	case " ${sets[*]} " in *" $set "*) ;; *) sets+=("$set") ;; esac
done
sort -u -o "$list" "$list"

# The archive, made once per file list.
key=$( (cat "$list"; sha256sum "$0") | sha256sum | cut -c1-16)
mirror=$VM_CACHE/ebpf-mirror/$key
if [ ! -f "$mirror/.done" ]; then
	rm -rf "$mirror.tmp"
	while read -r set f; do
		mkdir -p "$mirror.tmp/pool/$set"
		ln -f "$f" "$mirror.tmp/pool/$set/" 2>/dev/null || cp "$f" "$mirror.tmp/pool/$set/"
	done <"$list"
	for set in "${sets[@]}"; do
		(
			cd "$mirror.tmp"
			for a in amd64 arm64; do
				d=dists/$set/main/binary-$a
				mkdir -p "$d"
				dpkg-scanpackages -m -h sha256 -a "$a" "pool/$set" >"$d/Packages" 2>>"$log"
				gzip -kf9n "$d/Packages"
			done
			apt-ftparchive -o APT::FTPArchive::Release::Suite="$set" \
				-o APT::FTPArchive::Release::Codename="$set" \
				-o APT::FTPArchive::Release::Architectures="amd64 arm64" \
				-o APT::FTPArchive::Release::Components=main \
				release "dists/$set" >"dists/$set/Release.new"
			mv "dists/$set/Release.new" "dists/$set/Release"
		)
	done
	touch "$mirror.tmp/.done"
	rm -rf "$mirror"
	mv "$mirror.tmp" "$mirror"
	# keep the archives of the last few runs only
	find "$VM_CACHE/ebpf-mirror" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -n | head -n -4 |
		cut -d' ' -f2- | xargs -r rm -rf
fi
touch "$mirror"
exec 9>&-

# Serve it on 127.0.0.1 while the builder reads it; stopped by its PID.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$mirror" "$port" >>"$log" 2>&1 9>&- &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
	sleep 0.1
done

suites=()
for set in "${sets[@]}"; do suites+=(--suite "$set"); done
rm -rf "$out/ebpf-out" "$out/ebpf-store"
"$kdriver" build matrix --mirror "http://127.0.0.1:$port" "${suites[@]}" --arches amd64 --arches arm64 \
	-f "$out/ebpf-matrix.yaml" >>"$log" 2>&1 || { tail -5 "$log" >&2; exit 1; }
rc=0
"$kdriver" build --kind ebpf --matrix "$out/ebpf-matrix.yaml" --backend local -j 2 \
	--output-dir "$out/ebpf-out" --cache-dir "$VM_CACHE/ebpf-build" --report "$out/ebpf-build.json" >>"$log" 2>&1 || rc=$?
[ -f "$out/ebpf-build.json" ] || { tail -5 "$log" >&2; exit 1; }
if [ -d "$out/ebpf-out" ]; then
	"$kdriver" --repo "$out/ebpf-store" artifact push "$out/ebpf-out" >>"$log" 2>&1 || { tail -5 "$log" >&2; exit 1; }
fi
# SCAP_DEB (sid's falcosecurity-scap-dkms): Falco's probe, its bpf/, built
# the same way for every kernel (the arm64 ones cross-built: the template
# gives clang the target's triple), into OUT/scap-bpf-out (the report in
# OUT/scap-bpf-build.json).
if [ -n "${SCAP_DEB:-}" ]; then
	rm -rf "$out/scap-bpf-out"
	"$kdriver" build matrix --mirror "http://127.0.0.1:$port" "${suites[@]}" --arches amd64 --arches arm64 \
		-f "$out/scap-bpf-matrix.yaml" >>"$log" 2>&1 || { tail -5 "$log" >&2; exit 1; }
	"$kdriver" build --kind ebpf --matrix "$out/scap-bpf-matrix.yaml" --source "$SCAP_DEB" --backend local -j 2 \
		--output-dir "$out/scap-bpf-out" --cache-dir "$VM_CACHE/ebpf-build" --report "$out/scap-bpf-build.json" >>"$log" 2>&1 || rc=$?
	[ -f "$out/scap-bpf-build.json" ] || { tail -5 "$log" >&2; exit 1; }
fi
exit $rc
