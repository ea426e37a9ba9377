package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of detect and printenv")

// TestGoldenHosts runs detect and printenv against every fixture host tree
// in testdata/hosts with Falco's driver name, version and repository, and
// compares the output with testdata/golden. Run with -update to rewrite.
func TestGoldenHosts(t *testing.T) {
	const hosts = "../../testdata/hosts"
	entries, err := os.ReadDir(hosts)
	if err != nil {
		t.Fatal(err)
	}
	falco := []string{"--driver-name", "falco", "--driver-version", "8.1.0+driver",
		"--repo", "https://download.falco.org/driver", "--repo", "oci://127.0.0.1:5000/falcosecurity"}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		root := filepath.Join(hosts, name)
		for _, c := range []struct {
			golden string
			args   []string
		}{
			{"detect/" + name + ".json", []string{"detect", "-o", "json"}},
			{"detect/" + name + ".txt", []string{"detect"}},
			{"printenv/" + name + ".json", []string{"printenv", "-o", "json"}},
			{"printenv/" + name + ".env", []string{"printenv"}},
		} {
			t.Run(c.golden, func(t *testing.T) {
				args := append([]string{"kdriver", "--host-root", root}, falco...)
				args = append(args, c.args...)
				var stdout, stderr bytes.Buffer
				if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				checkGolden(t, filepath.Join("testdata/golden", c.golden), stdout.Bytes())
			})
		}
	}
	if n < 15 {
		t.Errorf("%d fixture hosts, want at least 15", n)
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenHosts -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestExitCodes: detect and printenv map bad input to CLI.md's exit codes.
func TestExitCodes(t *testing.T) {
	const deb = "../../testdata/hosts/devbox-debian-6.18"
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"ok", []string{"detect", "--host-root", deb}, exitOK},
		{"unknown arch", []string{"detect", "--host-root", deb, "--arch", "riscv64"}, exitUsage},
		{"unknown type", []string{"detect", "--host-root", deb, "--type", "gvisor"}, exitUsage},
		{"kmod without module support", []string{"detect", "--host-root", deb, "--type", "kmod"}, exitUnsupported},
		{"kmod vetoed on COS", []string{"detect", "--host-root", "../../testdata/hosts/cos-109", "--type", "kmod"}, exitUnsupported},
		{"modern on an old kernel", []string{"detect", "--host-root", "../../testdata/hosts/ubuntu-20.04-lowlatency", "--type", "modern-ebpf"}, exitUnsupported},
		// Only the legacy probe would do: detect chooses it (exit 0); what
		// it needs (the probe's artifact) is install's to find (exit 3).
		{"only the legacy probe", []string{"detect", "--host-root", "../../testdata/hosts/ubuntu-20.04-lowlatency", "--type", "ebpf"}, exitOK},
		{"missing host root", []string{"detect", "--host-root", "../../testdata/hosts/no-such-host"}, exitUsage}, // a wrong --host-root, like a wrong --config
		{"bad repo", []string{"printenv", "--host-root", deb, "--repo", "ftp://x"}, exitUsage},
		{"printenv without a possible driver", []string{"printenv", "--host-root", deb, "--kernel-release", "nonsense"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"kdriver"}, tt.args...), &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
		})
	}
}
