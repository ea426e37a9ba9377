package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/artifacts"
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

// TestKmodLoadsWhatWasChecked: the module given to finit_module is the one
// hashed and preflighted, through one open file: replacing the path between
// the preflight and the load (a swapped cache file with a forged record, or
// a --file rewritten) does not change what is loaded.
func TestKmodLoadsWhatWasChecked(t *testing.T) {
	ko := readKo(t)
	arm, err := os.ReadFile("../kmod/testdata/kdriver-6.1.0-56-arm64.ko")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := kmod.Loaded("", kmod.ModuleName); ok {
		testenv.Missing(t, "a kdriver module is loaded on this host: unload it (kdriver cleanup)")
	}
	swap := func(t *testing.T, p string, b []byte) {
		t.Helper()
		tmp := p + ".evil"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		rec := hex.EncodeToString(s[:])
		if old, err := os.ReadFile(p + ".sha256"); err == nil {
			_, rest, _ := strings.Cut(string(old), "  ")
			os.WriteFile(p+".sha256", []byte(rec+"  "+rest), 0o644)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) KmodOptions
	}{
		{"from the cache", func(t *testing.T) KmodOptions {
			src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
				Store: &fakeStore{data: ko}}
			return KmodOptions{Artifacts: src, Policy: ArtifactPolicy{Download: true}}
		}},
		{"--file", func(t *testing.T) KmodOptions {
			p := filepath.Join(t.TempDir(), "kdriver.ko")
			os.WriteFile(p, ko, 0o644)
			return KmodOptions{File: p}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newKmodDriver(DriverConfig{Kmod: tc.cfg(t)})
			var loaded []byte
			d.load = func(_ context.Context, f *os.File, _ string) error {
				loaded, err = io.ReadAll(f)
				return err
			}
			if _, err := d.Preflight(context.Background(), kmodFacts("/")); err != nil {
				t.Fatal(err)
			}
			swap(t, d.Artifact().Path, arm)
			if _, err := d.Install(context.Background(), kmodFacts("/"), InstallOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(loaded, ko) {
				t.Fatalf("loaded %d bytes that are not the preflighted module (%d bytes)", len(loaded), len(ko))
			}
		})
	}
}

// TestKmodModuleName: a kit's module (Falco's scap) is preflighted, looked
// up and unloaded by its own name, not kdriver's.
func TestKmodModuleName(t *testing.T) {
	const amd = "../kmod/testdata/kdriver-6.1.0-56-amd64.ko"
	f := host.Facts{Arch: kernelrelease.ArchX86_64, Kernel: host.Kernel{Release: "6.1.0-56-amd64"}}
	d, err := NewDriver(Kmod, DriverConfig{Kmod: KmodOptions{File: amd, Module: "scap"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Preflight(context.Background(), f); !errors.Is(err, kmod.ErrWrongName) || !strings.Contains(err.Error(), "scap") {
		t.Fatalf("kdriver.ko preflighted as scap: %v, want ErrWrongName naming scap", err)
	}
	if ok, _ := kmod.Loaded("", "scap"); ok {
		testenv.Missing(t, "a scap module is loaded on this host: unload it (kdriver cleanup --driver-name scap)")
	}
	msg, err := d.Cleanup(context.Background())
	if err != nil || !strings.Contains(msg, "module scap is not loaded") {
		t.Fatalf("cleanup of scap: %q, %v", msg, err)
	}
}

// TestKmodOpensLibsReader: install's self-test of Falco's module reads its
// per-CPU scap devices, not kdriver's /dev/kdriver.
func TestKmodOpensLibsReader(t *testing.T) {
	d, err := NewDriver(Kmod, DriverConfig{Kmod: KmodOptions{Module: "scap", Libs: "scap"}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := d.Open(context.Background())
	if err == nil {
		src.Close()
		testenv.Missing(t, "a scap module is loaded on this host")
	}
	if !strings.Contains(err.Error(), "libs module scap") || !strings.Contains(err.Error(), "/dev/scap") {
		t.Fatalf("open: %v, want the scap devices", err)
	}
}
