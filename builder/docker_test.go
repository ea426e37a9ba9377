package builder

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/matrix"
)

// startDockerd starts a Docker engine of the test's own: data root under
// the cache (builder images survive between runs), exec root and socket in
// a short temporary folder, no bridge and no iptables rules. It returns
// the daemon's address for docker -H.
func startDockerd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dockerd (root) needed: run scripts/setup-builder.sh")
		}
		t.Skip("dockerd (root) needed: run scripts/setup-builder.sh")
	}
	run, err := os.MkdirTemp("/tmp", "kdd-")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(cacheDir(), "builder", "docker")
	sock := "unix://" + filepath.Join(run, "d.sock")
	logf, err := os.Create(filepath.Join(t.TempDir(), "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--data-root", data, "--exec-root", filepath.Join(run, "x"),
		"--pidfile", filepath.Join(run, "d.pid"), "-H", sock,
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(run)
	})
	for i := 0; ; i++ {
		if exec.Command("docker", "-H", sock, "version").Run() == nil {
			return sock
		}
		if i == 120 {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("dockerd did not come up: %s", b)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

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
	if os.Getenv("CI") == "true" {
		t.Fatal("no apt source on this host to debootstrap from")
	}
	t.Skip("no apt source on this host to debootstrap from")
	return ""
}

// TestDockerBackend builds the module in builder images made by kdriver
// (debootstrap + docker import) for kernels whose compiler the host lacks:
// bullseye 5.10 (gcc-10) and sid (a newer gcc and C library), and sid arm64
// cross-built in a sid image with its cross compiler.
func TestDockerBackend(t *testing.T) {
	mirror := needMirror(t)
	for _, suite := range []string{"bullseye", "sid"} {
		if _, err := os.Stat(filepath.Join(mirror, "dists", suite, "Release")); err != nil {
			t.Fatalf("mirror has no %s: run scripts/setup-builder.sh", suite)
		}
	}
	host := startDockerd(t)
	url := serveDir(t, mirror)
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
