package headers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/internal/debtest"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/unpack"
)

// fixture serves crafted packages and returns a target made of them.
func fixture(t *testing.T, debs map[string][]byte, roles map[string]string, lie map[string]bool) (matrix.Target, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := debs[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	tg := matrix.Target{Name: "t", Distro: "debian", TargetID: "debian", Arch: "x86_64", KernelRelease: "6.1.0-9-amd64"}
	for name, b := range debs {
		sum := debtest.SHA256(b)
		if lie[name] {
			sum = strings.Repeat("0", 64)
		}
		tg.Packages = append(tg.Packages, matrix.Package{Name: name, Role: roles[name], URL: srv.URL + "/" + name, Size: int64(len(b)), SHA256: sum})
	}
	return tg, &hits
}

var (
	flavour = debtest.Deb(
		debtest.Entry{Name: "./usr/src/linux-headers-6.1.0-9-amd64/Makefile", Body: "include /usr/src/linux-headers-6.1.0-9-common/Makefile\n"},
		debtest.Entry{Name: "./usr/src/linux-headers-6.1.0-9-amd64/scripts", Link: "../../lib/linux-kbuild-6.1/scripts"},
		debtest.Entry{Name: "./lib/modules/6.1.0-9-amd64/build", Link: "/usr/src/linux-headers-6.1.0-9-amd64"},
	)
	common = debtest.Deb(debtest.Entry{Name: "./usr/src/linux-headers-6.1.0-9-common/Makefile", Body: "VERSION = 6\n"})
	kbuild = debtest.Deb(debtest.Entry{Name: "./usr/lib/linux-kbuild-6.1/scripts/fixdep", Body: "ELF"})
	roles  = map[string]string{"h.deb": matrix.RoleHeaders, "c.deb": matrix.RoleCommon, "k.deb": matrix.RoleKbuild}
)

func TestTree(t *testing.T) {
	tg, hits := fixture(t, map[string][]byte{"h.deb": flavour, "c.deb": common, "k.deb": kbuild}, roles, nil)
	dir := t.TempDir()
	s := &Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}
	tree, err := s.Tree(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if tree.RelKDIR() != "usr/src/linux-headers-6.1.0-9-amd64" {
		t.Errorf("KDIR %s", tree.KDIR)
	}
	mk, _ := os.ReadFile(filepath.Join(tree.KDIR, "Makefile"))
	if string(mk) != "include ../linux-headers-6.1.0-9-common/Makefile\n" {
		t.Errorf("Makefile not made relative: %q", mk)
	}
	// The helpers resolve inside the tree, and the package cache is intact.
	if b, err := os.ReadFile(filepath.Join(tree.KDIR, "scripts", "fixdep")); err != nil || string(b) != "ELF" {
		t.Errorf("scripts/fixdep: %q %v", b, err)
	}
	cached, _ := os.ReadFile(filepath.Join(dir, "pkgs", debtest.SHA256(flavour), "usr/src/linux-headers-6.1.0-9-amd64/Makefile"))
	if !strings.HasPrefix(string(cached), "include /usr/src/") {
		t.Errorf("extracted package was modified: %q", cached)
	}
	if _, err := os.Lstat(filepath.Join(tree.Root, "lib")); !os.IsNotExist(err) {
		t.Errorf("lib/modules link extracted: %v", err)
	}
	// Second time: no download at all.
	n := hits.Load()
	if _, err := (&Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}).Tree(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != n {
		t.Errorf("cached tree downloaded again")
	}
}

func TestTreeRefuses(t *testing.T) {
	evil := debtest.Deb(
		debtest.Entry{Name: "./usr/src/linux-headers-6.1.0-9-amd64/Makefile", Body: "x"},
		debtest.Entry{Name: "./usr/src/../../../evil", Body: "x"},
	)
	absLink := debtest.Deb(debtest.Entry{Name: "./usr/src/linux-headers-6.1.0-9-amd64/etc", Link: "/etc"})
	tests := []struct {
		name string
		h    []byte
		lie  bool
		want error
	}{
		{"sha256 mismatch", flavour, true, download.ErrDigest},
		{"dotdot entry", evil, false, unpack.ErrUnsafePath},
		{"absolute link", absLink, false, unpack.ErrUnsafeLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, _ := fixture(t, map[string][]byte{"h.deb": tt.h, "c.deb": common, "k.deb": kbuild}, roles, map[string]bool{"h.deb": tt.lie})
			work := t.TempDir()
			dir := filepath.Join(work, "cache")
			s := &Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}
			_, err := s.Tree(context.Background(), tg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "h.deb") {
				t.Errorf("error does not name the package: %v", err)
			}
			// Nothing outside the cache folder; no tree, no trusted blob.
			ents, _ := os.ReadDir(work)
			if len(ents) != 1 {
				t.Errorf("work folder holds %v", ents)
			}
			if _, err := os.Stat(filepath.Join(dir, "trees")); err == nil {
				if ts, _ := filepath.Glob(filepath.Join(dir, "trees", "[0-9a-f]*")); len(ts) > 0 {
					t.Errorf("a tree was assembled: %v", ts)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "sha256", strings.Repeat("0", 64))); err == nil {
				t.Errorf("tampered package stored under the digest it lied about")
			}
			filepath.Walk(work, func(p string, fi os.FileInfo, err error) error {
				if fi != nil && fi.Name() == "evil" {
					t.Errorf("wrote %s", p)
				}
				return nil
			})
		})
	}
}

func TestTreeRPM(t *testing.T) {
	rel := "5.14.0-427.13.1.el9_4.x86_64"
	devel := debtest.RPM(
		debtest.Entry{Name: "./usr/src/kernels/" + rel + "/Makefile", Body: "VERSION = 5\n"},
		debtest.Entry{Name: "./usr/src/kernels/" + rel + "/.config", Body: "CONFIG_CC_VERSION_TEXT=\"gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)\"\n"},
		debtest.Entry{Name: "./lib/modules/" + rel + "/build", Link: "/usr/src/kernels/" + rel},
	)
	tg, _ := fixture(t, map[string][]byte{"kernel-devel.rpm": devel}, map[string]string{"kernel-devel.rpm": matrix.RoleHeaders}, nil)
	tg.KernelRelease, tg.Distro, tg.TargetID = rel, "rhel", "centos"
	dir := t.TempDir()
	tree, err := (&Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}).Tree(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if tree.RelKDIR() != "usr/src/kernels/"+rel {
		t.Errorf("KDIR %s", tree.KDIR)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.KDIR, ".config")); !strings.Contains(string(b), "Red Hat") {
		t.Errorf(".config %q", b)
	}
}
