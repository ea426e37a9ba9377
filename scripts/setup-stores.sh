#!/bin/sh
# setup-stores.sh: what the artifact store tests and the fetch benchmark
# need: Debian's docker-registry (a real OCI registry the tests start on
# 127.0.0.1 with their own config) and curl (the benchmark's peer).
# Idempotent: installs only what is missing. Needs root (apt-get).
set -eu

pkgs=""
need() {
	# need PACKAGE COMMAND
	if ! command -v "$2" >/dev/null 2>&1; then
		pkgs="$pkgs $1"
	fi
}

need docker-registry docker-registry
need curl curl

if [ -n "$pkgs" ]; then
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $pkgs
fi
