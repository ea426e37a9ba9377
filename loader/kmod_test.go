package loader

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader/host"
)

// TestKmodPreflight: a --file module is checked against the host before
// anything reaches the kernel, and the error names the mismatch.
func TestKmodPreflight(t *testing.T) {
	const amd = "../kmod/testdata/kdriver-6.1.0-56-amd64.ko"
	for _, tc := range []struct {
		name    string
		file    string
		arch    kernelrelease.Arch
		release string
		err     error
		inText  string
	}{
		{"matches", amd, kernelrelease.ArchX86_64, "6.1.0-56-amd64", nil, ""},
		{"other release", amd, kernelrelease.ArchX86_64, "6.1.0-57-amd64", kmod.ErrWrongKernel, "6.1.0-57-amd64"},
		{"other arch", amd, kernelrelease.ArchAarch64, "6.1.0-56-amd64", kmod.ErrWrongArch, "aarch64"},
		{"not a module", "kmod.go", kernelrelease.ArchX86_64, "6.1.0-56-amd64", kmod.ErrModuleFormat, "kmod.go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDriver(Kmod, DriverConfig{Kmod: KmodOptions{File: tc.file}})
			if err != nil {
				t.Fatal(err)
			}
			f := host.Facts{Arch: tc.arch, Kernel: host.Kernel{Release: tc.release}}
			lines, err := d.Preflight(context.Background(), f)
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.inText) {
				t.Fatalf("error %q does not name %q", err, tc.inText)
			}
			if err == nil && (len(lines) != 1 || !strings.Contains(lines[0], "kernel 6.1.0-56-amd64")) {
				t.Fatalf("preflight said %q", lines)
			}
		})
	}
}

func TestKmodNoFile(t *testing.T) {
	if ok, _ := kmod.Loaded("", kmod.ModuleName); ok {
		testenv.Missing(t, "a kdriver module is loaded on this host: unload it (kdriver cleanup)")
	}
	d, err := NewDriver(Kmod, DriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Preflight(context.Background(), host.Facts{}); !errors.Is(err, ErrNoArtifact) {
		t.Fatalf("preflight without a file: %v, want ErrNoArtifact", err)
	}
	msg, err := d.Cleanup(context.Background())
	if err != nil || !strings.Contains(msg, "not loaded") {
		t.Fatalf("cleanup with nothing loaded: %q, %v", msg, err)
	}
}
