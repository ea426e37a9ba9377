// Package builder prebuilds drivers for a matrix of kernels: it reads the
// compiler a kernel was built with from its headers, renders a build script
// (package templates), runs it through a Backend (the host toolchain, a
// container, a Kubernetes Job) and schedules a matrix of such builds in
// parallel, with retries and an input-addressed cache so that a rerun builds
// only what changed.
//
// Sub-packages: debian and rpm read repository metadata into a matrix
// (package matrix), download fetches and verifies, unpack extracts packages
// safely, headers assembles kernel build trees, kube is the Kubernetes
// backend (apart, because client-go is heavy).
package builder
