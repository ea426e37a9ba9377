#!/bin/sh
# bench/run.sh: run the syscall capture benchmark (kdriver's modern probe
# against no probe and against bpftrace on the same tracepoints) and print
# a markdown report with the machine, for docs/benchmarks.md.
# Needs root, bpftrace (scripts/setup-bpf.sh) and tracefs for bpftrace's
# tracepoint formats (mounted here if missing, and unmounted again at the
# end). Arguments go to syscallbench (-n, -workers, -repeat,
# -buf-size-preset, ...).
set -eu
cd "$(dirname "$0")/.."
if ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs nodev /sys/kernel/tracing
	trap 'umount /sys/kernel/tracing' EXIT
fi
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(bpftrace --version 2>/dev/null), $(go version | cut -d' ' -f3)"
echo
go build -o /tmp/kdriver-syscallbench ./bench/syscallbench
/tmp/kdriver-syscallbench "$@"
