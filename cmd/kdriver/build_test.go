package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/internal/testenv"
)

// buildScriptsBudget is the time TestBuildScripts wants before go test's
// deadline: it took 8m20s on a 2-core machine at load 40, and the rest of
// the package needs a few minutes more. Under go test's default 10-minute
// timeout the package then died with "test timed out" in whichever test ran
// last, which looked like an intermittent failure.
const buildScriptsBudget = 15 * time.Minute

// TestBuildScripts runs testdata/build/*.txtar against a mirror of real
// Debian packages (made by scripts/setup-builder.sh) served on 127.0.0.1:
// $MIRROR is its URL, $SRC the kernel module source, $KREL the newest
// bookworm 6.1 amd64 kernel release in it.
func TestBuildScripts(t *testing.T) {
	mirror := testenv.BuilderMirror(t)
	if d, ok := t.Deadline(); ok && time.Until(d) < buildScriptsBudget {
		testenv.Missing(t, "the build scripts compile kernel modules for two architectures: %s left before go test's -timeout, want %s (run with -timeout 50m, as scripts/test.sh does)",
			time.Until(d).Round(time.Second), buildScriptsBudget)
	}
	url := testenv.ServeDir(t, mirror) // served until after the parallel scripts

	a := &debian.Archive{URL: url, Client: &http.Client{}}
	ix, err := debian.LoadIndex(context.Background(), a, "bookworm", []string{"main"}, []string{"amd64"})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ix.Kernels("amd64", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	krel := ""
	for _, k := range ks {
		if strings.HasPrefix(k.KernelRelease, "6.1.0-") && strings.HasSuffix(k.KernelRelease, "-amd64") && !strings.Contains(k.KernelRelease, "-rt-") && !strings.Contains(k.KernelRelease, "-cloud-") {
			krel = k.KernelRelease
			break
		}
	}
	if krel == "" {
		t.Fatal("mirror has no bookworm 6.1 amd64 kernel")
	}
	src, _ := filepath.Abs("../../kmod/src")
	kitDir, _ := filepath.Abs("../../kit/testdata/hello-1.2")
	// Debian's falcosecurity-scap-dkms of three suites, in the mirror's pool.
	scapDebs := map[string]string{}
	for _, suite := range []string{"bookworm", "trixie", "sid"} {
		m, _ := filepath.Glob(filepath.Join(mirror, "pool", suite, "falcosecurity-scap-dkms_*_all.deb"))
		if len(m) != 1 {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%d falcosecurity-scap-dkms packages of %s in %s: run scripts/setup-builder.sh", len(m), suite, mirror)
			}
			continue
		}
		scapDebs[suite] = m[0]
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/build",
		Setup: func(env *testscript.Env) error {
			env.Setenv("MIRROR", url)
			env.Setenv("SRC", src)
			env.Setenv("KREL", krel)
			env.Setenv("KITDIR", kitDir)
			env.Setenv("KITCACHE", filepath.Join(testenv.CacheDir(), "builder", "kits"))
			for suite, v := range scapDebs {
				env.Setenv("SCAP_"+strings.ToUpper(suite), v)
			}
			env.Setenv("CI", os.Getenv("CI"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"registry": cmdRegistry,
		},
	})
}

// cmdRegistry is `registry`: an in-memory OCI registry on 127.0.0.1 for
// the rest of the script, its address in $REGISTRY.
func cmdRegistry(ts *testscript.TestScript, neg bool, _ []string) {
	if neg {
		ts.Fatalf("usage: registry")
	}
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	ts.Defer(s.Close)
	ts.Setenv("REGISTRY", strings.TrimPrefix(s.URL, "http://"))
}
