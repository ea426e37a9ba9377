package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTranslateLegacy(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name   string
		args   []string
		lookup func(string) (string, bool)
		want   []string
	}{
		{"default is kmod, download and compile", nil, noEnv,
			[]string{"install", "--type", "kmod", "--compile=true", "--download=true"}},
		{"FALCO_BPF_PROBE selects ebpf", nil, env("FALCO_BPF_PROBE", ""),
			[]string{"install", "--type", "ebpf", "--compile=true", "--download=true"}},
		{"legacy word bpf", []string{"bpf", "--download"}, noEnv,
			[]string{"install", "--type", "ebpf", "--compile=false", "--download=true"}},
		{"modern_ebpf", []string{"modern_ebpf"}, noEnv,
			[]string{"install", "--type", "modern-ebpf", "--compile=true", "--download=true"}},
		{"compile only", []string{"module", "--compile"}, noEnv,
			[]string{"install", "--type", "kmod", "--compile=true", "--download=false"}},
		{"auto is Falco's three drivers, never userspace", []string{"auto"}, noEnv,
			[]string{"install", "--type", "modern-ebpf", "--type", "kmod", "--type", "ebpf", "--compile=true", "--download=true"}},
		{"clean", []string{"--clean"}, noEnv, []string{"cleanup"}},
		{"print-env names the default driver and the switches", []string{"--kernelrelease", "5.10.0-8-amd64", "--print-env"}, noEnv,
			[]string{"--kernelrelease", "5.10.0-8-amd64", "printenv", "--compile=true", "--download=true", "--type", "kmod"}},
		{"print-env with a driver", []string{"ebpf", "--print-env", "--download"}, noEnv,
			[]string{"printenv", "--compile=false", "--download=true", "--type", "ebpf"}},
		{"globals with =", []string{"--output=json", "auto"}, noEnv,
			[]string{"--output", "json", "install", "--type", "modern-ebpf", "--type", "kmod", "--type", "ebpf", "--compile=true", "--download=true"}},
		{"falcoctl flags", []string{"--name", "scap", "--version=7.0.0+driver", "--repo", "https://a/d,https://b/d", "--host-root", "/host", "--type", "kmod"}, noEnv,
			[]string{"--driver-name", "scap", "--driver-version", "7.0.0+driver", "--repo", "https://a/d,https://b/d", "--host-root", "/host", "install", "--type", "kmod", "--compile=true", "--download=true"}},
		{"download settings", []string{"--http-insecure", "--http-headers", "X-A: 1,X-B: 2 3", "--http-timeout", "90s", "--download-headers"}, noEnv,
			[]string{"install", "--type", "kmod", "--compile=true", "--download=true", "--insecure", "--http-header", "X-A: 1", "--http-header", "X-B: 2 3", "--timeout", "90s"}},
		{"script variables", nil, env("DRIVER_INSECURE_DOWNLOAD", "1", "DRIVER_CURL_OPTIONS", "-fsS --connect-timeout 5 --max-time 60 --retry 3 --retry-max-time 120 -H X-Token: abc"),
			[]string{"install", "--type", "kmod", "--compile=true", "--download=true", "--insecure", "--http-header", "X-Token: abc", "--timeout", "60s", "--connect-timeout", "5s", "--retries", "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newRootCmd(&globals{}).PersistentFlags()
			got, help, err := translateLegacy(tt.args, tt.lookup, fs)
			if err != nil || help {
				t.Fatalf("translateLegacy(%q) = help %v, err %v", tt.args, help, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("translateLegacy(%q)\n got %q\nwant %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestTranslateLegacyErrors(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"kmod", "ebpf"}, "", "only one driver"},
		{[]string{"--clean", "--compile"}, "", "--clean"},
		{[]string{"floppy"}, "", "unknown driver"},
		{[]string{"--source-only"}, "", "sourced"},
		{[]string{"--kernelrelease"}, "", "needs a value"},
		{[]string{"--frobnicate"}, "", "unknown option: --frobnicate"},
		{[]string{"-x"}, "", "unknown option: -x"},
		{nil, "--proxy http://127.0.0.1:1", "DRIVER_CURL_OPTIONS"},
	} {
		lookup := noEnv
		if c.env != "" {
			lookup = func(k string) (string, bool) { return c.env, k == "DRIVER_CURL_OPTIONS" }
		}
		_, _, err := translateLegacy(c.args, lookup, newRootCmd(&globals{}).PersistentFlags())
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("translateLegacy(%q, %q): err = %v, want a usage error mentioning %q", c.args, c.env, err, c.want)
		}
	}
}

// runLegacy runs the binary under its legacy name with only env set among
// the variables it reads.
func runLegacy(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"HOST_ROOT", "DRIVERS_REPO", "DRIVER_NAME", "DRIVER_VERSION", "FALCO_BPF_PROBE",
		"DRIVER_KERNEL_RELEASE", "DRIVER_KERNEL_VERSION", "FALCOCTL_DRIVER_REPOS", "FALCOCTL_DRIVER_NAME",
		"FALCOCTL_DRIVER_VERSION", "FALCOCTL_DRIVER_HOSTROOT", "FALCOCTL_DRIVER_TYPE", "KDRIVER_DRIVER_NAME",
		"KDRIVER_REPO", "KDRIVER_HOST_ROOT", "KDRIVER_KERNEL_RELEASE", "DRIVER_INSECURE_DOWNLOAD", "DRIVER_CURL_OPTIONS"} {
		if v, ok := env[k]; ok {
			t.Setenv(k, v)
		} else if _, set := os.LookupEnv(k); set {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"/usr/bin/falco-driver-loader"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestLegacyPrintEnv: under the legacy name the defaults are Falco's, and
// --print-env reports the driver a plain run installs with the script's
// ENABLE_COMPILE / ENABLE_DOWNLOAD.
func TestLegacyPrintEnv(t *testing.T) {
	root := "../../testdata/hosts/debian-12-amd64"
	code, out, stderr := runLegacy(t, map[string]string{"HOST_ROOT": root, "DRIVER_VERSION": "8.1.0+driver"}, "--print-env")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := parseEnv(t, out)
	for k, v := range map[string]string{
		"DRIVER":               "kmod", // what a plain run installs, not auto's modern_ebpf
		"DRIVER_NAME":          "falco",
		"DRIVER_VERSION":       "8.1.0+driver",
		"DRIVERS_REPO":         falcoDriverRepo,
		"ENABLE_COMPILE":       "yes",
		"ENABLE_DOWNLOAD":      "yes",
		"TARGET_ID":            "debian",
		"KERNEL_VERSION":       "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)",
		"FIXED_KERNEL_RELEASE": "6.1.55-1-amd64",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	code, out, _ = runLegacy(t, map[string]string{"HOST_ROOT": root, "DRIVER_NAME": "scap", "DRIVERS_REPO": "https://a/d https://b/d"}, "--print-env", "--download")
	got = parseEnv(t, out)
	if code != 0 || got["DRIVER_NAME"] != "scap" || got["DRIVERS_REPO"] != "https://a/d, https://b/d" || got["ENABLE_COMPILE"] != "" || got["ENABLE_DOWNLOAD"] != "yes" {
		t.Errorf("environment over Falco's defaults: exit %d, %q", code, out)
	}
}

// TestLegacyAutoNeverUserspace: auto under the legacy name chooses among
// Falco's drivers only; with none possible it fails instead of reporting
// (or installing) kdriver's userspace tracer.
func TestLegacyAutoNeverUserspace(t *testing.T) {
	// No module support and a kernel too old for both eBPF probes (4.14).
	env := map[string]string{"HOST_ROOT": "../../testdata/hosts/devbox-debian-6.18", "DRIVER_KERNEL_RELEASE": "4.9.0"}
	code, out, _ := runLegacy(t, env, "auto", "--print-env")
	if got := parseEnv(t, out)["DRIVER"]; code != 0 || got != "" {
		t.Errorf("auto --print-env: exit %d, DRIVER=%q, want \"\"", code, got)
	}
	code, out, stderr := runLegacy(t, env, "auto")
	if code == 0 || strings.Contains(out, "userspace") && strings.Contains(out, "chosen") {
		t.Errorf("auto with nothing installable: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestLegacyUnknownOption(t *testing.T) {
	code, _, stderr := runLegacy(t, nil, "--no-such-option")
	if code != exitUsage || !strings.Contains(stderr, "unknown option") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestFalcoFlagSpellingsWin: --kernelrelease and --kernelversion beat the
// environment and the config file as --kernel-release does.
func TestFalcoFlagSpellingsWin(t *testing.T) {
	root := "../../testdata/hosts/debian-12-amd64"
	cfg := filepath.Join(t.TempDir(), "kdriver.yaml")
	if err := os.WriteFile(cfg, []byte("kernel-version: '#9 SMP Debian 9.9.9-9 (2020-01-01)'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRIVER_KERNEL_RELEASE", "5.10.0-0.deb10.16-amd64")
	var stdout, stderr bytes.Buffer
	args := []string{"kdriver", "--host-root", root, "--config", cfg, "--kernelrelease", "6.1.0-9-amd64", "--kernelversion", "#1 SMP Debian 6.1.27-1 (2023-05-08)", "printenv"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := parseEnv(t, stdout.String())
	if got["KERNEL_RELEASE"] != "6.1.0-9-amd64" || got["FIXED_KERNEL_RELEASE"] != "6.1.27-1-amd64" {
		t.Errorf("KERNEL_RELEASE %q FIXED_KERNEL_RELEASE %q: the flags must win", got["KERNEL_RELEASE"], got["FIXED_KERNEL_RELEASE"])
	}
}
