//go:build linux

package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/internal/kubetest"
	"github.com/kdriver/kdriver/internal/testenv"
)

// buildNS is the namespace of the matrix's Jobs.
const buildNS = "kdriver-build"

// matrixSetup is what the matrix test needs before the cluster starts:
// the builder image goes in with the cluster's images.
type matrixSetup struct {
	kdriver    string // the command, built from this checkout
	matrix     string // matrix file of the 4 targets
	targets    []matrix.Target
	builderTar string
	builderRef string
}

// prepareMatrix serves the builder mirror of scripts/setup-builder.sh on
// 127.0.0.1, lists its newest bookworm 6.1 and 6.12 kernels for amd64 and
// arm64 as a matrix, and makes the builder image for them.
func prepareMatrix(t *testing.T) *matrixSetup {
	url := testenv.ServeDir(t, testenv.BuilderMirror(t))
	m := &matrixSetup{kdriver: kubetest.KdriverBinary(t), matrix: filepath.Join(t.TempDir(), "matrix.yaml")}
	run(t, m.kdriver, "build", "matrix", "--mirror", url, "--suite", "bookworm",
		"--arches", "amd64", "--arches", "arm64", "--newest",
		"--flavour", `^6\.(1\.0-[0-9]+|12\.[0-9]+\+deb12)-(amd64|arm64)$`, "-f", m.matrix)
	data, err := os.ReadFile(m.matrix)
	if err != nil {
		t.Fatal(err)
	}
	f, err := matrix.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Targets) != 4 {
		t.Fatalf("matrix of %d targets, want bookworm 6.1 and 6.12 for amd64 and arm64: run scripts/setup-builder.sh", len(f.Targets))
	}
	m.targets = f.Targets
	// The compilers of the headers (gcc-12, native and for arm64), make, a
	// C library, and what the kbuild helpers link against.
	pkgs := map[string]bool{"make": true, "libc6-dev": true, "gcc-12": true, "gcc-12-aarch64-linux-gnu": true, "libc6-dev-arm64-cross": true}
	for _, tg := range f.Targets {
		for _, d := range tg.BuildDepends {
			pkgs[d] = true
		}
	}
	var list []string
	for p := range pkgs {
		list = append(list, p)
	}
	sort.Strings(list)
	m.builderTar, m.builderRef = kubetest.BuilderImage(t, "bookworm", list)
	return m
}

// run runs kdriver and returns its stdout; it must succeed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// podTimes is what the test saw of one build pod.
type podTimes struct {
	name, index       string
	created, buildRan time.Time
}

// testMatrixJobs builds the 4-target matrix with --backend kubernetes -j 2
// on the cluster: one pod killed mid-build is retried and the run
// succeeds; every artifact is in the registry and kdriver fetch gets each
// back byte-identical to what its pod built; a rerun schedules no pod.
func testMatrixJobs(t *testing.T, c *kubetest.Cluster, m *matrixSetup) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	repo := "oci://" + kubetest.StartRegistry(t) + "/kdriver-test"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: buildNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Client.CoreV1().Namespaces().Delete(context.Background(), buildNS, metav1.DeleteOptions{}) })
	if err := c.WaitServiceAccount(ctx, buildNS); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	report := filepath.Join(work, "report.json")
	args := []string{m.kdriver, "--repo", repo, "build", "--backend", "kubernetes", "-j", "2", "--matrix", m.matrix,
		"--image", m.builderRef, "--kdriver-image", kubetest.KdriverImage, "--image-pull-policy", "Never", "--host-network",
		"--kubeconfig", filepath.Join(c.Dir, "admin.kubeconfig"), "--namespace", buildNS,
		"--cache-dir", filepath.Join(work, "cache"), "--output-dir", filepath.Join(work, "out"), "--report", report}

	took, pods, killed, stdout := runFollowed(ctx, t, c, args, true)
	var rep builder.Report
	if b, err := os.ReadFile(report); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Built != 4 || rep.Failed != 0 {
		t.Fatalf("report: built %d failed %d, want 4 built\n%s", rep.Built, rep.Failed, stdout)
	}
	if killed == nil {
		t.Errorf("no build pod ran 4 seconds: none was killed")
	}
	retried := 0
	for _, r := range rep.Results {
		if r.Attempts == 2 {
			retried++
		}
		if r.Backend != "kubernetes" || !strings.Contains(r.Artifact, "@sha256:") || len(r.SHA256) != 64 {
			t.Errorf("%s: backend %q artifact %q sha256 %q", r.Target, r.Backend, r.Artifact, r.SHA256)
		}
	}
	if killed != nil && retried != 1 {
		t.Errorf("%d targets took 2 attempts, want 1 (the killed pod's)", retried)
	}
	logOverhead(t, pods, killed)

	// Every artifact is in the registry, listed in its index, and fetched
	// back byte for byte as its pod built it.
	reg, err := artifacts.NewOCIStore(repo, artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"x86_64", "aarch64"} {
		ix, err := reg.IndexFor(ctx, "kdriver", "0.1.0", arch)
		if err != nil || len(ix.Artifacts) != 2 {
			t.Errorf("index of %s: %+v, %v; want 2 artifacts", arch, ix, err)
		}
	}
	for i, tg := range m.targets {
		dir := filepath.Join(work, "fetched", tg.Name)
		run(t, m.kdriver, "--repo", repo, "--kernel-release", tg.KernelRelease, "--kernel-version", tg.KernelVersion,
			"--arch", tg.Arch, "fetch", "--target-id", tg.TargetID, "--output-dir", dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
		if len(files) != 1 {
			t.Errorf("%s: fetched %v, want one .ko", tg.Name, files)
			continue
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		if got, want := hex.EncodeToString(s[:]), rep.Results[i].SHA256; got != want {
			t.Errorf("%s: fetched sha256 %s, its pod built %s", tg.Name, got, want)
		}
	}

	// The same inputs again: every target is in the registry, no Job is
	// made, so no pod runs.
	jobs, err := c.Client.BatchV1().Jobs(buildNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Client.BatchV1().Jobs(buildNS).Watch(ctx, metav1.ListOptions{ResourceVersion: jobs.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again := run(t, args...)
	t.Logf("rerun with unchanged inputs: %s", time.Since(start).Round(100*time.Millisecond))
	w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Added {
			t.Errorf("the rerun made a Job: %v", ev.Object)
		}
	}
	if !strings.Contains(again, "built 0, cached 4, skipped 0, failed 0") {
		t.Errorf("rerun:\n%s", again)
	}

	if os.Getenv("KDRIVER_K8S_BENCH") != "" {
		// The same matrix on the cluster with nothing killed (another
		// repository: nothing cached), and with the host's toolchain, two
		// at a time.
		bench := append([]string{}, args...)
		bench[2] = repo + "-bench"
		took, pods, _, _ = runFollowed(ctx, t, c, bench, false)
		logOverhead(t, pods, nil)
		start = time.Now()
		run(t, m.kdriver, "build", "--backend", "local", "-j", "2", "--matrix", m.matrix,
			"--cache-dir", filepath.Join(work, "local-cache"), "--output-dir", filepath.Join(work, "local-out"))
		local := time.Since(start)
		t.Logf("BENCH local -j 2: %s; kubernetes -j 2: %s; ratio %.2f",
			local.Round(time.Second), took.Round(time.Second), took.Seconds()/local.Seconds())
	}
}

// runFollowed runs the kdriver command args while following the build
// pods: with kill, the first pod a few seconds into its build is deleted.
// It returns how long the command took, what was seen of each pod, the
// killed pod and the command's stdout.
func runFollowed(ctx context.Context, t *testing.T, c *kubetest.Cluster, args []string, kill bool) (time.Duration, map[string]*podTimes, *podTimes, string) {
	t.Helper()
	var mu sync.Mutex
	pods := map[string]*podTimes{}
	var killed *podTimes
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			l, err := c.Client.CoreV1().Pods(buildNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			mu.Lock()
			for _, p := range l.Items {
				pt := pods[string(p.UID)]
				if pt == nil {
					pt = &podTimes{name: p.Name, index: p.Annotations["batch.kubernetes.io/job-completion-index"], created: p.CreationTimestamp.Time}
					pods[string(p.UID)] = pt
				}
				for _, st := range p.Status.ContainerStatuses {
					if st.Name != "build" || st.State.Running == nil {
						continue
					}
					pt.buildRan = st.State.Running.StartedAt.Time
					if kill && killed == nil && time.Since(pt.buildRan) > 4*time.Second {
						zero := int64(0)
						if err := c.Client.CoreV1().Pods(buildNS).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err == nil {
							killed = pt
							t.Logf("killed pod %s (index %s) %s into its build", p.Name, pt.index, time.Since(pt.buildRan).Round(time.Second))
						}
					}
				}
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	took := time.Since(start)
	close(stop)
	<-watched
	t.Logf("kdriver build --backend kubernetes -j 2, 4 targets: %s\n%s", took.Round(time.Second), out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if kill && killed == nil {
		t.Errorf("no build pod ran 4 seconds: none was killed")
	}
	return took, pods, killed, out.String() + errOut.String()
}

// logOverhead logs each pod's start overhead: from its creation to its
// build container running (the init container's copy of kdriver
// included; the API's times are whole seconds).
func logOverhead(t *testing.T, pods map[string]*podTimes, killed *podTimes) {
	var each []string
	var sum time.Duration
	n := 0
	for _, pt := range pods {
		if pt != killed && !pt.buildRan.IsZero() {
			d := pt.buildRan.Sub(pt.created)
			sum += d
			n++
			each = append(each, pt.name+" "+d.String())
		}
	}
	sort.Strings(each)
	if n > 0 {
		t.Logf("pod start overhead, mean %s: %s", (sum / time.Duration(n)).Round(100*time.Millisecond), strings.Join(each, ", "))
	}
}
