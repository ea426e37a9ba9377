package legacy

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// The testdata objects are this package's probe built against Debian's
// 6.1.0-57 headers (kdriver --driver-version testdata build --kind ebpf).
const (
	amd64Probe = "testdata/kdriver-6.1.0-57-amd64.o"
	arm64Probe = "testdata/kdriver-6.1.0-57-arm64.o"
	amd64Kmod  = "../../kmod/testdata/kdriver-6.1.0-56-amd64.ko"
)

func inspectFile(t *testing.T, path string, cut int) (*Info, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cut > 0 {
		b = b[:cut]
	}
	return Inspect(path, bytes.NewReader(b), int64(len(b)))
}

func TestInspectRecordsTarget(t *testing.T) {
	for _, tc := range []struct{ file, arch string }{{amd64Probe, "x86_64"}, {arm64Probe, "aarch64"}} {
		info, err := inspectFile(t, tc.file, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if info.KernelRelease != "6.1.0-57-"+map[string]string{"x86_64": "amd64", "aarch64": "arm64"}[tc.arch] ||
			info.Arch != tc.arch || info.DriverVersion != "testdata" || info.API[0] != 1 {
			t.Errorf("%s: recorded %+v", tc.file, info)
		}
	}
}

func TestInspectRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		cut        int
		want       string
	}{
		{"kernel module", amd64Kmod, 0, "ELF machine EM_X86_64 (a kernel module), want BPF"},
		{"truncated", amd64Probe, 20000, "truncated"},
		{"truncated header", amd64Probe, 40, "ELF"},
		{"not ELF", "probe.go", 0, "ELF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inspectFile(t, tc.file, tc.cut)
			if !errors.Is(err, ErrNotProbe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrNotProbe saying %q", err, tc.want)
			}
		})
	}
}

func TestCheckNamesMismatch(t *testing.T) {
	arm, err := inspectFile(t, arm64Probe, 0)
	if err != nil {
		t.Fatal(err)
	}
	amd, err := inspectFile(t, amd64Probe, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		info *Info
		want Want
		msg  string
	}{
		{"arm64 object on amd64", arm, Want{Arch: "x86_64", KernelRelease: "6.1.0-57-amd64"}, `arch "aarch64", host has "x86_64"`},
		{"other release", amd, Want{Arch: "x86_64", KernelRelease: "6.12.117+deb12-amd64"}, `kernel release "6.1.0-57-amd64", host has "6.12.117+deb12-amd64"`},
		{"other version", &Info{KernelRelease: "r", Arch: "x86_64", KernelVersion: "#1 SMP Debian 6.1.192-3"},
			Want{Arch: "x86_64", KernelRelease: "r", KernelVersion: "#1 SMP Debian 6.1.191-1"}, `kernel version "#1 SMP Debian 6.1.192-3"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.info.Check("p.o", tc.want)
			var me *MismatchError
			if !errors.Is(err, ErrMismatch) || !errors.As(err, &me) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want a mismatch saying %q", err, tc.msg)
			}
		})
	}
	if err := amd.Check("p.o", Want{Arch: "x86_64", KernelRelease: "6.1.0-57-amd64", KernelVersion: "#1 anything"}); err != nil {
		t.Errorf("matching host refused (an object without a version matches any): %v", err)
	}
}

func FuzzInspect(f *testing.F) {
	for _, p := range []string{amd64Probe, arm64Probe} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Inspect("fuzz.o", bytes.NewReader(b), int64(len(b)))
		if err == nil && (info.KernelRelease == "" || info.Arch == "") {
			t.Fatalf("accepted an object without a target: %+v", info)
		}
	})
}

// A uname -v with quotes, backslashes or newlines stays one C string
// literal: two #define lines, nothing else.
func TestTargetHeaderQuotes(t *testing.T) {
	h := TargetHeader("#1 SMP \"x\"\n#define EVIL 1 \\", "")
	lines := strings.Split(strings.TrimSuffix(h, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "#define KD_TARGET_VERSION \"") ||
		lines[1] != `#define KD_DRIVER_VERSION "dev"` || strings.Contains(lines[0], "\n") {
		t.Fatalf("header %q", h)
	}
	if want := `"#1 SMP \"x\"\n#define EVIL 1 \\"`; !strings.HasSuffix(lines[0], want) {
		t.Errorf("line %q, want it to end with %s", lines[0], want)
	}
}
