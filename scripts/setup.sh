#!/usr/bin/env bash
# Installs everything kdriver's build and tests need on a fresh Debian 12
# machine. Idempotent: a second run only checks. Each area has its own
# scripts/setup-<area>.sh; this runs them all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root (it installs Debian packages)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# apt_install PKG...: installs the packages that are missing, updating the
# package lists once per run when something must be installed.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ -z "${KDRIVER_APT_UPDATED:-}" ]; then
		apt-get -o DPkg::Lock::Timeout=900 update -qq
		export KDRIVER_APT_UPDATED=1
	fi
	apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
export -f apt_install

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null || { echo "setup.sh: Go 1.26 is required" >&2; exit 1; }

apt_install ca-certificates git make gcc libc6-dev

# Each area's time is printed so that a cold run shows what dominates it
# (docs/testing.md).
# The Kubernetes build is CPU (about 10 minutes cold, nothing warm); the
# other steps mostly download and unpack: it runs beside them.
k8slog=$(mktemp)
(
	k8sstart=$(date +%s)
	bash "$here/k8s/build.sh"
	printf -- '--- k8s/build.sh (in the background): %ds\n' $(($(date +%s) - k8sstart))
) >"$k8slog" 2>&1 &
k8spid=$!
export KDRIVER_K8S_BUILD=background
for s in "$here"/setup-*.sh; do
	[ -e "$s" ] || continue
	start=$(date +%s)
	if ! bash "$s"; then
		kill "$k8spid" 2>/dev/null || true
		exit 1
	fi
	printf -- '--- %s: %ds\n' "$(basename "$s")" $(($(date +%s) - start))
done
others=$(date +%s)
if ! wait "$k8spid"; then
	cat "$k8slog" >&2
	echo "setup.sh: the Kubernetes build (scripts/k8s/build.sh) failed" >&2
	exit 1
fi
cat "$k8slog"
rm -f "$k8slog"
printf -- '--- waited for the Kubernetes build: %ds\n' $(($(date +%s) - others))
