package modern

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestGeneratedUpToDate rebuilds the probe with the command of gen.go into
// a temporary directory and compares the objects with the committed ones:
// a change to c/ or events/c/kd_event.h needs `go generate ./bpf/...`.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the probe")
	}
	if _, err := exec.LookPath("clang-16"); err != nil {
		testenv.Missing(t, "clang-16 missing (scripts/setup-bpf.sh installs it)")
	}
	src, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "//go:generate ") {
			line = strings.TrimPrefix(l, "//go:generate ")
		}
	}
	args, err := splitQuoted(line)
	if err != nil || len(args) < 3 || args[0] != "go" {
		t.Fatalf("go:generate line %q: %v", line, err)
	}
	dir := t.TempDir()
	// -output-dir must come before the positional arguments.
	args = append([]string{args[1], args[2], "-output-dir", dir}, args[3:]...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOPACKAGE=modern", "GOFILE=gen.go")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, name := range []string{"probe_x86_bpfel.o", "probe_arm64_bpfel.o", "probe_x86_bpfel.go", "probe_arm64_bpfel.go"} {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./bpf/... and commit the result", name)
		}
	}
}

// splitQuoted splits a go:generate line at spaces, keeping "quoted" parts.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case r == ' ' && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	if inQ {
		return nil, os.ErrInvalid
	}
	return out, nil
}
