#!/bin/bash
# parse-console.sh KERNEL ARCH KREL CONSOLE QEMU_RC SECONDS: one JSON line
# per guest case found in CONSOLE, then "boot" (did the guest finish) and
# "kernel-log" (no WARNING, BUG, Oops, lockup or stall in the kernel log).
set -euo pipefail
k=$1 a=$2 krel=$3 console=$4 qrc=$5 secs=$6

line() {
	jq -cn --arg kernel "$k" --arg arch "$a" --arg krel "$krel" --arg case "$1" \
		--argjson ok "$2" --argjson seconds "$3" --argjson detail "$4" --arg log "$console" \
		'{kernel: $kernel, arch: $arch, kernel_release: $krel, case: $case, ok: $ok,
		  seconds: $seconds, detail: $detail, log: $log}'
}

# Cases: the text between BEGIN and END markers.
awk '
	/^KDRIVER-CASE-BEGIN / { name = $2; body = ""; open = 1; next }
	/^KDRIVER-CASE-END / {
		rc = $3; sub(/rc=/, "", rc); s = $4; sub(/seconds=/, "", s)
		printf "%s\t%s\t%s\n", $2, rc, s; open = 0; next
	}
	END { if (open) printf "%s\t-1\t0\n", name }
' "$console" | while IFS=$'\t' read -r name rc s; do
	body=$(awk -v n="$name" '
		$0 == "KDRIVER-CASE-BEGIN " n { on = 1; next }
		on && /^KDRIVER-CASE-END / { exit }
		on { print }' "$console")
	results=$(printf '%s\n' "$body" | sed -n 's/^KDRIVER-RESULT //p' | jq -cs 'add // {}' 2>/dev/null || echo '{}')
	# A guest test that skipped, or a -test.run that matched nothing (a test
	# binary built without -tags vmguest), passed nothing: it fails the case.
	skipped=$(printf '%s\n' "$body" | grep -E '^ *--- SKIP|^testing: warning: no tests to run' | head -5 || true)
	if [ "$rc" = 0 ] && [ -n "$skipped" ]; then
		line "$name" false "$s" "$(jq -cn --argjson r "$results" --arg out "$skipped" \
			'$r + {error: "a guest test skipped or none ran", output: $out}')"
	elif [ "$rc" = 0 ]; then
		line "$name" true "$s" "$results"
	else
		why="exit code $rc"
		[ "$rc" = -1 ] && why="did not finish (guest stopped or timed out)"
		detail=$(jq -cn --argjson r "$results" --arg why "$why" \
			--arg out "$(printf '%s\n' "$body" | grep -v '^\[ *[0-9.]*\]' | tail -15)" \
			'$r + {error: $why, output: $out}')
		line "$name" false "$s" "$detail"
	fi
done

if grep -q '^KDRIVER-VM-DONE' "$console"; then
	line boot true "$secs" "$(jq -cn --argjson rc "$qrc" '{qemu_exit: $rc}')"
else
	why="guest did not finish"
	[ "$qrc" = 124 ] && why="guest timed out"
	line boot false "$secs" "$(jq -cn --argjson rc "$qrc" --arg why "$why" \
		--arg tail "$(tail -20 "$console")" '{qemu_exit: $rc, error: $why, console_tail: $tail}')"
fi

bad=$(grep -E 'WARNING:|BUG:|Oops|kernel BUG|general protection fault|Call Trace|soft lockup|hard LOCKUP|rcu.*stall|hung_task|UBSAN|KASAN|refcount_t:' "$console" |
	sort -u | head -20 || true)
if [ -z "$bad" ]; then
	line kernel-log true 0 '{}'
else
	line kernel-log false 0 "$(jq -cn --arg m "$bad" '{error: "kernel log has warnings or oopses", lines: $m}')"
fi
