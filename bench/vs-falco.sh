#!/bin/sh
# bench/vs-falco.sh [vsfalco flags]: kdriver's modern probe against Falco's
# modern probe, interleaved on the same workloads, printing the markdown
# tables of docs/benchmarks.md with the ratios kdriver/Falco. Run as root
# from anywhere.
#
# The peer is built once by bench/falco-peer.sh into $FALCO_PEER (default
# ${KDRIVER_CACHE:-/var/cache/kdriver-dev}/falco-peer) from the trees named
# by LIBS_SRC (falcosecurity/libs at 0.23.2) and LIBBPF_SRC (libbpf/libbpf
# at v1.3.0); see that script for how to get them and what it needs.
set -eu
cd "$(dirname "$0")/.."
peer=${FALCO_PEER:-${KDRIVER_CACHE:-/var/cache/kdriver-dev}/falco-peer}
if [ ! -x "$peer/scap-open" ]; then
	: "${LIBS_SRC:?set LIBS_SRC to a falcosecurity/libs 0.23.2 tree (see bench/falco-peer.sh)}"
	: "${LIBBPF_SRC:?set LIBBPF_SRC to a libbpf v1.3.0 tree (see bench/falco-peer.sh)}"
	echo "building Falco's modern probe and scap-open into $peer (about 15 minutes)" >&2
	bench/falco-peer.sh "$LIBS_SRC" "$LIBBPF_SRC" "$peer" >/dev/null
fi
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Peer: $(cat "$peer/peer.txt" 2>/dev/null || echo "$peer"); kdriver's probe: clang-16 (bpf/modern/gen.go); $(go version | cut -d' ' -f3)"
echo
go build -o /tmp/kdriver-vsfalco ./bench/vsfalco
/tmp/kdriver-vsfalco -scap-open "$peer/scap-open" -preload "$peer/memlock.so" "$@"
