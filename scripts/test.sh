#!/usr/bin/env bash
# Runs the whole kdriver test suite on this machine: set-up, static checks,
# unit and end-to-end tests (the eBPF ones on this host as root), a short
# run of every fuzz target, and the kernel-module VM matrix in qemu.
# With CI=true nothing that needs root, BPF or a VM may skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export KDRIVER_CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
mkdir -p "$KDRIVER_CACHE"
fuzztime=${KDRIVER_FUZZTIME:-5s}
# kdriver has no cgo, and the binaries the VM steps build for their guests
# are static (CGO_ENABLED=0): the whole suite builds that way, so vet, the
# tests and the guests' amd64 binaries share one build cache instead of
# compiling every package twice on a cold machine.
export CGO_ENABLED=0

steps=0
step() {
	steps=$((steps + 1))
	printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"
}

step setup
if [ "$(id -u)" -eq 0 ]; then
	bash scripts/setup.sh
elif [ "${CI:-}" = true ]; then
	echo "test.sh: CI runs as root; refusing to run the suite without it" >&2
	exit 1
fi

step static checks
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed: $unformatted" >&2
	exit 1
fi
go vet ./...
# Guest-only tests (kmod's, the modern probe's compat test) are built with
# -tags vmguest into the qemu guests' test binaries, never run on this host.
go vet -tags vmguest ./kmod ./bpf/modern
# Generated code: bpf/modern's TestGeneratedUpToDate rebuilds the probe and
# compares it with the committed bpf2go output.

step go test
# 50 minutes: on a cold machine builder's docker test debootstraps its two
# builder images inside the test (about 30 minutes on a loaded machine).
go test -count=1 -timeout 50m ./...

step fuzz "($fuzztime each)"
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $f"
		log=$(mktemp)
		# Go's fuzzer sometimes ends a run with a bare "context deadline
		# exceeded" when its time is up under load, with no failing input:
		# that run is repeated once; any finding fails at once.
		for try in 1 2; do
			if go test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" "$pkg" >"$log" 2>&1; then
				break
			fi
			if [ "$try" = 2 ] || grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
				cat "$log" >&2
				exit 1
			fi
			echo "fuzz $f: deadline hiccup without a finding, running again"
		done
		rm -f "$log"
	done
done

# The VM suites set themselves up through setup.sh above.
export KDRIVER_VM_SETUP=0

step "kernel module and legacy eBPF probe in qemu: Debian 6.1 and 6.12, amd64 and arm64"
scripts/vmtest --matrix ci

step "modern eBPF probe in qemu: other kernels and arm64"
bpf/modern/vmtest/run.sh

step "builder: 5.10 (gcc-10), sid 7.x and trixie 6.12 (gcc-14) in builder containers: kdriver's and Falco's modules and probes, verified in qemu"
scripts/builder-vmtest.sh

# Every step above exits the script on failure, so reaching here means all passed.
echo "suite: $steps passed, 0 failed"
