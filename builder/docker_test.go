package builder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/internal/testenv"
)

// hostMirror is the host's Debian archive (debootstrap makes images from it).
func hostMirror(t *testing.T) string {
	hs, err := debian.HostSources(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range hs {
		if !strings.Contains(s.URI, "security") {
			return s.URI
		}
	}
	testenv.Missing(t, "no apt source on this host to debootstrap from")
	return ""
}

// TestDockerBackend builds the module in builder images made by kdriver
// (debootstrap + docker import) for kernels whose compiler the host lacks:
// bullseye 5.10 (gcc-10) and sid (a newer gcc and C library), and sid arm64
// cross-built in a sid image with its cross compiler.
func TestDockerBackend(t *testing.T) {
	mirror := testenv.BuilderMirror(t)
	for _, suite := range []string{"bullseye", "sid"} {
		if _, err := os.Stat(filepath.Join(mirror, "dists", suite, "Release")); err != nil {
			t.Fatalf("mirror has no %s: run scripts/setup-builder.sh", suite)
		}
	}
	host := testenv.StartDockerd(t, filepath.Join(testenv.CacheDir(), "builder", "docker"))
	url := testenv.ServeDir(t, mirror)
	src := kmodSource(t)
	ctx := context.Background()
	var targets []matrix.Target
	for _, sa := range [][2]string{{"bullseye", "amd64"}, {"sid", "amd64"}, {"sid", "arm64"}} {
		a := &debian.Archive{URL: url, Client: httpClient()}
		ix, err := debian.LoadIndex(ctx, a, sa[0], []string{"main"}, []string{"amd64", sa[1]})
		if err != nil {
			t.Fatal(err)
		}
		ks, err := ix.Kernels(sa[1], "amd64")
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) == 0 {
			t.Fatalf("%s %s: no kernel in the mirror: run scripts/setup-builder.sh", sa[0], sa[1])
		}
		targets = append(targets, ks[0])
	}
	work := t.TempDir()
	d := &Docker{Host: host, Mirror: hostMirror(t), ImageDir: filepath.Join(work, "images"), Logger: testLogger(t)}
	b := newTestBuilderWith(t, work, src, 2, "docker", func(context.Context, matrix.Target, Compiler) (Backend, error) { return d, nil })
	rep, err := b.Run(ctx, targets)
	for _, r := range rep.Results {
		t.Logf("%s: %s with %s in %.0fs: %s%s", r.Target, r.Status, r.Compiler, r.Seconds, r.Artifact, r.Error)
	}
	if err != nil {
		for _, r := range rep.Results {
			if r.Log != "" {
				b, _ := os.ReadFile(r.Log)
				t.Logf("log of %s:\n%s", r.Target, lastLines(b, 30))
			}
		}
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Backend != "docker" || !strings.Contains(r.Compiler, "gcc-") {
			t.Errorf("%s: backend %s compiler %q", r.Target, r.Backend, r.Compiler)
		}
	}
}
