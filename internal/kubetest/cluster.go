// Package kubetest starts the single-node Kubernetes cluster of
// scripts/k8s for a test: the control plane and kubelet built by
// scripts/setup-k8s.sh, containerd of its own, images imported rather than
// pulled, all on 127.0.0.1. The cluster is stopped, and every process,
// mount and cgroup it made removed, when the test ends, also when it fails.
package kubetest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kdriver/kdriver/internal/testenv"
)

// Version is the Kubernetes release scripts/k8s/build.sh builds.
const Version = "v1.37.2"

// Cluster is a running test cluster.
type Cluster struct {
	// Dir holds its state; Dir/admin.kubeconfig its admin credentials.
	Dir string
	// Client talks to it as a cluster admin.
	Client kubernetes.Interface
	// Config is Client's configuration (for other clients).
	Config *rest.Config
	// Root is the repository's root.
	Root string
}

// Start starts the cluster with the pause image and kdriver's image
// (KdriverImage) imported, plus the image tarballs given. One cluster runs
// on a machine at a time: Start waits for another test's to end, and stops
// one left behind by a test binary that was killed.
func Start(t testing.TB, images ...string) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the Kubernetes tests run a kubelet: they need root")
	}
	cache := testenv.CacheDir()
	bin := filepath.Join(cache, "k8s", Version, "bin")
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			testenv.Missing(t, "%s missing: run scripts/setup-k8s.sh", b)
		}
	}
	for _, b := range []string{"etcd", "containerd", "runc", "ctr", "openssl", "curl"} {
		if _, err := exec.LookPath(b); err != nil {
			testenv.Missing(t, "%s missing: run scripts/setup-k8s.sh", b)
		}
	}
	root := repoRoot()

	dir := filepath.Join(cache, "k8s", "cluster")
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	t.Cleanup(func() { lock.Close() })
	// With the lock held, a cluster in dir is an orphan of a killed test.
	down := func() {
		if out, err := exec.Command(filepath.Join(root, "scripts/k8s/down"), dir).CombinedOutput(); err != nil {
			t.Errorf("scripts/k8s/down: %v\n%s", err, out)
		}
		for _, l := range leftovers(dir) {
			t.Errorf("left after scripts/k8s/down: %s", l)
		}
	}
	down()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	imgDir := t.TempDir()
	pause, kd := filepath.Join(imgDir, "pause.tar"), filepath.Join(imgDir, "kdriver.tar")
	if err := WritePauseImage(ctx, root, pause); err != nil {
		t.Fatal(err)
	}
	if err := WriteKdriverImage(ctx, root, kd); err != nil {
		t.Fatal(err)
	}
	t.Logf("images built in %s", time.Since(start).Round(time.Second))
	up := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts/k8s/up"), append([]string{dir, pause, kd}, images...)...)
	cmd.Env = append(os.Environ(), "K8S_PORT_BASE=16400", "K8S_VERSION="+Version)
	// up stops what it started when it fails; the cleanup covers a
	// failure after it returned.
	t.Cleanup(down)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/k8s/up: %v\n%s", err, out)
	}
	cfg := &rest.Config{
		Host: "https://127.0.0.1:16443",
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(dir, "pki", "ca.crt"),
			CertFile: filepath.Join(dir, "pki", "admin.crt"),
			KeyFile:  filepath.Join(dir, "pki", "admin.key"),
		},
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Client: client, Config: cfg, Root: root}
	if err := c.WaitServiceAccount(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster %s up in %s (node Ready, service accounts made)", Version, time.Since(up).Round(time.Second))
	return c
}

// WaitServiceAccount waits until namespace ns has its default service
// account, which the controller manager makes and pods need to be
// admitted.
func (c *Cluster) WaitServiceAccount(ctx context.Context, ns string) error {
	for {
		_, err := c.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// leftovers lists what a stopped cluster in dir would have left behind: a
// process naming dir, a mount under it, its cgroups, dir itself.
func leftovers(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir+"/") {
			out = append(out, "process "+filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				out = append(out, "mount "+f[4])
			}
		}
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/kdriver-k8s")
	for _, c := range cgs {
		out = append(out, "cgroup "+c)
	}
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if to, err := os.Readlink(l); err == nil && strings.HasPrefix(to, dir+"/") {
			out = append(out, "log link "+l)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "folder "+dir)
	}
	return out
}

// repoRoot is the repository's root.
func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}
