#!/bin/sh
# bench/falco-peer.sh SRC OUT: build Falco's modern eBPF probe and its stock
# reader, scap-open, from a falcosecurity/libs source tree SRC into OUT, for
# bench/vs-falco.sh. Nothing of libs is kept in this repository.
#
# Getting a tree: a checkout of the tag below of the falcosecurity/libs
# repository (git clone, then git checkout 0.23.2), from wherever your git
# configuration points to. What it needs on Debian 12: cmake, clang (>= 12;
# clang 16 works, clang 21's output fails the 6.18 verifier on execve_x),
# bpftool, libbpf-dev, libelf-dev, zlib1g-dev, uthash-dev, a C/C++ compiler
# (cmake and uthash-dev are not in scripts/setup-bpf.sh). About 15 minutes on
# 2 cores; only libscap, the modern engine, its skeleton and scap-open are
# built (not libsinsp, not the other drivers).
#
# Two things the host needs that libs does not do by itself:
# - libpman raises RLIMIT_MEMLOCK and fails when it cannot (no
#   CAP_SYS_RESOURCE in this sandbox); 6.18 charges BPF memory to the
#   cgroup, so OUT/memlock.so, preloaded, lets that setrlimit succeed.
# - CLANG= picks the compiler (default: clang-16, else clang).
set -eu
LIBS_TAG=0.23.2
src=${1:?usage: falco-peer.sh LIBS_SOURCE_TREE OUT_DIR}
out=${2:?usage: falco-peer.sh LIBS_SOURCE_TREE OUT_DIR}
src=$(cd "$src" && pwd)
[ -f "$src/userspace/libscap/examples/01-open/scap_open.c" ] ||
	{ echo "$src: not a falcosecurity/libs tree" >&2; exit 1; }
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
	tag=$(git -C "$src" describe --tags --exact-match 2>/dev/null || echo "")
	[ "$tag" = "$LIBS_TAG" ] ||
		echo "warning: $src is at '${tag:-an untagged commit}', the benchmark names $LIBS_TAG" >&2
fi
clang=${CLANG:-$(command -v clang-16 || command -v clang)}
mkdir -p "$out/wrap" "$out/build"
out=$(cd "$out" && pwd)

# A top-level project with libscap only: libs' own top level also
# configures libsinsp and its dependencies, which scap-open does not use.
cat >"$out/wrap/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.12)
project(libscap-only C CXX)
set(LIBS_DIR ${LIBS_SRC})
list(APPEND CMAKE_MODULE_PATH ${LIBS_SRC}/cmake/modules)
include(GNUInstallDirs)
include(ExternalProject)
set(CMAKE_BUILD_TYPE Release)
add_subdirectory(${LIBS_SRC}/driver ${PROJECT_BINARY_DIR}/driver)
include(CompilerFlags)
include(libscap)
EOF

cat >"$out/memlock.c" <<'EOF'
/* Lets setrlimit(RLIMIT_MEMLOCK) succeed without CAP_SYS_RESOURCE: on
 * kernels that charge BPF memory to the cgroup (5.11+) the limit is unused. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/resource.h>

int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	int (*real)(__rlimit_resource_t, const struct rlimit *) = dlsym(RTLD_NEXT, "setrlimit");

	if (res == RLIMIT_MEMLOCK)
		return 0;
	return real(res, rl);
}
EOF
cc -O2 -shared -fPIC -o "$out/memlock.so" "$out/memlock.c" -ldl

cd "$out/build"
cmake "$out/wrap" -DLIBS_SRC="$src" -DFALCOSECURITY_LIBS_VERSION="$LIBS_TAG" \
	-DUSE_BUNDLED_DEPS=OFF -DBUILD_LIBSCAP_MODERN_BPF=ON -DBUILD_LIBSCAP_GVISOR=OFF \
	-DCREATE_TEST_TARGETS=OFF -DENABLE_ENGINE_KMOD=OFF -DENABLE_ENGINE_BPF=OFF \
	-DBUILD_DRIVER=OFF -DMODERN_CLANG_EXE="$clang" >cmake.log
make -j"$(nproc)" scap-open >make.log
ln -sf "$out/build/libscap/examples/01-open/scap-open" "$out/scap-open"
echo "$LIBS_TAG $("$clang" --version | head -1)" >"$out/peer.txt"
echo "$out/scap-open"
