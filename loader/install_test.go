package loader

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/loader/host"
)

func facts(t *testing.T, release string, btf bool) host.Facts {
	t.Helper()
	kr, err := kernelrelease.Parse(release)
	if err != nil {
		t.Fatal(err)
	}
	return host.Facts{
		Arch:     kernelrelease.ArchX86_64,
		Kernel:   host.Kernel{Release: release},
		Target:   kernelrelease.Target{Arch: kernelrelease.ArchX86_64, KernelRelease: kr},
		BTF:      host.Check{Present: btf, Detail: map[bool]string{true: "BTF present", false: "no /sys/kernel/btf/vmlinux"}[btf]},
		Lockdown: host.Lockdown{Mode: "none"},
		Modules:  host.Check{Detail: "no modules"},
		Ptrace:   host.Check{Detail: "ptrace forbidden"},
	}
}

func TestNewDriver(t *testing.T) {
	for _, tc := range []struct {
		typ  DriverType
		want error
	}{
		{ModernEBPF, nil},
		{Kmod, nil},
		{EBPF, nil},
		{Userspace, nil},
		{"bogus", ErrDriverType},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			d, err := NewDriver(tc.typ, DriverConfig{})
			if !errors.Is(err, tc.want) || (err == nil && d.Type() != tc.typ) {
				t.Fatalf("NewDriver(%s) = %v, %v; want %v", tc.typ, d, err, tc.want)
			}
			if errors.Is(err, ErrUnsupported) {
				t.Errorf("a driver this build lacks is not the host's fault (exit 4): %v", err)
			}
		})
	}
}

// TestInstallUnsupportedHost: a kernel too old or without BTF stops before
// anything is loaded, with exit 4's error and Falco's wording.
func TestInstallUnsupportedHost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		facts   host.Facts
		message string
	}{
		{"old-kernel", facts(t, "5.4.0-100-generic", true), "Actual kernel version is: '5.4.0' while the minimum required is: '5.8.0'"},
		{"no-btf", facts(t, "6.1.0-13-amd64", false), "no /sys/kernel/btf/vmlinux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Install(context.Background(), tc.facts, InstallOptions{Types: []DriverType{ModernEBPF}, Verify: true})
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Install: %v; want ErrUnsupported saying %q", err, tc.message)
			}
			if rep.Decision.Driver != "" || len(rep.Decision.Candidates) != 1 || rep.Installed != "" {
				t.Fatalf("report %+v", rep)
			}
		})
	}
}

// TestInstallDryRun decides and preflights the modern probe on this host
// without loading it.
func TestInstallDryRun(t *testing.T) {
	testenv.RequireBPF(t)
	rep, err := Install(context.Background(), facts(t, "6.1.0-13-amd64", true), InstallOptions{DryRun: true, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decision.Driver != ModernEBPF || !rep.DryRun || rep.Installed != "" || rep.Verify != nil {
		t.Fatalf("report %+v", rep)
	}
	joined := strings.Join(rep.Preflight, "\n")
	for _, want := range []string{"ring buffer map type (5.8): supported", "raw tracepoint program type (4.17): supported", "BTF: BTF present"} {
		if !strings.Contains(joined, want) {
			t.Errorf("preflight does not say %q:\n%s", want, joined)
		}
	}
}
