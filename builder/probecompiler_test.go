package builder

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/loader/host"
)

// debianKernel resolves Debian's 6.1 kernel for arch through the VM
// harness (scripts/vm/kernel.sh: downloaded once, cached under
// $KDRIVER_CACHE) and returns its release and headers tree.
func debianKernel(t *testing.T, arch string) (krel, kdir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "resolving Debian's kernel headers needs root (apt, as scripts/vmtest)")
	}
	out, err := exec.Command("../scripts/vm/kernel.sh", "6.1", arch).Output()
	if err != nil {
		t.Fatalf("scripts/vm/kernel.sh 6.1 %s: %v", arch, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "KREL="); ok {
			krel = v
		}
		if v, ok := strings.CutPrefix(l, "KDIR="); ok {
			kdir = v
		}
	}
	if krel == "" || kdir == "" {
		t.Fatalf("kernel.sh printed no KREL or KDIR:\n%s", out)
	}
	return krel, kdir
}

// The probe compiled on a node (headers at <root>/lib/modules/R/build)
// records that kernel's release, the uname -v it was given and its arch.
// A node builds for itself: amd64 natively here (cross builds are
// scripts/vmtest's, which runs the arm64 objects in arm64 guests).
func TestProbeCompilerBuildsForHostHeaders(t *testing.T) {
	for _, tc := range []struct{ deb, arch string }{{"amd64", "x86_64"}} {
		t.Run(tc.deb, func(t *testing.T) {
			krel, kdir := debianKernel(t, tc.deb)
			root := t.TempDir()
			mods := filepath.Join(root, "lib/modules", krel)
			if err := os.MkdirAll(mods, 0o755); err != nil {
				t.Fatal(err)
			}
			// relative: hostPath resolves absolute links inside the root
			rel, err := filepath.Rel(mods, kdir)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(rel, filepath.Join(mods, "build")); err != nil {
				t.Fatal(err)
			}
			const uv = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 (2026-12-01)"
			f := host.Facts{HostRoot: root, Arch: kernelrelease.Arch(tc.arch),
				Kernel: host.Kernel{Release: krel, Version: uv}}
			pc := &ProbeCompiler{LocalCompiler{DriverVersion: "9.9.9", TmpDir: t.TempDir()}}
			how, err := pc.Plan(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(how, "clang") || !strings.Contains(how, filepath.Join("lib/modules", krel, "build")) {
				t.Errorf("plan %q names neither clang nor the headers", how)
			}
			c, err := pc.Compile(context.Background(), f)
			if err != nil {
				t.Fatalf("%v\n%s", err, c.Log)
			}
			info, err := legacy.Inspect("compiled.o", bytes.NewReader(c.Module), int64(len(c.Module)))
			if err != nil {
				t.Fatal(err)
			}
			want := legacy.Info{KernelRelease: krel, KernelVersion: uv, Arch: tc.arch, DriverVersion: "9.9.9", API: info.API}
			if *info != want {
				t.Errorf("recorded %+v, want %+v", *info, want)
			}
			if !strings.Contains(c.Compiler, "clang ") {
				t.Errorf("compiler %q does not name clang's version", c.Compiler)
			}
		})
	}
}
