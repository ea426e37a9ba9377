package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestEnvAndConfig(t *testing.T) {
	env := map[string]string{
		"HOST_ROOT":              "/host",
		"DRIVERS_REPO":           "https://a.example/driver, file:///srv/drivers",
		"KDRIVER_DRIVER_VERSION": "9.9.9",
		"DRIVER_VERSION":         "ignored: KDRIVER_ wins",
		"KDRIVER_LOG_LEVEL":      "debug",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	g := &globals{}
	root := newRootCmd(g)
	fs := root.PersistentFlags()
	if err := fs.Parse([]string{"--driver-name", "flagname"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(fs, lookup); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kdriver.yaml")
	os.WriteFile(cfg, []byte("arch: aarch64\ndriver_name: fromconfig\nhost-root: /ignored\n"), 0o644)
	if err := applyConfig(fs, cfg); err != nil {
		t.Fatal(err)
	}
	if g.HostRoot != "/host" {
		t.Errorf("HOST_ROOT alias: host root = %q", g.HostRoot)
	}
	if want := []string{"https://a.example/driver", "file:///srv/drivers"}; !slices.Equal(g.Repos, want) {
		t.Errorf("DRIVERS_REPO: repos = %q, want %q", g.Repos, want)
	}
	if g.DriverVersion != "9.9.9" {
		t.Errorf("KDRIVER_DRIVER_VERSION: %q", g.DriverVersion)
	}
	if g.DriverName != "flagname" {
		t.Errorf("a flag must win over config: driver name %q", g.DriverName)
	}
	if g.Arch != "aarch64" {
		t.Errorf("config arch: %q", g.Arch)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("no-such-key: 1\n"), 0o644)
	if err := applyConfig(fs, bad); !errors.Is(err, errUsage) {
		t.Errorf("unknown config key: err = %v, want usage error", err)
	}
}

func TestEnvListKeepsSpaces(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var headers, repos []string
	fs.StringArrayVar(&headers, "http-header", nil, "")
	fs.StringArrayVar(&repos, "repo", nil, "")
	env := map[string]string{
		"KDRIVER_HTTP_HEADER": "Authorization: Bearer x, X-Team: a b",
		"DRIVERS_REPO":        "https://a https://b",
	}
	if err := applyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Authorization: Bearer x", "X-Team: a b"}; !slices.Equal(headers, want) {
		t.Errorf("headers = %q, want %q", headers, want)
	}
	if want := []string{"https://a", "https://b"}; !slices.Equal(repos, want) {
		t.Errorf("repos = %q, want %q", repos, want)
	}
}

// TestFalcoctlEnvAndConfig: falcoctl's variables (';'-separated lists),
// its falcoctl.yaml driver: section and --repo a,b configure kdriver too.
func TestFalcoctlEnvAndConfig(t *testing.T) {
	env := map[string]string{
		"FALCOCTL_DRIVER_HOSTROOT":     "/host",
		"FALCOCTL_DRIVER_REPOS":        "https://a/driver;https://b/driver",
		"FALCOCTL_DRIVER_HTTP_HEADERS": "X-A: 1,X-B: 2",
		"FALCOCTL_DRIVER_TYPE":         "modern_ebpf;kmod",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var hostRoot string
	var repos, headers, types []string
	fs.StringVar(&hostRoot, "host-root", "/", "")
	fs.StringArrayVar(&repos, "repo", nil, "")
	fs.StringArrayVar(&headers, "http-header", nil, "")
	fs.StringArrayVar(&types, "type", nil, "")
	if err := applyEnv(fs, lookup); err != nil {
		t.Fatal(err)
	}
	if hostRoot != "/host" || !slices.Equal(repos, []string{"https://a/driver", "https://b/driver"}) ||
		!slices.Equal(headers, []string{"X-A: 1", "X-B: 2"}) || !slices.Equal(types, []string{"modern_ebpf", "kmod"}) {
		t.Errorf("host root %q, repos %q, headers %q, types %q", hostRoot, repos, headers, types)
	}

	g := &globals{}
	root := newRootCmd(g)
	pfs := root.PersistentFlags()
	if err := pfs.Parse([]string{"--driver-version", "flag-wins"}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "falcoctl.yaml")
	os.WriteFile(cfg, []byte(`driver:
  type: [modern_ebpf, kmod]
  name: falco
  version: 8.1.0+driver
  repos:
    - https://c/driver
  hostroot: /hostfs
artifact:
  follow:
    every: 6h
indexes:
  - name: falcosecurity
`), 0o644)
	if err := applyConfig(pfs, cfg); err != nil {
		t.Fatal(err)
	}
	if g.DriverName != "falco" || g.DriverVersion != "flag-wins" || !slices.Equal(g.Repos, []string{"https://c/driver"}) || g.HostRoot != "/hostfs" {
		t.Errorf("falcoctl.yaml: name %q version %q repos %q host root %q", g.DriverName, g.DriverVersion, g.Repos, g.HostRoot)
	}
	if got := splitRepos([]string{"https://a/d,https://b/d", "file:///x"}); !slices.Equal(got, []string{"https://a/d", "https://b/d", "file:///x"}) {
		t.Errorf("--repo a,b: %q", got)
	}
}

// TestEventTypeFlagsIgnoreDriverTypeEnv: in `kdriver events` and `kdriver
// trace`, --type is event types. The driver-type variables a DaemonSet sets
// for install (FALCOCTL_DRIVER_TYPE, KDRIVER_TYPE) fill events' --driver
// instead and never --type; KDRIVER_EVENT_TYPE fills --type.
func TestEventTypeFlagsIgnoreDriverTypeEnv(t *testing.T) {
	env := map[string]string{"FALCOCTL_DRIVER_TYPE": "kmod;modern_ebpf", "KDRIVER_TYPE": "ebpf", "KDRIVER_EVENT_TYPE": "openat,execve"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	g := &globals{}
	for _, name := range []string{"events", "trace"} {
		cmd := map[string]func(*globals) *cobra.Command{"events": newEventsCmd, "trace": newTraceCmd}[name](g)
		if err := applyEnv(cmd.Flags(), lookup); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		types, _ := cmd.Flags().GetStringArray("type")
		if want := []string{"openat", "execve"}; !slices.Equal(types, want) {
			t.Errorf("%s --type from the environment = %q, want %q (KDRIVER_EVENT_TYPE only)", name, types, want)
		}
		if name == "events" {
			drivers, _ := cmd.Flags().GetStringArray("driver")
			if want := []string{"ebpf"}; !slices.Equal(drivers, want) {
				t.Errorf("events --driver from the environment = %q, want %q (KDRIVER_TYPE before FALCOCTL_DRIVER_TYPE)", drivers, want)
			}
		}
	}
	delete(env, "KDRIVER_TYPE")
	delete(env, "KDRIVER_EVENT_TYPE")
	cmd := newEventsCmd(g)
	if err := applyEnv(cmd.Flags(), lookup); err != nil {
		t.Fatal(err)
	}
	types, _ := cmd.Flags().GetStringArray("type")
	drivers, _ := cmd.Flags().GetStringArray("driver")
	if len(types) != 0 || !slices.Equal(drivers, []string{"kmod", "modern_ebpf"}) {
		t.Errorf("FALCOCTL_DRIVER_TYPE alone: --type %q (want none), --driver %q (want kmod, modern_ebpf)", types, drivers)
	}
}

// TestEventTypeFlagsIgnoreDriverTypeConfig: the same for config files:
// falcoctl.yaml's driver.type and kdriver's own "type" key are driver
// types (events' --driver); "event-type" is events' and trace's --type.
func TestEventTypeFlagsIgnoreDriverTypeConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, wantDriver, wantType string }{
		{"falcoctl.yaml", "driver:\n  type: [kmod]\n", "kmod", ""},
		{"kdriver.yaml", "type: ebpf\nevent-type: openat\n", "ebpf", "openat"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		cmd := newEventsCmd(&globals{})
		if err := applyConfig(cmd.Flags(), p); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		drivers, _ := cmd.Flags().GetStringArray("driver")
		types, _ := cmd.Flags().GetStringArray("type")
		if strings.Join(drivers, ",") != tc.wantDriver || strings.Join(types, ",") != tc.wantType {
			t.Errorf("%s: events --driver %q --type %q, want %q and %q", tc.name, drivers, types, tc.wantDriver, tc.wantType)
		}
	}
}
