package matrix

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

const good = `version: 1
targets:
  - name: a
    distro: debian
    target_id: debian
    arch: x86_64
    kernel_release: 6.1.0-1-amd64
    fixed_kernel_release: 6.1.1-1-amd64
    fixed_kernel_version: "1"
    packages:
      - {name: h, version: "1", arch: amd64, role: headers, url: "http://127.0.0.1/h.deb", size: 10, sha256: "` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"}
`

func TestRead(t *testing.T) {
	f, err := Read(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(&buf); err != nil {
		t.Fatalf("written matrix does not read back: %v", err)
	}
	// JSON is YAML.
	if _, err := Read(strings.NewReader(`{"version":1,"targets":[]}`)); err != nil {
		t.Errorf("JSON: %v", err)
	}
	bad := map[string]string{
		"version 2":     strings.Replace(good, "version: 1", "version: 2", 1),
		"unknown field": strings.Replace(good, "distro:", "distor:", 1),
		"arch":          strings.Replace(good, "arch: x86_64", "arch: mips", 1),
		"no sha256":     strings.Replace(good, `sha256: "aaaa`, `sha256: "aa`, 1),
		"duplicate":     good + strings.SplitN(good, "targets:\n", 2)[1],
		"no headers":    strings.Replace(good, "role: headers", "role: common", 1),
		// Names become path components, image tags and command arguments.
		"name with ../":        strings.Replace(good, "name: a", "name: ../../../../tmp/x", 1),
		"name with /":          strings.Replace(good, "name: a", "name: a/b", 1),
		"name with newline":    strings.Replace(good, "name: a", `name: "a\n; rm -rf /"`, 1),
		"release with ../":     strings.Replace(good, "kernel_release: 6.1.0-1-amd64", "kernel_release: ../../../etc", 1),
		"fixed release with /": strings.Replace(good, "fixed_kernel_release: 6.1.1-1-amd64", "fixed_kernel_release: x/../../y", 1),
		"target id ..":         strings.Replace(good, "target_id: debian", "target_id: ..", 1),
		"suite an option":      strings.Replace(good, "distro: debian", "distro: debian\n    suite: --keyring=/tmp/k", 1),
		"depends with space":   strings.Replace(good, "distro: debian", "distro: debian\n    build_depends: [\"make --x\"]", 1),
		"sha256 a path":        strings.Replace(good, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "../../../../../../../../../../../../../../../../../../tmp/aaaaaa", 1),
	}
	for name, in := range bad {
		if _, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "unknown field" && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(good)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Read(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, tg := range m.Targets {
			if tg.Validate() != nil {
				t.Fatalf("Read accepted an invalid target")
			}
		}
	})
}

// A matrix "file" that never ends (a device, a pipe left open) is read up
// to a cap, not until memory runs out.
func TestReadFileCapped(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		testenv.Missing(t, "no /dev/zero: %v", err)
	}
	if _, err := ReadFile("/dev/zero"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}
