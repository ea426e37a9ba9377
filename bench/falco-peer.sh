#!/bin/sh
# bench/falco-peer.sh LIBS_SRC LIBBPF_SRC OUT: build Falco's modern eBPF
# probe and its stock reader, scap-open, from a falcosecurity/libs source
# tree into OUT, for bench/vs-falco.sh. Nothing of libs is kept in this
# repository; the tree is copied to OUT/src and built there.
#
# Getting the trees: checkouts of the falcosecurity/libs repository at the
# tag below (git clone, git checkout 0.23.2) and of the libbpf/libbpf
# repository at v1.3.0 (the libbpf that libs 0.23.2 bundles: its BPF headers
# have PT_REGS_PARM6_CORE_SYSCALL, Debian 12's libbpf-dev 1.1 does not),
# from wherever your git configuration points to. What it needs on Debian
# 12: cmake, uthash-dev (neither is in scripts/setup-bpf.sh), clang-16,
# bpftool, libelf-dev, zlib1g-dev, make and a C/C++ compiler. About 15
# minutes on 2 idle cores; only libscap, the modern engine, its skeleton and
# scap-open are built (not libsinsp, not the other drivers).
#
# What it takes on this host besides libs' own build:
# - the 6.18 verifier rejects signal_deliver (four loads from a siginfo
#   pointer it treats as a scalar): the copy reads them with BPF_CORE_READ;
# - libpman raises RLIMIT_MEMLOCK and fails when it cannot (no
#   CAP_SYS_RESOURCE in this sandbox); 6.18 charges BPF memory to the
#   cgroup, so OUT/memlock.so, preloaded, lets that setrlimit succeed;
# - CLANG= picks the compiler (default clang-16, the one kdriver's probe is
#   built with; clang 21's output fails the 6.18 verifier on execve_x).
set -eu
LIBS_TAG=0.23.2
LIBBPF_TAG=v1.3.0
usage="usage: falco-peer.sh LIBS_SRC LIBBPF_SRC OUT_DIR"
src=${1:?$usage}
libbpf_src=${2:?$usage}
out=${3:?$usage}
src=$(cd "$src" && pwd)
libbpf_src=$(cd "$libbpf_src" && pwd)
[ -f "$src/userspace/libscap/examples/01-open/scap_open.c" ] ||
	{ echo "$src: not a falcosecurity/libs tree" >&2; exit 1; }
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
	tag=$(git -C "$src" describe --tags --exact-match 2>/dev/null || echo "")
	[ "$tag" = "$LIBS_TAG" ] ||
		echo "warning: $src is at '${tag:-an untagged commit}', the benchmark names $LIBS_TAG" >&2
fi
clang=$(command -v "${CLANG:-clang-16}") || { echo "falco-peer.sh: no compiler ${CLANG:-clang-16} (CLANG= names one)" >&2; exit 1; }
mkdir -p "$out/wrap" "$out/build" "$out/src"
out=$(cd "$out" && pwd)

# libbpf, static, with its headers, for libs' BPF code and for libpman.
make -s -C "$libbpf_src/src" BUILD_STATIC_ONLY=y OBJDIR="$out/libbpf/obj" \
	DESTDIR="$out/libbpf/root" NO_PKG_CONFIG=1 EXTRA_CFLAGS=-fPIC install >"$out/libbpf.log"

# A private copy of the tree: the build writes into it (driver_config.h).
(cd "$src" && tar --exclude=.git -cf - .) | (cd "$out/src" && tar -xf -)
sed -i -E 's/info->(si_code|_sifields\._[a-z]+\._pid)/BPF_CORE_READ(info, \1)/g' \
	"$out/src/driver/modern_bpf/programs/attached/events/signal_deliver.bpf.c"
src=$out/src

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
	-DBUILD_DRIVER=OFF -DMODERN_CLANG_EXE="$clang" -DDRIVER_VERSION="$LIBS_TAG+driver" \
	-DLIBBPF_INCLUDE="$out/libbpf/root/usr/include" \
	-DLIBBPF_LIB="$out/libbpf/root/usr/lib64/libbpf.a" >cmake.log
make -j"$(nproc)" scap-open >make.log
ln -sf "$out/build/libscap/examples/01-open/scap-open" "$out/scap-open"
echo "libs $LIBS_TAG, libbpf $LIBBPF_TAG, $("$clang" --version | head -1)" >"$out/peer.txt"
echo "$out/scap-open"
