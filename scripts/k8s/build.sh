#!/usr/bin/env bash
# Builds the Kubernetes control plane and kubelet that the cluster tests run
# (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet) from the
# k8s.io/kubernetes module on the Go module proxy, into
# $KDRIVER_CACHE/k8s/<version>/bin. Idempotent: a second run with the
# binaries in place does nothing.
#
# k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, ...)
# at ./staging with relative replaces, which a dependent module ignores: a
# scratch module outside kdriver's own requires it and pins every staging
# module to the matching v0.x.y, read from the module's own go.mod so the
# list follows the release.
set -euo pipefail
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
version=${K8S_VERSION:-v1.37.2}
cache=${KDRIVER_CACHE:-/var/cache/kdriver-dev}/k8s/$version
bin=$cache/bin
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

have() {
	for c in "${cmds[@]}"; do [ -x "$bin/$c" ] || return 1; done
}
have && exit 0
# One build at a time (setup.sh runs one in the background): a second
# waits, then finds the binaries in place.
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
have && exit 0

staging=v0.${version#v1.}
mod=$cache/module
mkdir -p "$mod" "$bin"
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
[ -f "$gomod" ] || { echo "k8s build: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
goline=$(grep -m1 '^go ' "$gomod")
{
	echo "module kdriver.local/k8s-build"
	echo
	echo "$goline"
	echo
	echo "require k8s.io/kubernetes $version"
	echo
	echo "replace ("
	sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
	echo ")"
} >"$mod/go.mod"
cd "$mod"
GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$version" >/dev/null 2>"$mod/get.log" || {
	cat "$mod/get.log" >&2
	exit 1
}

# The version the binaries report (kubelet and apiserver compare theirs).
minor=${version#v1.}
minor=${minor%%.*}
pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
ld="-s -w"
for p in "${pkgs[@]}"; do
	ld+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
	ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
# One go build for all four shares the compilation of their common packages.
tmp=$cache/bin.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
echo "k8s build: ${cmds[*]} $version (cold: ~10 min on 2 cores)" >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$tmp/" \
	"${cmds[@]/#/k8s.io/kubernetes/cmd/}"
for c in "${cmds[@]}"; do mv "$tmp/$c" "$bin/$c"; done
rmdir "$tmp"
