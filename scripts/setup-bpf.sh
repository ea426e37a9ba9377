#!/bin/sh
# setup-bpf.sh: tools to build the modern eBPF probe (make generate), run its
# tests and run the benchmark in bench/. Idempotent: installs only what is
# missing. Needs root (apt-get).
set -eu

pkgs=""
need() {
	# need PACKAGE COMMAND-OR-FILE
	if ! command -v "$2" >/dev/null 2>&1 && [ ! -e "$2" ]; then
		pkgs="$pkgs $1"
	fi
}

need clang-16 clang-16
need llvm-16 llvm-strip-16
need libbpf-dev /usr/include/bpf/bpf_helpers.h
need bpftool bpftool
need bpftrace bpftrace
# Unprivileged-user tests run the binary through setpriv.
need util-linux setpriv

if [ -n "$pkgs" ]; then
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $pkgs
fi
