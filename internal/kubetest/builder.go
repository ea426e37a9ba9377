package kubetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/internal/testenv"
)

// BuilderImage returns the docker-archive tarball and name of the builder
// image for suite with pkgs: the root file system the docker backend
// makes (builder.Debootstrap from the host's apt source), as an image the
// cluster imports. It is made once and kept under $KDRIVER_CACHE/k8s/images
// (its name carries the package set).
func BuilderImage(t testing.TB, suite string, pkgs []string) (file, ref string) {
	t.Helper()
	ref = "kdriver.local/" + builder.ImageName(suite, pkgs)
	dir := filepath.Join(testenv.CacheDir(), "k8s", "images")
	file = filepath.Join(dir, strings.ReplaceAll(filepath.Base(ref), ":", "_")+".tar")
	if _, err := os.Stat(file); err == nil {
		return file, ref
	}
	mirror := builder.DebootstrapMirror(os.DirFS("/"))
	if mirror == "" {
		testenv.Missing(t, "no apt source on this host to debootstrap the builder image from")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap missing: run scripts/setup-builder.sh")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	work, err := os.MkdirTemp(dir, "make-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	rootfs := filepath.Join(work, "rootfs")
	if err := builder.Debootstrap(ctx, mirror, suite, pkgs, rootfs); err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(work, "layer.tar")
	if out, err := exec.CommandContext(ctx, "tar", "-C", rootfs, "--numeric-owner", "-cf", layer, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar %s: %v\n%s", rootfs, err, out)
	}
	if err := writeRootfsImage(layer, ref, filepath.Join(work, "image.tar")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(work, "image.tar"), file); err != nil {
		t.Fatal(err)
	}
	t.Logf("builder image %s made in %s", ref, time.Since(start).Round(time.Second))
	return file, ref
}

// writeRootfsImage writes a one-layer image of the root file system tar
// layer as a docker-archive tarball named ref.
func writeRootfsImage(layerTar, ref, out string) error {
	layer, err := tarball.LayerFromFile(layerTar)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	return writeLayerImage(out, ref, layer,
		v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, WorkingDir: "/"})
}

// KdriverBinary builds kdriver (with its Kubernetes backend) for the test
// to run as a command.
func KdriverBinary(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := goBuild(ctx, repoRoot(), "./cmd/kdriver")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kdriver")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// StartRegistry starts Debian's docker-registry on 127.0.0.1; see
// testenv.StartRegistry.
func StartRegistry(t testing.TB) string { return testenv.StartRegistry(t) }
