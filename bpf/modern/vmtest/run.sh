#!/bin/bash
# bpf/modern/vmtest/run.sh [KERNEL:ARCH ...]: boot real Debian kernels in
# qemu (TCG) and run `kdriver verify --type modern-ebpf` and `kdriver install`
# inside, so that the arm64 object and older kernels are proven too, not
# only this host's. Uses the VM helpers of scripts/vm (kernels resolved from
# the archive at run time, cached under ${KDRIVER_CACHE:-/var/cache/kdriver-dev}).
# Default: 6.1:amd64 6.1:arm64 6.12:amd64 6.12:arm64. Needs scripts/setup-vm.sh.
# Prints one line per case: "ok|FAIL KERNEL ARCH CASE"; exits 1 on a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
vm=$repo/scripts/vm
[ $# -gt 0 ] || set -- 6.1:amd64 6.1:arm64 6.12:amd64 6.12:arm64
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# KDRIVER_VMTEST_CASES selects cases (default all); KDRIVER_VM_LOGLEVEL the
# guest's console log level (boot.sh; 7 shows kernel stack traces).
cases=${KDRIVER_VMTEST_CASES:-verify install events-shared gotest}
: >"$work/cases.sh"
for c in $cases; do
	case $c in
	verify) echo 'case_run verify /kdriver verify --type modern-ebpf --timeout 120s --buf-size-preset 1' ;;
	install) echo 'case_run install /kdriver install --verify-timeout 120s --buf-size-preset 1' ;;
	events-shared) echo 'case_run events-shared /kdriver events --duration 2s --type procexit --cpus-for-each-buffer 0 --buf-size-preset 1' ;;
	# The probe's own tests: every captured syscall's parameters on this arch,
	# 32-bit programs (the host may run none: ia32 emulation off at boot), and
	# the exec entries through fentry (the host may refuse trampolines).
	gotest) echo 'case_run gotest /modern.test -test.v -test.run "TestSyscallEvents|TestOpenCapturesOpenat|TestCompatSyscallsNotReported|TestExecPendingStaleEntries|TestExecLostEntryCounted|TestExecEntryPrograms"' ;;
	*) echo "vmtest: unknown case $c (verify, install, events-shared, gotest)" >&2; exit 2 ;;
	esac >>"$work/cases.sh"
done

failed=0
for spec in "$@"; do
	kernel=${spec%%:*} arch=${spec##*:}
	echo "vmtest: $kernel/$arch: preparing" >&2
	eval "$("$vm/kernel.sh" "$kernel" "$arch")"
	busybox=$("$vm/busybox.sh" "$arch")
	(cd "$repo" && CGO_ENABLED=0 GOARCH="$arch" go build -o "$work/kdriver" ./cmd/kdriver &&
		CGO_ENABLED=0 GOARCH="$arch" go test -c -tags vmguest -o "$work/modern.test" ./bpf/modern)
	# Kernels whose BPF trampolines attach to kernel functions (amd64 5.5+;
	# arm64 6.4+, with ftrace direct calls: 6.1 arm64 refuses) must take
	# the exec entries through fentry (TestExecEntryPrograms checks it) when
	# the probe runs in tp_btf mode, the only one that uses them: 5.11+
	# (bpf_get_current_task_btf); elsewhere the syscall tracepoints
	# (syscalls:sys_enter_execve) must (5.10 runs raw tracepoints and those).
	{
		case $arch:$KREL in
		amd64:5.1[1-9]* | amd64:[6-9].* | \
			arm64:6.[4-9]* | arm64:6.[1-9][0-9]* | arm64:[7-9].*) echo 'export KDRIVER_EXPECT_FENTRY=1' ;;
		esac
		cat "$work/cases.sh"
	} >"$work/cases-spec.sh"
	"$vm/initramfs.sh" "$work/initrd-$arch.gz" "$busybox" "$work/cases-spec.sh" "$work/kdriver" "$work/modern.test"
	log=$work/console-$kernel-$arch.log
	echo "vmtest: $kernel/$arch: booting $KREL" >&2
	"$vm/boot.sh" "$arch" "$VMLINUZ" "$work/initrd-$arch.gz" "$log" || true
	for c in $cases; do
		body=$(sed -n "/KDRIVER-CASE-BEGIN $c\$/,/KDRIVER-CASE-END $c /p" "$log")
		# a skipped guest test, or a -test.run matching nothing, passed nothing
		if grep -q "KDRIVER-CASE-END $c rc=0" "$log" &&
			! printf '%s\n' "$body" | grep -qE '^ *--- SKIP|^testing: warning: no tests to run'; then
			echo "ok   $KREL $arch $c"
		else
			echo "FAIL $KREL $arch $c"
			failed=1
			sed -n "/KDRIVER-CASE-BEGIN $c/,/KDRIVER-CASE-END $c/p" "$log" | tail -40 >&2
		fi
	done
	if [ -n "${KDRIVER_VMTEST_KEEP:-}" ]; then
		cp "$log" "$KDRIVER_VMTEST_KEEP/"
	fi
done
exit $failed
