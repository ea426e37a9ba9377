package kubetest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image names the cluster's nodes know (imported, never pulled).
const (
	PauseImage   = "kdriver.local/pause:1"
	KdriverImage = "kdriver.local/kdriver:test"
)

// file is one regular file or folder of an image layer.
type file struct {
	path string
	mode int64
	data []byte // nil: a folder
}

// writeImage writes a one-layer image from scratch as a docker-archive
// tarball (what `ctr images import` reads) named ref.
func writeImage(out, ref string, files []file, cfg v1.Config) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time keeps the image's digest a function of its content.
	mtime := time.Unix(0, 0)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: mtime, Typeflag: tar.TypeReg, Size: int64(len(f.data))}
		if f.data == nil {
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("layer %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("layer %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	return writeLayerImage(out, ref, layer, cfg)
}

// writeLayerImage writes the amd64 image of the one layer with cfg as a
// docker-archive tarball named ref.
func writeLayerImage(out, ref string, layer v1.Layer, cfg v1.Config) error {
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Config = "amd64", "linux", cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// goBuild builds pkg (a path relative to the repository's root) as one
// static binary and returns its bytes.
func goBuild(ctx context.Context, root, pkg string, tags ...string) ([]byte, error) {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("kubetest-%d-%s", os.Getpid(), filepath.Base(pkg)))
	defer os.Remove(out)
	args := []string{"build", "-trimpath", "-o", out}
	for _, t := range tags {
		args = append(args, "-tags", t)
	}
	cmd := exec.CommandContext(ctx, goTool(), append(args, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return os.ReadFile(out)
}

// WritePauseImage writes the sandbox image (PauseImage) to out.
func WritePauseImage(ctx context.Context, root, out string) error {
	b, err := goBuild(ctx, root, "./internal/kubetest/pause")
	if err != nil {
		return err
	}
	return writeImage(out, PauseImage, []file{{"pause", 0o755, b}},
		v1.Config{Entrypoint: []string{"/pause"}})
}

// WriteKdriverImage writes kdriver's container image (KdriverImage) to
// out: the same image docker/Dockerfile describes (a static kdriver under
// its own and the legacy name, /tmp, HOST_ROOT=/host, entrypoint
// falco-driver-loader), assembled without a Docker engine.
func WriteKdriverImage(ctx context.Context, root, out string) error {
	b, err := goBuild(ctx, root, "./cmd/kdriver", "nokubernetes")
	if err != nil {
		return err
	}
	return writeImage(out, KdriverImage, []file{
		{"usr", 0o755, nil}, {"usr/bin", 0o755, nil},
		{"usr/bin/kdriver", 0o755, b}, {"usr/bin/falco-driver-loader", 0o755, b},
		{"tmp", 0o1777, nil},
	}, v1.Config{
		Env:        []string{"PATH=/usr/bin", "HOST_ROOT=/host"},
		Entrypoint: []string{"/usr/bin/falco-driver-loader"},
		WorkingDir: "/",
	})
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
