#!/usr/bin/env bash
# setup-k8s.sh: what the single-node Kubernetes tests need (scripts/k8s/):
# etcd, containerd, runc and the CNI loopback plugin from Debian, openssl for
# the cluster's certificates, and kube-apiserver, kube-controller-manager,
# kube-scheduler and kubelet built from the Go module proxy into
# $KDRIVER_CACHE/k8s (scripts/k8s/build.sh; ~10 min cold, nothing warm).
# The matrix test on the cluster (deploy/kubernetes TestCluster/MatrixJobs)
# also takes the builder mirror and debootstrap of setup-builder.sh and the
# docker-registry of setup-stores.sh. Idempotent. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

missing=()
for p in etcd-server containerd runc containernetworking-plugins openssl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# setup.sh builds them in the background beside the other set-up steps.
[ "${KDRIVER_K8S_BUILD:-}" = background ] || bash "$here/k8s/build.sh"
