package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrBackendUnavailable is returned for a backend this build cannot use.
var ErrBackendUnavailable = errors.New("backend not available")

// Docker runs jobs in containers of builder images that kdriver makes
// itself: a debootstrap of the kernel's own suite with its compiler, turned
// into an image with `docker import` (no registry needed, which also serves
// air-gapped users). Containers run with --network none.
type Docker struct {
	Bin  string // docker client (default "docker")
	Host string // -H address; "" uses the client's default
	// Mirror is the Debian archive debootstrap reads (required to make
	// images; an existing image is used as is).
	Mirror string
	// ImageDir holds debootstrap work folders while an image is made.
	ImageDir string
	Logger   *slog.Logger

	mu     sync.Mutex
	images map[string]*sync.Mutex
}

// Name implements Backend.
func (*Docker) Name() string { return "docker" }

func (*Docker) imageJobs() {}

func (d *Docker) cmd(ctx context.Context, args ...string) *exec.Cmd {
	bin := d.Bin
	if bin == "" {
		bin = "docker"
	}
	if d.Host != "" {
		args = append([]string{"-H", d.Host}, args...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

func (d *Docker) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// ImagePackages are the packages a builder image needs for a job: make, the
// compiler of the headers (a cross one for another arch) and what the
// kbuild helpers depend on, as the metadata lists it.
func ImagePackages(job Job) []string {
	pk := map[string]bool{"make": true, "libc6-dev": true}
	cc := fmt.Sprintf("%s-%d", job.Compiler.Family, job.Compiler.Major)
	if p := job.Env["CROSS_COMPILE"]; p != "" {
		triplet := strings.TrimSuffix(p, "-")
		pk[cc+"-"+triplet] = true
		pk["libc6-dev-"+debArchOfTriplet(triplet)+"-cross"] = true
	} else {
		pk[cc] = true
	}
	for _, p := range job.Depends {
		pk[p] = true
	}
	out := make([]string, 0, len(pk))
	for p := range pk {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// BaseSuite is the release a suite's packages belong to: bookworm for
// bookworm-security, bookworm-updates or bookworm-backports (what
// debootstrap can install).
func BaseSuite(suite string) string {
	for _, p := range []string{"-security", "-updates", "-backports", "-proposed-updates"} {
		if b, ok := strings.CutSuffix(suite, p); ok {
			return b
		}
	}
	return suite
}

func debArchOfTriplet(t string) string {
	for _, a := range []kernelrelease.Arch{kernelrelease.ArchAarch64, kernelrelease.ArchX86_64} {
		if strings.HasPrefix(t, string(a)) {
			return a.Deb()
		}
	}
	return t
}

// Image returns the builder image for a suite and package set, making it
// when the daemon does not have it.
func (d *Docker) Image(ctx context.Context, suite string, pkgs []string) (string, error) {
	suite = BaseSuite(suite)
	if suite == "" {
		return "", fmt.Errorf("docker: target has no suite to make a builder image from: %w", ErrBackendUnavailable)
	}
	name := ImageName(suite, pkgs)
	d.mu.Lock()
	if d.images == nil {
		d.images = map[string]*sync.Mutex{}
	}
	l, ok := d.images[name]
	if !ok {
		l = &sync.Mutex{}
		d.images[name] = l
	}
	d.mu.Unlock()
	l.Lock()
	defer l.Unlock()

	if err := d.cmd(ctx, "image", "inspect", "--format", "{{.Id}}", name).Run(); err == nil {
		return name, nil
	}
	if d.Mirror == "" {
		return "", fmt.Errorf("docker: image %s missing and no Debian mirror to debootstrap it from: give --debootstrap-mirror: %w", name, ErrBackendUnavailable)
	}
	if err := os.MkdirAll(d.ImageDir, 0o755); err != nil {
		return "", err
	}
	rootfs, err := os.MkdirTemp(d.ImageDir, "rootfs-"+suite+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(rootfs)
	d.log().Info("making builder image", "image", name, "suite", suite, "packages", strings.Join(pkgs, ","))
	if err := Debootstrap(ctx, d.Mirror, suite, pkgs, rootfs); err != nil {
		return "", fmt.Errorf("docker: %w", err)
	}
	// tar the rootfs into `docker import`, without a shell in between.
	tarCmd := exec.CommandContext(ctx, "tar", "-C", rootfs, "--numeric-owner", "-c", ".")
	imp := d.cmd(ctx, "import", "-", name)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	imp.Stdin = pipe
	var impOut strings.Builder
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		return "", fmt.Errorf("docker import: %w", err)
	}
	tarErr := tarCmd.Run()
	if err := imp.Wait(); err != nil {
		return "", fmt.Errorf("docker import %s: %w: %s", name, err, impOut.String())
	}
	if tarErr != nil {
		return "", fmt.Errorf("tar %s: %w", rootfs, tarErr)
	}
	return name, nil
}

// ImageName is the builder image of a suite and package set:
// kdriver-builder:<suite>-<hash of the packages>.
func ImageName(suite string, pkgs []string) string {
	h := sha256.Sum256([]byte(strings.Join(pkgs, " ")))
	return "kdriver-builder:" + BaseSuite(suite) + "-" + hex.EncodeToString(h[:])[:12]
}

// Debootstrap makes a builder image's root file system in rootfs: a
// minimal install of suite from mirror with pkgs (the docker backend
// imports it; a Kubernetes cluster's nodes get it as an image).
func Debootstrap(ctx context.Context, mirror, suite string, pkgs []string, rootfs string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("making a builder image needs debootstrap: apt-get install debootstrap: %w", ErrBackendUnavailable)
	}
	boot := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(pkgs, ","), BaseSuite(suite), rootfs, mirror)
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap %s: %w: %s", suite, err, lastLines(out, 5))
	}
	return nil
}

// Build implements Backend.
func (d *Docker) Build(ctx context.Context, job Job) (Result, error) {
	image, err := d.Image(ctx, job.Suite, ImagePackages(job))
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "kdriver-job-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o777); err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "build.sh"), []byte(job.Script), 0o755); err != nil {
		return Result{}, err
	}
	env := map[string]string{
		"KDIR": "/kdriver/tree/" + filepath.ToSlash(job.KDIR), "SRC": "/kdriver/src", "OUT": "/kdriver/job/out",
		"CC": job.Env["CROSS_COMPILE"] + job.Compiler.Command, "LC_ALL": "C",
	}
	for k, v := range job.Env {
		env[k] = v
	}
	args := []string{"run", "--rm", "--network", "none",
		"-v", job.Root + ":/kdriver/tree:ro",
		"-v", job.Source + ":/kdriver/src:ro",
		"-v", dir + ":/kdriver/job",
	}
	for _, kv := range envList(env) {
		args = append(args, "-e", kv)
	}
	args = append(args, image, "/bin/sh", "/kdriver/job/build.sh")
	cmd := d.cmd(ctx, args...)
	log, err := cmd.CombinedOutput()
	res := Result{Log: log}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("%s: docker run: %s: %w: %s", job.Name, err, ErrBuild, FirstError(log))
	}
	res.Artifact, err = ReadOutput(filepath.Join(dir, "out", job.Artifact))
	if err != nil {
		return res, fmt.Errorf("%s: script left no usable %s: %w: %w", job.Name, job.Artifact, ErrBuild, err)
	}
	return res, nil
}
