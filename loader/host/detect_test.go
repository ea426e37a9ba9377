package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/kernelrelease"
)

// hostsDir holds the fixture host trees shared with the CLI tests.
const hostsDir = "../../testdata/hosts"

func detectFixture(t *testing.T, name string, opts Options) Facts {
	t.Helper()
	fsys, closeFn, err := Open(filepath.Join(hostsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	f, err := Detect(context.Background(), fsys, "/host", opts)
	if err != nil {
		t.Fatalf("Detect(%s): %v", name, err)
	}
	return f
}

func TestDetectFixtures(t *testing.T) {
	tests := []struct {
		host       string
		targetID   string
		release    string // fixed
		version    string // fixed
		arch       kernelrelease.Arch
		btf        bool
		modules    bool
		lockdown   string
		secureBoot string
		osSource   string
	}{
		{"amazonlinux1", "amazonlinux", "4.14.355-196.644.amzn1.x86_64", "1", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"amazonlinux2", "amazonlinux2", "4.14.171-136.231.amzn2.x86_64", "1", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"amazonlinux2022", "amazonlinux2022", "5.15.73-45.135.amzn2022.x86_64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"amazonlinux2023-arm64", "amazonlinux2023", "6.1.79-99.164.amzn2023.aarch64", "1", "aarch64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"arch-usrlib", "undetermined", "6.6.7-arch1-1", "1", "x86_64", true, true, "unknown", "disabled", ""},
		{"bottlerocket-arm64", "bottlerocket", "6.1.106", "1_1.22.0-aws", "aarch64", true, true, "integrity", "disabled", "/etc/os-release"},
		{"centos-7-arm64-legacy", "centos", "3.10.0-957.12.2.el7.aarch64", "1", "aarch64", false, true, "unknown", "disabled", "/etc/centos-release"},
		{"centos-8", "centos", "4.18.0-348.7.1.el8_5.x86_64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"cos-109", "cos", "6.1.58+", "1", "x86_64", true, true, "none", "disabled", "/etc/os-release"},
		{"debian-10-bpo", "debian", "5.10.127-2-amd64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-10-security", "debian", "4.19.67-2-amd64", "1", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-11-secureboot", "debian", "5.10.197-1-amd64", "1", "x86_64", true, true, "integrity", "enabled", "/etc/os-release"},
		{"debian-12-amd64", "debian", "6.1.55-1-amd64", "1", "x86_64", true, true, "none", "disabled", "/etc/os-release"},
		{"debian-12-arm64", "debian", "6.1.55-1-arm64", "1", "aarch64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-bpo-rt-amd64", "debian", "6.10.11-1-rt-amd64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-cloud-amd64", "debian", "6.1.55-1-cloud-amd64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-rt-amd64", "debian", "6.1.55-1-rt-amd64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-rt-arm64", "debian", "6.1.55-1-rt-arm64", "1", "aarch64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-security-amd64", "debian", "6.12.117-1-amd64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-12-security-cloud-arm64", "debian", "6.12.117-1-cloud-arm64", "1", "aarch64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"debian-9-legacy", "debian", "4.9.320-2-amd64", "1", "x86_64", false, true, "unknown", "disabled", "/etc/debian_version"},
		{"devbox-debian-6.18", "debian", "6.18.44-fc-v669", "1", "x86_64", true, false, "unknown", "disabled", "/etc/os-release"},
		{"fedora-40", "fedora", "6.8.5-301.fc40.x86_64", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"flatcar", "flatcar", "3975.2.2", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"flatcar-3760", "flatcar", "3760.2.0", "1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"garbled-os-release", "undetermined", "5.4.0-1", "1", "x86_64", false, true, "unknown", "disabled", ""},
		{"minikube", "minikube", "5.10.207", "1_1.34.0", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"nonsense-kernel", "debian", "not-a-kernel", "", "x86_64", true, false, "unknown", "disabled", "/etc/os-release"},
		{"ol-8-uek", "ol", "5.15.0-209.161.7.2.el8uek.x86_64", "2", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"rhel-7-legacy", "rhel", "3.10.0-1160.el7.x86_64", "1", "x86_64", false, true, "unknown", "disabled", "/etc/redhat-release"},
		{"rhel-9", "rhel", "5.14.0-427.13.1.el9_4.x86_64", "1", "x86_64", true, true, "integrity", "enabled", "/etc/os-release"},
		{"talos", "talos", "6.6.43-talos", "1_v1.7.6", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"ubuntu-18.04-aws-5.0", "ubuntu-aws", "5.0.0-1028-aws-5.0", "31", "x86_64", false, true, "unknown", "disabled", "/etc/os-release"},
		{"ubuntu-20.04-aws", "ubuntu-aws", "5.15.0-1051-aws", "56~20.04.1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"ubuntu-20.04-lowlatency", "ubuntu-lowlatency", "5.4.0-100-lowlatency", "113", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"ubuntu-22.04-generic", "ubuntu-generic", "5.15.0-91-generic", "101", "x86_64", true, true, "none", "disabled", "/etc/os-release"},
		{"ubuntu-22.04-hwe", "ubuntu-generic", "6.5.0-14-generic", "14~22.04.1", "x86_64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"ubuntu-24.04-azure", "ubuntu-azure", "6.8.0-1021-azure", "25", "x86_64", true, true, "integrity", "enabled", "/etc/os-release"},
		{"ubuntu-24.04-gcp-arm64", "ubuntu-gcp", "6.8.0-1015-gcp", "17", "aarch64", true, true, "unknown", "disabled", "/etc/os-release"},
		{"undetermined", "undetermined", "6.1.0", "1", "x86_64", true, false, "unknown", "disabled", ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.host] = true
		t.Run(tt.host, func(t *testing.T) {
			f := detectFixture(t, tt.host, Options{DriverName: "falco"})
			g := f.Target
			if g.ID != tt.targetID || g.FixedRelease != tt.release || g.FixedVersion != tt.version {
				t.Errorf("target = %s %s %s, want %s %s %s (notes %q)", g.ID, g.FixedRelease, g.FixedVersion, tt.targetID, tt.release, tt.version, g.Notes)
			}
			if f.Arch != tt.arch || f.BTF.Present != tt.btf || f.Modules.Present != tt.modules {
				t.Errorf("arch %s btf %v modules %v, want %s %v %v", f.Arch, f.BTF.Present, f.Modules.Present, tt.arch, tt.btf, tt.modules)
			}
			if f.Lockdown.Mode != tt.lockdown || f.SecureBoot.State != tt.secureBoot {
				t.Errorf("lockdown %s secure boot %s, want %s %s", f.Lockdown.Mode, f.SecureBoot.State, tt.lockdown, tt.secureBoot)
			}
			if f.OS.Source != tt.osSource {
				t.Errorf("os source %q, want %q", f.OS.Source, tt.osSource)
			}
			if f.Kernel.Source != "/proc/sys/kernel" {
				t.Errorf("kernel source %q", f.Kernel.Source)
			}
		})
	}
	// Every fixture tree is covered by the table.
	entries, err := os.ReadDir(hostsDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
			if !seen[e.Name()] {
				t.Errorf("fixture %s is not in the table", e.Name())
			}
		}
	}
	if n < 15 {
		t.Errorf("%d fixture hosts, want at least 15", n)
	}
}

func TestDetectDetails(t *testing.T) {
	f := detectFixture(t, "ubuntu-22.04-generic", Options{DriverName: "falco"})
	if !f.Driver.Loaded || f.Driver.Version != "8.1.0+driver" {
		t.Errorf("driver = %+v, want falco 8.1.0+driver loaded", f.Driver)
	}
	f = detectFixture(t, "ubuntu-22.04-generic", Options{DriverName: "kdriver"})
	if f.Driver.Loaded {
		t.Errorf("driver = %+v, want not loaded", f.Driver)
	}
	f = detectFixture(t, "arch-usrlib", Options{})
	if f.Ptrace.Present || !strings.Contains(f.Ptrace.Detail, "ptrace_scope = 3") {
		t.Errorf("ptrace = %+v, want disabled by Yama", f.Ptrace)
	}
	if f.Target.ID != "undetermined" || !strings.Contains(strings.Join(f.Notes, "\n"), "/usr/lib/os-release is not read") {
		t.Errorf("only usr/lib/os-release: target %q, notes %q", f.Target.ID, f.Notes)
	}
	// Its CRLF, comments and quotes still parse.
	data, err := os.ReadFile(filepath.Join(hostsDir, "arch-usrlib/usr/lib/os-release"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ParseOSRelease(data); err != nil || m["PRETTY_NAME"] != "Arch Linux" || m["BUILD_ID"] != "rolling" {
		t.Errorf("ParseOSRelease = %q, %v", m, err)
	}
	f = detectFixture(t, "garbled-os-release", Options{})
	if !strings.Contains(strings.Join(f.Notes, "\n"), "/etc/os-release") {
		t.Errorf("notes %q do not name the garbled os-release", f.Notes)
	}
	f = detectFixture(t, "nonsense-kernel", Options{})
	if !strings.Contains(f.Kernel.ParseError, "not-a-kernel") {
		t.Errorf("parse error %q does not name the release", f.Kernel.ParseError)
	}
	// Overrides win over the tree.
	f = detectFixture(t, "debian-12-amd64", Options{KernelRelease: "5.10.0-0.deb10.22-rt-amd64", KernelVersion: "5.10.178-3", Arch: "arm64"})
	if f.Target.FixedRelease != "5.10.178-3-rt-amd64" || f.Arch != "aarch64" || f.Kernel.Source != "flags" {
		t.Errorf("with overrides: release %s arch %s source %s", f.Target.FixedRelease, f.Arch, f.Kernel.Source)
	}
}

func TestDetectErrors(t *testing.T) {
	ctx := context.Background()
	base := fstest.MapFS{"proc/sys/kernel/osrelease": {Data: []byte("6.1.0\n")}}
	if _, err := Detect(ctx, base, "/x", Options{Arch: "riscv64"}); !errors.Is(err, kernelrelease.ErrUnknownArch) {
		t.Errorf("unknown --arch: error = %v", err)
	}
	bad := fstest.MapFS{
		"proc/sys/kernel/osrelease": {Data: []byte("6.1.0\n")},
		"proc/sys/kernel/arch":      {Data: []byte("s390x\n")},
	}
	if _, err := Detect(ctx, bad, "/x", Options{}); !errors.Is(err, kernelrelease.ErrUnknownArch) || !strings.Contains(err.Error(), "s390x") {
		t.Errorf("unknown host arch: error = %v", err)
	}
	_, err := Detect(ctx, fstest.MapFS{}, "/empty", Options{Arch: "x86_64"})
	if !errors.Is(err, ErrNoKernelRelease) || !strings.Contains(err.Error(), "--kernel-release") {
		t.Errorf("no kernel release: error = %v", err)
	}
	// uname fills what the tree lacks, and only then.
	un := func() (Uname, error) { return Uname{"6.18.44-fc-v669", "#1 SMP PREEMPT_DYNAMIC @0", "x86_64"}, nil }
	f, err := Detect(ctx, fstest.MapFS{}, "/", Options{Uname: un})
	if err != nil || f.Kernel.Release != "6.18.44-fc-v669" || f.Kernel.Source != "uname" || f.Arch != "x86_64" {
		t.Errorf("uname fallback: %+v, %v", f.Kernel, err)
	}
	f, err = Detect(ctx, base, "/", Options{Uname: un, Arch: "x86_64"})
	if err != nil || f.Kernel.Release != "6.1.0" || f.Kernel.Version != "#1 SMP PREEMPT_DYNAMIC @0" {
		t.Errorf("tree first, uname for the rest: %+v, %v", f.Kernel, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Detect(cctx, base, "/", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestDetectThisHost: on the development and CI machines (Debian 12,
// kernel 6.18 with BTF, no module support) the facts must say so.
func TestDetectThisHost(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testenv.Missing(t, "not the reference machine (no BTF): %v", err)
	}
	fsys, closeFn, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	f, err := Detect(context.Background(), fsys, "/", Options{DriverName: "kdriver", Uname: SystemUname})
	if err != nil {
		t.Fatal(err)
	}
	if !f.BTF.Present {
		t.Errorf("BTF: %s", f.BTF.Detail)
	}
	if f.Target.KernelRelease.Version < 5 || f.Kernel.ParseError != "" {
		t.Errorf("kernel %+v", f.Kernel)
	}
	if _, err := os.Stat("/proc/modules"); err != nil && f.Modules.Present {
		t.Errorf("modules reported present without /proc/modules: %s", f.Modules.Detail)
	}
}

// FuzzDetect feeds arbitrary file contents to Detect: it must never panic,
// and must either fail with one of its documented errors or produce a
// target with an ID.
func FuzzDetect(f *testing.F) {
	f.Add([]byte("ID=ubuntu\n"), []byte("5.15.0-1051-aws"), []byte("#56~20.04.1-Ubuntu SMP"), []byte("x86_64"), []byte("none [integrity]"), []byte(""))
	f.Add([]byte("ID=flatcar\nVERSION_ID=1.2.3\n"), []byte("6.6.54-flatcar"), []byte("#1"), []byte("aarch64"), []byte("[confidentiality"), []byte("v1.2"))
	f.Add([]byte("ID=bottlerocket\nVARIANT_ID=-\n"), []byte(""), []byte(""), []byte(""), []byte("]["), []byte("1.2.3"))
	f.Fuzz(func(t *testing.T, osRelease, release, version, arch, lockdown, minikube []byte) {
		fsys := fstest.MapFS{
			"etc/os-release":               {Data: osRelease},
			"proc/sys/kernel/osrelease":    {Data: release},
			"proc/sys/kernel/version":      {Data: version},
			"proc/sys/kernel/arch":         {Data: arch},
			"sys/kernel/security/lockdown": {Data: lockdown},
			"etc/VERSION":                  {Data: minikube},
		}
		facts, err := Detect(context.Background(), fsys, "/fuzz", Options{DriverName: "kdriver"})
		if err != nil {
			if !errors.Is(err, kernelrelease.ErrUnknownArch) && !errors.Is(err, ErrNoKernelRelease) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if facts.Target.ID == "" && facts.OS.ID == "" {
			t.Fatalf("no target ID for %+v", facts.OS)
		}
	})
}

// TestDetectSymlinks: /etc/os-release is usually a symlink to
// ../usr/lib/os-release; an absolute one must not escape the host root
// (it would name the container's distro), so the host's usr/lib/os-release
// is read. Without etc/os-release, usr/lib/os-release is not read at all
// (arch-usrlib): falcoctl reads only etc/os-release.
func TestDetectSymlinks(t *testing.T) {
	for _, link := range []string{"../usr/lib/os-release", "/usr/lib/os-release"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			for p, data := range map[string]string{
				"usr/lib/os-release":        "ID=flatcar\nVERSION_ID=3975.2.2\n",
				"proc/sys/kernel/osrelease": "6.6.54-flatcar\n",
				"proc/sys/kernel/version":   "#1 SMP PREEMPT_DYNAMIC Mon Oct  7 22:49:14 -00 2024\n",
				"proc/sys/kernel/arch":      "x86_64\n",
			} {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(link, filepath.Join(dir, "etc/os-release")); err != nil {
				t.Fatal(err)
			}
			fsys, closeFn, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			f, err := Detect(context.Background(), fsys, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Target.ID != "flatcar" || f.Target.FixedRelease != "3975.2.2" || f.OS.Source == "" {
				t.Errorf("target %s %s, want flatcar 3975.2.2 (source %s)", f.Target.ID, f.Target.FixedRelease, f.OS.Source)
			}
		})
	}
}
