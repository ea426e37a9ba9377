package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCompiler(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Compiler
	}{
		{"debian 6.1 auto.conf", map[string]string{
			"include/config/auto.conf": "CONFIG_CC_VERSION_TEXT=gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\nCONFIG_GCC_VERSION=120200\n",
			".config":                  "CONFIG_CC_VERSION_TEXT=\"gcc-99 (other) 99.1.0\"\n",
			".kernelvariables":         "override ARCH = x86\nCC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-12\n",
		}, Compiler{Text: "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", Family: "gcc", Version: "12.2.0", Major: 12, Command: "gcc-12", Source: "include/config/auto.conf"}},
		{"debian 6.12 .config with triplet", map[string]string{
			".config": "# c\nCONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n",
		}, Compiler{Text: "x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", Family: "gcc", Version: "12.2.0", Major: 12, Command: "gcc-12", Source: ".config"}},
		{"red hat", map[string]string{
			".config": "CONFIG_CC_VERSION_TEXT=\"gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)\"\n",
		}, Compiler{Text: "gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)", Family: "gcc", Version: "11.4.1", Major: 11, Command: "gcc", Source: ".config"}},
		{"clang", map[string]string{
			".config": "CONFIG_CC_VERSION_TEXT=\"Debian clang version 16.0.6 (15)\"\n",
		}, Compiler{Text: "Debian clang version 16.0.6 (15)", Family: "clang", Version: "16.0.6", Major: 16, Command: "clang", Source: ".config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, body := range tt.files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755)
				os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644)
			}
			got, err := ReadCompiler(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := ReadCompiler(t.TempDir()); !errors.Is(err, ErrNoCompiler) {
		t.Errorf("empty tree: %v, want ErrNoCompiler", err)
	}
}

// fakeCompilers puts scripts answering -dumpversion on a PATH of their own.
func fakeCompilers(t *testing.T, versions map[string]string) {
	dir := t.TempDir()
	for name, v := range versions {
		os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho "+v+"\n"), 0o755)
	}
	t.Setenv("PATH", dir)
}

func TestHostCompiler(t *testing.T) {
	fakeCompilers(t, map[string]string{"gcc": "14.2.0", "gcc-12": "12.2.0", "aarch64-linux-gnu-gcc-12": "12.2.0"})
	ctx := context.Background()
	tests := []struct {
		name, prefix string
		c            Compiler
		want         string // base name, or "" for ErrNoCompiler
	}{
		{"exact command", "", Compiler{Family: "gcc", Major: 12, Command: "gcc-12"}, "gcc-12"},
		{"plain gcc of the same major", "", Compiler{Family: "gcc", Major: 14, Command: "gcc-14"}, "gcc"},
		{"cross", "aarch64-linux-gnu-", Compiler{Family: "gcc", Major: 12, Command: "gcc-12"}, "aarch64-linux-gnu-gcc-12"},
		{"older major is never replaced", "", Compiler{Family: "gcc", Major: 10, Command: "gcc-10", Text: "gcc-10 (Debian 10.2.1-6) 10.2.1"}, ""},
		{"no cross compiler", "aarch64-linux-gnu-", Compiler{Family: "gcc", Major: 14, Command: "gcc-14"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HostCompiler(ctx, tt.c, tt.prefix)
			if tt.want == "" {
				if !errors.Is(err, ErrNoCompiler) || !strings.Contains(err.Error(), "--backend docker") {
					t.Fatalf("got %q, %v; want ErrNoCompiler suggesting --backend docker", got, err)
				}
				return
			}
			if err != nil || filepath.Base(got) != tt.want {
				t.Fatalf("got %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func FuzzCompilerText(f *testing.F) {
	f.Add("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0")
	f.Add("Debian clang version 16.0.6 (15)")
	f.Fuzz(func(t *testing.T, s string) {
		c := Compiler{Text: s}
		if err := c.parseText(); err == nil && (c.Major <= 0 || c.Version == "") {
			t.Fatalf("%q: accepted without a version: %+v", s, c)
		}
	})
}

func TestBaseSuite(t *testing.T) {
	for in, want := range map[string]string{"bookworm-security": "bookworm", "bullseye-updates": "bullseye", "sid": "sid", "bookworm-backports": "bookworm", "": ""} {
		if got := BaseSuite(in); got != want {
			t.Errorf("BaseSuite(%q) = %q, want %q", in, got, want)
		}
	}
}
