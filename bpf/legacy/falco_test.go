package legacy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// fakeFalcoProbe compiles an object with the sections a falcosecurity/libs
// probe records (the values of sid's 0.23.2 for 6.1.0-57-amd64), and no
// programs: InspectFalco reads only those sections.
func fakeFalcoProbe(t *testing.T) string {
	t.Helper()
	clang, err := exec.LookPath("clang-16")
	if err != nil {
		testenv.Missing(t, "clang-16 (scripts/setup-bpf.sh): %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "falco.c")
	const c = `char kver[] __attribute__((section("kernel_version"), used)) = "6.1.0-57-amd64";
char pver[] __attribute__((section("probe_version"), used)) = "0.23.2";
unsigned long long api __attribute__((section("api_version"), used)) = (8ULL << 44) | 4;
unsigned long long schema __attribute__((section("schema_version"), used)) = (4ULL << 44) | (1ULL << 24);
`
	if err := os.WriteFile(src, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "falco.o")
	if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-c", src, "-o", obj).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	return obj
}

func TestInspectFalco(t *testing.T) {
	obj := fakeFalcoProbe(t)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectFalco(obj, strings.NewReader(string(b)), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := FalcoInfo{KernelRelease: "6.1.0-57-amd64", DriverVersion: "0.23.2", API: "8.0.4", Schema: "4.1.0"}
	if *info != want {
		t.Errorf("got %+v, want %+v", *info, want)
	}
	if err := info.Check(obj, "6.12.117+deb12-amd64"); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `built for kernel release "6.1.0-57-amd64", host has "6.12.117+deb12-amd64"`) {
		t.Errorf("other kernel: %v", err)
	}
	// kdriver's own probe has none of Falco's sections; a module is no BPF.
	for file, msg := range map[string]string{amd64Probe: "no section kernel_version", amd64Kmod: "ELF machine EM_X86_64"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := InspectFalco(file, strings.NewReader(string(b)), int64(len(b))); !errors.Is(err, ErrNotFalcoProbe) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want ErrNotFalcoProbe saying %q", file, err, msg)
		}
	}
}
