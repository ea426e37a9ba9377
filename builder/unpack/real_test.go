package unpack

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestDebMatchesDpkg extracts real Debian header packages (from the mirror
// of scripts/setup-builder.sh) and compares every file, link and mode bit
// with what dpkg-deb -x makes of them.
func TestDebMatchesDpkg(t *testing.T) {
	cache := testenv.CacheDir()
	debs, _ := filepath.Glob(filepath.Join(cache, "builder/mirror/pool/bookworm/linux-*-common_*_all.deb"))
	kb, _ := filepath.Glob(filepath.Join(cache, "builder/mirror/pool/bookworm/linux-kbuild-6.1_*_amd64.deb"))
	debs = append(debs, kb...)
	_, err := exec.LookPath("dpkg-deb")
	if len(debs) == 0 || err != nil {
		testenv.Missing(t, "no mirror or no dpkg-deb: run scripts/setup-builder.sh")
	}
	for _, deb := range debs {
		t.Run(filepath.Base(deb), func(t *testing.T) {
			ours, theirs := t.TempDir(), t.TempDir()
			f, err := os.Open(deb)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := Deb(context.Background(), f, ours, Options{}); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("dpkg-deb", "-x", deb, theirs).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb: %v %s", err, out)
			}
			a, b := describe(t, ours), describe(t, theirs)
			if len(a) != len(b) {
				t.Errorf("%d entries, dpkg-deb made %d", len(a), len(b))
			}
			n := 0
			for p, d := range b {
				if a[p] != d && n < 10 {
					t.Errorf("%s: ours %q, dpkg-deb %q", p, a[p], d)
					n++
				}
			}
		})
	}
}

// describe maps each path under dir to its type, mode and content or target.
func describe(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		fi, _ := d.Info()
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "link " + l
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("file %v %x", fi.Mode().Perm(), sha256.Sum256(b))
		}
		return nil
	})
	return out
}
