//go:build linux

// Package kubernetes_test deploys deploy/kubernetes on a real single-node
// cluster (internal/kubetest) and checks what an operator sees: the
// DaemonSet Ready with the driver verified, a failed install visible with
// kdriver's exit code and reason, and a deletion that leaves nothing.
package kubernetes_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kdriver/kdriver/internal/kubetest"
	"github.com/kdriver/kdriver/internal/testenv"
)

const (
	ns       = "kdriver"
	dsName   = "kdriver"
	selector = "app.kubernetes.io/name=kdriver"
)

// TestKustomizationSubset checks that the manifests build with the subset
// of kustomize the cluster test applies them with, into the objects
// expected: the base with modern_ebpf's capabilities, the kmod overlay with
// SYS_MODULE only.
func TestKustomizationSubset(t *testing.T) {
	for _, tc := range []struct {
		dir, driver string
		caps        []corev1.Capability
	}{
		{".", "modern_ebpf", []corev1.Capability{"BPF", "PERFMON"}},
		{"kmod", "kmod", []corev1.Capability{"SYS_MODULE"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			objs, err := build(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			ds, cm := find(t, objs)
			if cm.Data["DRIVER_TYPE"] != tc.driver || cm.Namespace != ns {
				t.Errorf("ConfigMap %s/%s DRIVER_TYPE=%q, want %s/%s", cm.Namespace, cm.Name, cm.Data["DRIVER_TYPE"], ns, tc.driver)
			}
			sc := ds.Spec.Template.Spec.InitContainers[0].SecurityContext
			if got := sc.Capabilities.Add; !equalCaps(got, tc.caps) {
				t.Errorf("init container adds %v, want %v", got, tc.caps)
			}
			if d := sc.Capabilities.Drop; len(d) != 1 || d[0] != "ALL" {
				t.Errorf("init container drops %v, want ALL", d)
			}
		})
	}
}

func equalCaps(a, b []corev1.Capability) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func find(t *testing.T, objs []runtime.Object) (*appsv1.DaemonSet, *corev1.ConfigMap) {
	t.Helper()
	var ds *appsv1.DaemonSet
	var cm *corev1.ConfigMap
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.DaemonSet:
			ds = v
		case *corev1.ConfigMap:
			cm = v
		}
	}
	if ds == nil || cm == nil {
		t.Fatalf("want a DaemonSet and a ConfigMap, got %d objects", len(objs))
	}
	return ds, cm
}

// TestCluster starts the test cluster once (its start is most of the
// cost) for the DaemonSet and the matrix build Jobs.
func TestCluster(t *testing.T) {
	testenv.RequireBPF(t)
	m := prepareMatrix(t)
	c := kubetest.Start(t, m.builderTar)
	t.Run("DaemonSet", func(t *testing.T) { testDaemonSet(t, c) })
	t.Run("MatrixJobs", func(t *testing.T) { testMatrixJobs(t, c, m) })
}

// testDaemonSet deploys the DaemonSet on the test cluster: with the modern
// probe it becomes Ready and its init container's log shows the verify
// result; forced to kmod on this host (no module support) the init
// container fails with exit 4 and the reason in the pod's status, and
// touches nothing on the node; each deletion leaves no pod.
func testDaemonSet(t *testing.T, c *kubetest.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("modern_ebpf", func(t *testing.T) {
		cache := t.TempDir()
		start := time.Now()
		deploy(ctx, t, c, ".", cache)
		waitDaemonSet(ctx, t, c, func(ds *appsv1.DaemonSet) bool {
			return ds.Status.DesiredNumberScheduled == 1 && ds.Status.NumberReady == 1
		})
		t.Logf("DaemonSet Ready in %s", time.Since(start).Round(time.Second))
		p := onlyPod(ctx, t, c)
		log := podLog(ctx, t, c, p.Name, "driver-loader")
		for _, want := range []string{"installed: probe loaded", "verify: passed", "ok   drops"} {
			if !strings.Contains(log, want) {
				t.Errorf("init container log lacks %q:\n%s", want, log)
			}
		}
		// The main container streams the probe's events.
		deadline := time.Now().Add(time.Minute)
		for {
			if l := podLog(ctx, t, c, p.Name, "events"); strings.Contains(l, "execve_x") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("events container printed no execve_x in a minute:\n%s", podLog(ctx, t, c, p.Name, "events"))
				break
			}
			time.Sleep(time.Second)
		}
		undeploy(ctx, t, c)
	})

	t.Run("kmod", func(t *testing.T) {
		cache := t.TempDir()
		deploy(ctx, t, c, "kmod", cache)
		var st corev1.ContainerStatus
		deadline := time.Now().Add(3 * time.Minute)
		for {
			pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) == 1 && len(pods.Items[0].Status.InitContainerStatuses) == 1 {
				st = pods.Items[0].Status.InitContainerStatuses[0]
				if terminated(st) != nil {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("init container did not end in 3 minutes: %+v", st)
			}
			time.Sleep(time.Second)
		}
		term := terminated(st)
		const reason = "host cannot run the driver: kmod: modules unsupported"
		if term.ExitCode != 4 || !strings.Contains(term.Message, reason) {
			t.Errorf("init container ended with exit %d, message %q; want 4 and %q", term.ExitCode, term.Message, reason)
		}
		ds := waitDaemonSet(ctx, t, c, func(ds *appsv1.DaemonSet) bool { return ds.Status.DesiredNumberScheduled == 1 })
		if ds.Status.NumberReady != 0 {
			t.Errorf("DaemonSet has %d Ready pods, want 0", ds.Status.NumberReady)
		}
		// Nothing changed on the node: no driver in the cache, no device.
		if ents, _ := os.ReadDir(cache); len(ents) != 0 {
			t.Errorf("driver cache holds %d entries after a failed install", len(ents))
		}
		for _, dev := range []string{"/dev/falco0", "/dev/scap0"} {
			if _, err := os.Stat(dev); err == nil {
				t.Errorf("%s exists after a failed install", dev)
			}
		}
		undeploy(ctx, t, c)
	})
}

// terminated is the container's last ending, nil while it never ended.
func terminated(st corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	if st.State.Terminated != nil {
		return st.State.Terminated
	}
	return st.LastTerminationState.Terminated
}

// deploy creates the objects of the kustomization in dir, with the driver
// cache on cache (a test folder, so that the test sees what the pod wrote).
func deploy(ctx context.Context, t *testing.T, c *kubetest.Cluster, dir, cache string) {
	t.Helper()
	objs, err := build(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch v := o.(type) {
		case *corev1.Namespace:
			// A subtest that failed before its undeploy leaves the
			// namespace; the next one starts from nothing.
			if _, gerr := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); gerr == nil {
				undeploy(ctx, t, c)
			}
			_, err = c.Client.CoreV1().Namespaces().Create(ctx, v, metav1.CreateOptions{})
			if err == nil {
				err = c.WaitServiceAccount(ctx, ns)
			}
		case *corev1.ConfigMap:
			_, err = c.Client.CoreV1().ConfigMaps(v.Namespace).Create(ctx, v, metav1.CreateOptions{})
		case *appsv1.DaemonSet:
			for i, vol := range v.Spec.Template.Spec.Volumes {
				if vol.Name == "driver-cache" {
					v.Spec.Template.Spec.Volumes[i].HostPath.Path = cache
				}
			}
			_, err = c.Client.AppsV1().DaemonSets(v.Namespace).Create(ctx, v, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatalf("create %T: %v", o, err)
		}
	}
}

// undeploy deletes the namespace with everything in it and waits until no
// pod of the DaemonSet is left.
func undeploy(ctx context.Context, t *testing.T, c *kubetest.Cluster) {
	t.Helper()
	fg := metav1.DeletePropagationForeground
	if err := c.Client.AppsV1().DaemonSets(ns).Delete(ctx, dsName, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Client.AppsV1().DaemonSets(ns).Get(ctx, dsName, metav1.GetOptions{})
		if len(pods.Items) == 0 && apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pods left 2 minutes after deleting the DaemonSet", len(pods.Items))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := c.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s not gone 2 minutes after its deletion", ns)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func waitDaemonSet(ctx context.Context, t *testing.T, c *kubetest.Cluster, done func(*appsv1.DaemonSet) bool) *appsv1.DaemonSet {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ds, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, dsName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if done(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			pods, _ := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			t.Fatalf("DaemonSet status %+v after 3 minutes; pods: %+v", ds.Status, pods.Items)
		}
		time.Sleep(time.Second)
	}
}

func onlyPod(ctx context.Context, t *testing.T, c *kubetest.Cluster) corev1.Pod {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods, want 1", len(pods.Items))
	}
	return pods.Items[0]
}

// podLog reads a container's log where the kubelet writes it (podLogsDir:
// DIR/pod-logs/<namespace>_<pod>_<uid>/<container>/N.log, in the CRI log
// format), what `kubectl logs` would show. Not through the API server: the
// kubelet refuses a loopback node address, so the API server has no
// address to reach it on this loopback-only cluster.
func podLog(_ context.Context, t *testing.T, c *kubetest.Cluster, pod, container string) string {
	t.Helper()
	return podLogIn(t, c, ns, pod, container)
}

// podLogIn is podLog for a pod of namespace namespace.
func podLogIn(t *testing.T, c *kubetest.Cluster, namespace, pod, container string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.Dir, "pod-logs", namespace+"_"+pod+"_*", container, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(criLog(string(b)))
	}
	return out.String()
}

// criLog turns CRI log lines ("<time> <stream> <P|F> <text>") back into
// the container's output: P marks a line the runtime split, continued by
// the next.
func criLog(s string) string {
	var out strings.Builder
	for _, line := range strings.Split(s, "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 {
			continue
		}
		if len(f) == 4 {
			out.WriteString(f[3])
		}
		if f[2] != "P" {
			out.WriteByte('\n')
		}
	}
	return out.String()
}
