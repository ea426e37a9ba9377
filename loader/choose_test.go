package loader

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/loader/host"
)

func fixtureFacts(t *testing.T, name string) host.Facts {
	t.Helper()
	fsys, closeFn, err := host.Open(filepath.Join("../testdata/hosts", name))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	f, err := host.Detect(context.Background(), fsys, "/host", host.Options{DriverName: "falco"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestChooseAuto(t *testing.T) {
	tests := []struct {
		host   string
		want   DriverType
		reason string                // in the chosen reason
		others map[DriverType]string // in other candidates' reasons
	}{
		{"devbox-debian-6.18", ModernEBPF, "modern-ebpf: kernel 6.18.44-fc-v669 >= 5.8.0, BTF present at /sys/kernel/btf/vmlinux",
			map[DriverType]string{Kmod: "modules unsupported"}},
		{"debian-12-amd64", ModernEBPF, "BTF present", nil},
		{"ubuntu-20.04-lowlatency", Kmod, "kmod: kernel 5.4.0-100-lowlatency",
			map[DriverType]string{ModernEBPF: "Actual kernel version is: '5.4.0' while the minimum required is: '5.8.0'"}},
		{"amazonlinux2", Kmod, "module support", map[DriverType]string{ModernEBPF: "'4.14.171' while the minimum required is: '5.8.0'"}},
		{"minikube", Kmod, "kmod", map[DriverType]string{ModernEBPF: "no BTF"}},
		// No BTF and a kernel whose module kdriver cannot build: the legacy
		// probe, which needs neither.
		{"ol-8-uek", EBPF, "ebpf: kernel 5.15.0-209.161.7.2.el8uek.x86_64 >= 4.14.0 on x86_64, raw tracepoints and perf buffers; a probe built for this kernel (no BTF needed)", map[DriverType]string{
			ModernEBPF: "no BTF", Kmod: "UEK"}},
		{"centos-7-arm64-legacy", Userspace, "userspace", map[DriverType]string{
			Kmod: "'3.10.0' while the minimum required is: '3.16.0'", EBPF: "'3.10.0' while the minimum required is: '4.17.0'"}},
		{"debian-11-secureboot", ModernEBPF, "modern-ebpf", map[DriverType]string{Kmod: "lockdown integrity"}},
		{"cos-109", ModernEBPF, "modern-ebpf", map[DriverType]string{Kmod: "COS"}},
		{"nonsense-kernel", Userspace, "userspace", map[DriverType]string{ModernEBPF: `"not-a-kernel" is not a version`}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			d, err := Choose(fixtureFacts(t, tt.host), nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Driver != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("chose %s (%s), want %s with %q", d.Driver, d.Reason, tt.want, tt.reason)
			}
			if len(d.Candidates) != 4 {
				t.Errorf("%d candidates, want all 4 explained", len(d.Candidates))
			}
			chosen := 0
			for _, c := range d.Candidates {
				if c.Chosen {
					chosen++
				}
				if !strings.HasPrefix(c.Reason, string(c.Type)+": ") {
					t.Errorf("reason %q does not start with its type", c.Reason)
				}
				if want, ok := tt.others[c.Type]; ok && !strings.Contains(c.Reason, want) {
					t.Errorf("%s reason %q, want it to mention %q", c.Type, c.Reason, want)
				}
			}
			if chosen != 1 {
				t.Errorf("%d candidates chosen", chosen)
			}
		})
	}
}

func TestChooseWanted(t *testing.T) {
	f := fixtureFacts(t, "devbox-debian-6.18")
	d, err := Choose(f, []DriverType{EBPF, Auto, EBPF})
	if err != nil || d.Driver != EBPF {
		t.Fatalf("ebpf first, then auto: %s, %v", d.Driver, err)
	}
	if len(d.Candidates) != 4 || d.Candidates[0].Type != EBPF || d.Candidates[1].Type != ModernEBPF {
		t.Errorf("order %+v, want ebpf then auto's order without duplicates", d.Candidates)
	}
	// Only kmod on a host without modules: exit 4 with the reason.
	d, err = Choose(f, []DriverType{Kmod})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "modules unsupported") || d.Driver != "" {
		t.Errorf("kmod only: %v, %+v", err, d)
	}
	if _, err := Choose(f, []DriverType{"bogus"}); !errors.Is(err, ErrDriverType) {
		t.Errorf("bogus type: %v", err)
	}
	// Nothing possible at all.
	f = fixtureFacts(t, "arch-usrlib") // ptrace off
	f.BTF.Present, f.BTF.Detail = false, "no BTF"
	f.Lockdown.Mode = "confidentiality"
	d, err = Choose(f, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("nothing possible: %v", err)
	}
	for _, want := range []string{"modern-ebpf: no BTF", "kmod: lockdown confidentiality", "ebpf: lockdown confidentiality", "userspace: ptrace disabled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// Auto takes the legacy probe where the modern one cannot run (no BTF) and
// the module is forbidden (lockdown integrity) or impossible (no module
// support), and says why for each.
func TestChooseAutoLegacyProbe(t *testing.T) {
	for name, edit := range map[string]func(*host.Facts){
		"lockdown integrity": func(f *host.Facts) { f.Lockdown.Mode, f.Lockdown.Detail = "integrity", "lockdown integrity" },
		"no module support":  func(f *host.Facts) { f.Modules.Present, f.Modules.Detail = false, "modules unsupported" },
	} {
		t.Run(name, func(t *testing.T) {
			f := fixtureFacts(t, "debian-12-amd64")
			f.BTF.Present, f.BTF.Detail = false, "no BTF at /sys/kernel/btf/vmlinux"
			edit(&f)
			d, err := Choose(f, nil)
			if err != nil || d.Driver != EBPF {
				t.Fatalf("chose %s (%v), want ebpf; candidates %+v", d.Driver, err, d.Candidates)
			}
			if !strings.Contains(d.Candidates[0].Reason, "no BTF") || d.Candidates[1].Possible {
				t.Errorf("modern and kmod reasons: %+v", d.Candidates[:2])
			}
			if !strings.Contains(d.Reason, "no BTF needed") {
				t.Errorf("reason %q does not say the probe needs no BTF", d.Reason)
			}
		})
	}
}

func TestParseDriverType(t *testing.T) {
	for in, want := range map[string]DriverType{"auto": Auto, "modern_ebpf": ModernEBPF, "modern-bpf": ModernEBPF, "kmod": Kmod, "module": Kmod, "bpf": EBPF, "ebpf": EBPF, "userspace": Userspace} {
		if got, err := ParseDriverType(in); err != nil || got != want {
			t.Errorf("ParseDriverType(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseDriverType("gvisor"); !errors.Is(err, ErrDriverType) {
		t.Errorf("gvisor: %v", err)
	}
	if ModernEBPF.FalcoName() != "modern_ebpf" || Kmod.FalcoName() != "kmod" {
		t.Error("FalcoName")
	}
}
