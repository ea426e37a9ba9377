#!/usr/bin/env bash
# setup-bpf.sh: tools to build the modern eBPF probe (make generate), run its
# tests and run the benchmark in bench/: clang-16 and llvm-strip-16 (bpf2go),
# libbpf-dev (bpf_helpers.h), bpftool (regenerating vmlinux.h), bpftrace (the
# benchmark's peer), util-linux (setpriv). Idempotent: installs only what is
# missing. Needs root. Run by scripts/setup.sh.
set -euo pipefail

pkgs=()
need() {
	# need PACKAGE COMMAND-OR-FILE
	if ! command -v "$2" >/dev/null 2>&1 && [ ! -e "$2" ]; then
		pkgs+=("$1")
	fi
}

need clang-16 clang-16
need llvm-16 llvm-strip-16
need libbpf-dev /usr/include/bpf/bpf_helpers.h
need bpftool bpftool
need bpftrace bpftrace
need util-linux setpriv

[ ${#pkgs[@]} -eq 0 ] && exit 0
if declare -F apt_install >/dev/null; then
	apt_install "${pkgs[@]}" # from scripts/setup.sh: updates the lists once
else
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${pkgs[@]}"
fi
