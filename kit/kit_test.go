package kit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/artifacts"
)

func TestParseDKMSConf(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want DKMSConf
		bad  bool
	}{
		{name: "debian scap", conf: "PACKAGE_NAME=\"scap\"\nPACKAGE_VERSION=\"0.23.2\"\n\n# 'struct mmsghdr' appeared in 2.6.33\nBUILD_EXCLUSIVE_KERNEL_MIN=\"2.6.33\"\n\nBUILT_MODULE_NAME[0]=\"scap\"\nDEST_MODULE_LOCATION[0]=\"/kernel/extra\"\nAUTOINSTALL=\"yes\"\n",
			want: DKMSConf{PackageName: "scap", PackageVersion: "0.23.2", Modules: []string{"scap"}, Exclusive: Exclusive{KernelMin: "2.6.33"}}},
		{name: "bare and single quoted, expansion", conf: "PACKAGE_NAME=foo # the name\nPACKAGE_VERSION='1.0'\nBUILT_MODULE_NAME=\"${PACKAGE_NAME}_drv\"\nBUILD_EXCLUSIVE_KERNEL_MAX=\"6.12\"\nBUILD_EXCLUSIVE_ARCH=\"x86_64\"\n",
			want: DKMSConf{PackageName: "foo", PackageVersion: "1.0", Modules: []string{"foo_drv"}, Exclusive: Exclusive{KernelMax: "6.12", Arch: "x86_64"}}},
		{name: "run-time variables and shell are not values", conf: "PACKAGE_NAME=x\nPACKAGE_VERSION=1\nMAKE[0]=\"make -C $kernel_source_dir\"\nif true; then\nBUILT_MODULE_NAME[0]=$(echo evil)\nfi\nBUILT_MODULE_NAME[0]=x\n",
			want: DKMSConf{PackageName: "x", PackageVersion: "1", Modules: []string{"x"}}},
		{name: "two modules", conf: "PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[1]=b\nBUILT_MODULE_NAME[0]=a\nBUILT_MODULE_LOCATION[0]=src/\n",
			want: DKMSConf{PackageName: "x", PackageVersion: "1", Modules: []string{"a", "b"}, Locations: []string{"src/"}}},
		{name: "no version", conf: "PACKAGE_NAME=x\n", bad: true},
		{name: "bad arch pattern", conf: "PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILD_EXCLUSIVE_ARCH=\"(\"\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDKMSConf([]byte(tt.conf))
			if tt.bad {
				if !errors.Is(err, ErrBadKit) {
					t.Fatalf("got %+v, %v; want ErrBadKit", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(*got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func FuzzParseDKMSConf(f *testing.F) {
	f.Add([]byte("PACKAGE_NAME=\"scap\"\nPACKAGE_VERSION=\"0.23.2\"\nBUILD_EXCLUSIVE_KERNEL_MIN=\"2.6.33\"\nBUILT_MODULE_NAME[0]=\"scap\"\n"))
	f.Add([]byte("PACKAGE_NAME=a\nPACKAGE_VERSION='${PACKAGE_NAME}'\nBUILT_MODULE_NAME=\"$PACKAGE_NAME\" # c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseDKMSConf(b)
		if err != nil {
			if !errors.Is(err, ErrBadKit) && !strings.Contains(err.Error(), "dkms.conf") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if c.PackageName == "" || c.PackageVersion == "" {
			t.Fatalf("accepted without name or version: %+v", c)
		}
		for _, v := range append([]string{c.PackageName, c.PackageVersion}, c.Modules...) {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("value %q spans lines", v)
			}
		}
		// Whatever a dkms.conf says, a kit takes only plain names: they end
		// up in paths, make arguments and build scripts' environments.
		k := &Kit{Name: c.PackageName, Module: c.PackageName, Device: c.PackageName, Version: c.PackageVersion}
		if k.validate() == nil && strings.Trim(k.Name+k.Version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+~-") != "" {
			t.Fatalf("validated %q %q", k.Name, k.Version)
		}
	})
}

func TestExclusive(t *testing.T) {
	e := Exclusive{KernelMin: "5.4", KernelMax: "6.12", Arch: "^(x86_64|aarch64)$"}
	for _, tt := range []struct {
		release, arch string
		ok            bool
		reason        string
	}{
		{"6.1.0-13-amd64", "x86_64", true, ""},
		{"5.4.0", "aarch64", true, ""},
		{"6.12.0", "x86_64", true, ""},
		// As DKMS compares: 6.12.48 is past a bound of 6.12 (6.12.0).
		{"6.12.48+deb13-amd64", "x86_64", false, "newer than BUILD_EXCLUSIVE_KERNEL_MAX 6.12"},
		{"6.13.1-1-amd64", "x86_64", false, "newer than BUILD_EXCLUSIVE_KERNEL_MAX 6.12"},
		{"4.19.0-27-amd64", "x86_64", false, "older than BUILD_EXCLUSIVE_KERNEL_MIN 5.4"},
		{"6.1.0-13-armmp", "armv7l", false, "arch armv7l does not match"},
	} {
		ok, reason := e.Allows(tt.release, tt.arch)
		if ok != tt.ok || !strings.Contains(reason, tt.reason) {
			t.Errorf("Allows(%s, %s) = %v %q, want %v %q", tt.release, tt.arch, ok, reason, tt.ok, tt.reason)
		}
	}
}

func TestOpenDKMSFolder(t *testing.T) {
	k, err := Open(context.Background(), "testdata/hello-1.2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "hello" || k.Module != "hello" || k.Device != "hello" || k.Version != "1.2" || k.Method != MethodKbuild || !k.Offers(artifacts.KindKmod) {
		t.Fatalf("kit %+v", k)
	}
	if ok, _ := k.Exclusive.Allows("4.19.0", "x86_64"); ok {
		t.Error("BUILD_EXCLUSIVE_KERNEL_MIN 5.4 not honoured")
	}
	if _, err := fs.Stat(k.Source, "hello.c"); err != nil {
		t.Error(err)
	}
}

func TestOpenNotAKit(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Makefile"), []byte("obj-m += x.o\n"), 0o644)
	if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrNotKit) {
		t.Fatalf("plain folder: %v, want ErrNotKit", err)
	}
	bad := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "dkms.conf"), []byte("PACKAGE_NAME=\"../x\"\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=x\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "Makefile"), nil, 0o644)
	if _, err := Open(context.Background(), bad, Options{}); !errors.Is(err, ErrBadKit) {
		t.Fatalf("name with a slash: %v, want ErrBadKit", err)
	}
}

func TestConfigureLibs(t *testing.T) {
	if _, err := Open(context.Background(), "testdata/libsdriver", Options{}); !errors.Is(err, ErrBadKit) {
		t.Fatalf("without a version: %v, want ErrBadKit", err)
	}
	k, err := Open(context.Background(), "testdata/libsdriver", Options{Name: "falco", Version: "8.1.0+driver", Device: "falco"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "falco" || k.Module != "falco" || k.Device != "falco" || k.Format != FormatScap {
		t.Fatalf("kit %+v", k)
	}
	want := map[string]string{
		"Makefile":                         "falco-y += main.o\nobj-m += falco.o\nccflags-y := \n",
		"configure/HAS_THING/Makefile.inc": "HAS_HAS_THING := 1\nccflags-y += -DHAS_HAS_THING\n",
		"configure/HAS_THING/Makefile":     "obj-m += testmod.o\n",
		"configure/HAS_THING/test.c":       "int main(void) { return 0; }\n",
		"dkms.conf":                        "PACKAGE_NAME=\"falco\"\nPACKAGE_VERSION=\"8.1.0+driver\"\nBUILT_MODULE_NAME[0]=\"falco\"\n",
	}
	for name, content := range want {
		b, err := fs.ReadFile(k.Source, name)
		if err != nil || !strings.HasSuffix(string(b), content) {
			t.Errorf("%s = %q (%v), want it to end with %q", name, b, err, content)
		}
	}
	h, _ := fs.ReadFile(k.Source, "driver_config.h")
	for _, line := range []string{"#define PPM_API_CURRENT_VERSION_MAJOR 8", "#define PPM_API_CURRENT_VERSION_MINOR 0",
		`#define DRIVER_VERSION "8.1.0+driver"`, `#define DRIVER_DEVICE_NAME "falco"`} {
		if !strings.Contains(string(h), line) {
			t.Errorf("driver_config.h lacks %q:\n%s", line, h)
		}
	}
	for _, gone := range []string{"Makefile.in", "driver_config.h.in", "API_VERSION"} {
		if _, err := fs.Stat(k.Source, gone); err == nil {
			t.Errorf("%s copied into the configured tree", gone)
		}
	}
}

// writeDeb makes a .deb whose data.tar.gz holds files (name → content).
func writeDeb(t *testing.T, files map[string]string) string {
	t.Helper()
	var data bytes.Buffer
	gz := gzip.NewWriter(&data)
	tw := tar.NewWriter(gz)
	for name, c := range files {
		tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg})
		tw.Write([]byte(c))
	}
	tw.Close()
	gz.Close()
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	member := func(name string, b []byte) {
		fmt.Fprintf(&ar, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", name, "0", "0", "0", "100644", len(b))
		ar.Write(b)
		if len(b)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("data.tar.gz", data.Bytes())
	p := filepath.Join(t.TempDir(), "x-dkms_1_all.deb")
	if err := os.WriteFile(p, ar.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenDeb(t *testing.T) {
	tree := map[string]string{}
	for _, n := range []string{"dkms.conf", "Makefile", "hello.c"} {
		b, err := os.ReadFile(filepath.Join("testdata/hello-1.2", n))
		if err != nil {
			t.Fatal(err)
		}
		tree["usr/src/hello-1.2/"+n] = string(b)
	}
	tree["usr/share/doc/hello/copyright"] = "x"
	k, err := Open(context.Background(), writeDeb(t, tree), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Module != "hello" || k.Version != "1.2" || !strings.Contains(k.Origin, "/usr/src/hello-1.2") {
		t.Fatalf("kit %+v", k)
	}
	if _, err := fs.Stat(k.Source, "hello.c"); err != nil {
		t.Error(err)
	}

	// The folder must be the one DKMS would use for what dkms.conf says.
	moved := map[string]string{}
	for n, c := range tree {
		moved[strings.Replace(n, "hello-1.2", "hello-9", 1)] = c
	}
	if _, err := Open(context.Background(), writeDeb(t, moved), Options{}); !errors.Is(err, ErrBadKit) {
		t.Fatalf("usr/src/hello-9 holding hello 1.2: %v, want ErrBadKit", err)
	}
	if _, err := Open(context.Background(), writeDeb(t, map[string]string{"usr/bin/x": "y"}), Options{}); !errors.Is(err, ErrNotKit) {
		t.Fatalf("a .deb without usr/src: %v, want ErrNotKit", err)
	}
}

func TestOwn(t *testing.T) {
	k, err := Own("0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if k.Module != "kdriver" || k.Format != FormatKD || k.Device != "kdriver" {
		t.Fatalf("kit %+v", k)
	}
	for _, f := range []string{"Makefile", "kd_event.h", "kd_main.c"} {
		if _, err := fs.Stat(k.Source, f); err != nil {
			t.Error(err)
		}
	}
}
