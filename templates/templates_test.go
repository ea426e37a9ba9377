package templates

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRender(t *testing.T) {
	tests := []Data{
		{Family: "debian", Kind: "kmod", Target: "debian-bookworm-6.1.0-56-amd64"},
		{Family: "debian", Kind: "kmod", Target: "debian-bookworm-6.1.0-56-arm64\n; rm -rf /", Cross: true},
		{Family: "rpm", Kind: "kmod", Target: "centos-5.14.0-427.el9.x86_64"},
		{Family: "debian", Kind: "ebpf", Target: "debian-bookworm-6.1.0-56-arm64", Cross: true},
	}
	for i, d := range tests {
		name := filepath.Join("testdata", d.Family+"-"+d.Kind+map[bool]string{true: "-cross", false: ""}[d.Cross]+".golden")
		t.Run(name, func(t *testing.T) {
			got, err := Render(d)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				os.MkdirAll("testdata", 0o755)
				os.WriteFile(name, []byte(got), 0o644)
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("case %d: script differs from %s (run with -update after checking):\n%s", i, name, got)
			}
			if sh, err := exec.LookPath("sh"); err == nil {
				if out, err := exec.Command(sh, "-n", "-c", got).CombinedOutput(); err != nil {
					t.Errorf("sh -n: %v: %s", err, out)
				}
			}
		})
	}
	if _, err := Render(Data{Family: "gentoo", Kind: "kmod"}); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("unknown family: %v", err)
	}
	if f := Families("kmod"); len(f) != 2 {
		t.Errorf("Families(kmod) = %v", f)
	}
	if f := Families("ebpf"); len(f) != 1 || f[0] != "debian" {
		t.Errorf("Families(ebpf) = %v", f)
	}
}
