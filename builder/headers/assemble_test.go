package headers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/internal/debtest"
	"github.com/kdriver/kdriver/builder/matrix"
)

// ordered serves packages and returns a target made of them, in this order
// (the order in which the tree is assembled).
func ordered(t *testing.T, debs ...[]byte) matrix.Target {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, b := range debs {
			if "/"+debtest.SHA256(b) == r.URL.Path {
				w.Write(b)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	tg := matrix.Target{Name: "t", Distro: "debian", TargetID: "debian", Arch: "x86_64", KernelRelease: "6.1.0-9-amd64"}
	for i, b := range debs {
		role := matrix.RoleCommon
		if i == 0 {
			role = matrix.RoleHeaders
		}
		tg.Packages = append(tg.Packages, matrix.Package{Name: "p" + string(rune('a'+i)) + ".deb", Role: role,
			URL: srv.URL + "/" + debtest.SHA256(b), Size: int64(len(b)), SHA256: debtest.SHA256(b)})
	}
	return tg
}

// noTree fails the test when a tree was recorded in the store.
func noTree(t *testing.T, dir string) {
	t.Helper()
	if ts, _ := filepath.Glob(filepath.Join(dir, "trees", "[0-9a-f]*")); len(ts) > 0 {
		t.Errorf("a tree was recorded: %v", ts)
	}
}

const mk = "./usr/src/linux-headers-6.1.0-9-amd64/Makefile"

// Three packages that each pass the extraction checks: the first links
// usr/src/up to the tree's root; the second, seen alone, holds real folders
// usr/src/up/usr/src/... and a link climbing as many levels as they are deep
// (which, assembled, climbs out to /); the third a file below that link.
func TestTreeAssemblyNeverFollowsPackageLinks(t *testing.T) {
	outside := t.TempDir()
	a := debtest.Deb(debtest.Entry{Name: mk, Body: "all:\n"}, debtest.Entry{Name: "./usr/src/up", Link: "../.."})
	deep := strings.Repeat("usr/src/up/", 20) + "usr/src"
	b := debtest.Deb(debtest.Entry{Name: "./" + deep + "/esc", Link: strings.Repeat("../", strings.Count(deep, "/")+1)})
	c := debtest.Deb(debtest.Entry{Name: "./usr/src/esc" + outside + "/pwned", Body: "root was here"})
	for _, pkgs := range [][][]byte{{a, b, c}, {a, b}} {
		dir := filepath.Join(t.TempDir(), "cache")
		s := &Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}
		_, err := s.Tree(context.Background(), ordered(t, pkgs...))
		if !errors.Is(err, ErrUnsafeTree) {
			t.Errorf("%d packages: err = %v, want ErrUnsafeTree", len(pkgs), err)
		}
		if err != nil && !strings.Contains(err.Error(), "pb.deb") {
			t.Errorf("error does not name the package: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(outside, "pwned")); err == nil {
			t.Fatalf("a package's file was linked outside the cache, into %s", outside)
		}
		noTree(t, dir)
	}
}

// One package whose links each stay in the tree on paper, but whose second
// link goes through the first: the tree is checked before it is recorded.
func TestTreeCheckedBeforeRecorded(t *testing.T) {
	tests := []struct {
		name string
		deb  []byte
	}{
		{"link through a link", debtest.Deb(
			debtest.Entry{Name: mk, Body: "all:\n"},
			debtest.Entry{Name: "./usr/src/s", Link: "../.."},
			debtest.Entry{Name: "./usr/src/l", Link: "s/../../.."},
		)},
		{"directory turned into a link", nil},
	}
	// Two packages: the first has a folder, the second a link in its place.
	first := debtest.Deb(debtest.Entry{Name: mk, Body: "all:\n"}, debtest.Entry{Name: "./usr/src/d/x", Body: "x"})
	second := debtest.Deb(debtest.Entry{Name: "./usr/src/d", Link: "../.."})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := ordered(t, first, second)
			if tt.deb != nil {
				tg = ordered(t, tt.deb)
			}
			dir := t.TempDir()
			s := &Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}
			if _, err := s.Tree(context.Background(), tg); !errors.Is(err, ErrUnsafeTree) {
				t.Errorf("err = %v, want ErrUnsafeTree", err)
			}
			noTree(t, dir)
		})
	}
}

// A package extracted by an older kdriver (fewer checks) is extracted again.
func TestOldExtractionNotTrusted(t *testing.T) {
	tg := ordered(t, debtest.Deb(debtest.Entry{Name: mk, Body: "all:\n"}))
	dir := t.TempDir()
	old := filepath.Join(dir, "pkgs", tg.Packages[0].SHA256)
	os.MkdirAll(filepath.Join(old, "usr/src/linux-headers-6.1.0-9-amd64"), 0o755)
	os.WriteFile(filepath.Join(old, "usr/src/linux-headers-6.1.0-9-amd64/Makefile"), []byte("stale\n"), 0o644)
	os.WriteFile(filepath.Join(old, complete), nil, 0o644)
	tree, err := (&Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}).Tree(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.KDIR, "Makefile")); string(b) != "all:\n" {
		t.Errorf("old extraction used: Makefile %q", b)
	}
}

// Temporary folders a killed kdriver left (whole header trees) are removed
// once stale; a recent one (another kdriver at work) is left alone.
func TestStaleTemporaryFoldersSwept(t *testing.T) {
	tg := ordered(t, debtest.Deb(debtest.Entry{Name: mk, Body: "all:\n"}))
	dir := t.TempDir()
	old := []string{filepath.Join(dir, "trees", ".tmp-1"), filepath.Join(dir, "pkgs", ".tmp-2")}
	recent := filepath.Join(dir, "trees", ".tmp-3")
	for _, d := range append(old, recent) {
		os.MkdirAll(filepath.Join(d, "usr/src"), 0o755)
	}
	for _, d := range old {
		long := time.Now().Add(-48 * time.Hour)
		os.Chtimes(d, long, long)
	}
	if _, err := (&Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}}).Tree(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	for _, d := range old {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left behind", d)
		}
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent %s removed: %v", recent, err)
	}
}
