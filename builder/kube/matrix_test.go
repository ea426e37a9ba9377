package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/matrix"
)

// planner stands in for builder.Builder: key and identity from the name.
type planner struct{ salt string }

func (p planner) Key(t matrix.Target) string { return "key-" + p.salt + t.Name }
func (planner) ID(t matrix.Target) artifacts.ID {
	return artifacts.ID{DriverName: "kdriver", DriverVersion: "0.1.0", Kind: artifacts.KindKmod, Arch: t.Arch,
		TargetID: t.TargetID, KernelRelease: t.FixedKernelRelease, KernelVersion: t.FixedKernelVersion}
}
func (planner) Check(matrix.Target) error { return nil }
func (planner) Skip(matrix.Target) string { return "" }

func targets(n int) []matrix.Target {
	var out []matrix.Target
	for i := range n {
		rel := fmt.Sprintf("6.1.0-%d-amd64", 40+i)
		out = append(out, matrix.Target{Name: "debian-bookworm-" + rel, Distro: "debian", TargetID: "debian", Arch: "x86_64",
			KernelRelease: rel, FixedKernelRelease: fmt.Sprintf("6.1.%d-%d-amd64", 100+i, 40+i), FixedKernelVersion: "1"})
	}
	return out
}

// testRegistry is an in-memory OCI registry on 127.0.0.1.
func testRegistry(t *testing.T) (*artifacts.OCIStore, string) {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	repo := "oci://" + strings.TrimPrefix(s.URL, "http://") + "/drivers"
	st, err := artifacts.NewOCIStore(repo, artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st, repo
}

// push publishes a fake build of t under key, as a build pod would.
func push(t *testing.T, reg *artifacts.OCIStore, p planner, tg matrix.Target, key string) string {
	body := []byte("\x7fELF module of " + tg.Name)
	sum := sha256.Sum256(body)
	e := artifacts.EntryFor(p.ID(tg))
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(body))
	e.Build = map[string]string{"cache_key": key, "compiler": "gcc-12"}
	if _, err := reg.PushArtifact(context.Background(), e, bytes.NewReader(body)); err != nil {
		t.Error(err)
	}
	return e.SHA256
}

// attempt is what one build pod of the fake cluster does.
type attempt struct {
	fail      bool   // the build fails (exit 1)
	waiting   string // the pod never starts: its container waits for this reason
	deleteJob bool   // after this pod, someone deletes the Job
	wrongKey  bool   // the pod pushes under another cache key
}

// fakeCluster plays the Job controller and kubelet for an Indexed Job:
// for each index it runs pods as do says (attempt counts from 1), pushing
// the artifact for a succeeding one, retrying a failing one up to
// backoffLimitPerIndex times, then sets the Job's indexes and condition.
func fakeCluster(t *testing.T, reg *artifacts.OCIStore, p planner, do func(index, attempt int) attempt) (*fake.Clientset, chan *batchv1.Job) {
	cs := fake.NewSimpleClientset()
	created := make(chan *batchv1.Job, 1)
	cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).DeepCopy()
		created <- j
		go runJob(t, cs, reg, p, j, do)
		return false, nil, nil
	})
	return cs, created
}

func runJob(t *testing.T, cs *fake.Clientset, reg *artifacts.OCIStore, p planner, j *batchv1.Job, do func(index, attempt int) attempt) {
	ctx := context.Background()
	for {
		if _, err := cs.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{}); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cm, err := cs.CoreV1().ConfigMaps(j.Namespace).Get(ctx, j.Spec.Template.Spec.Volumes[2].ConfigMap.Name, metav1.GetOptions{})
	if err != nil {
		t.Errorf("the Job's ConfigMap: %v", err)
		return
	}
	var f matrix.File
	var keys []string
	json.Unmarshal([]byte(cm.Data[MatrixFile]), &f)
	json.Unmarshal([]byte(cm.Data[KeysFile]), &keys)
	var completed, failed []string
	for i, tg := range f.Targets {
		for n := 1; ; n++ {
			a := do(i, n)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d-%d", j.Name, i, n), Namespace: j.Namespace, UID: types.UID(fmt.Sprintf("uid-%d-%d", i, n)),
				Labels: j.Spec.Template.Labels, Annotations: map[string]string{indexAnnotation: fmt.Sprint(i)},
				CreationTimestamp: metav1.Now(),
			}}
			build := corev1.ContainerStatus{Name: "build", Image: j.Spec.Template.Spec.Containers[0].Image}
			switch {
			case a.waiting != "":
				pod.Status.Phase = corev1.PodPending
				build.State.Waiting = &corev1.ContainerStateWaiting{Reason: a.waiting, Message: "pull access denied"}
			case a.fail:
				pod.Status.Phase = corev1.PodFailed
				msg, _ := json.Marshal(builder.TargetResult{Status: builder.StatusFailed, Error: tg.Name + ": kdriver.c:1:1: error: boom"})
				build.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Message: string(msg)}
			default:
				key := keys[i]
				if a.wrongKey {
					key = "key-of-someone-else"
				}
				sum := push(t, reg, p, tg, key)
				pod.Status.Phase = corev1.PodSucceeded
				msg, _ := json.Marshal(builder.TargetResult{Status: builder.StatusBuilt, SHA256: sum, Compiler: "gcc-12", Seconds: 3})
				build.State.Terminated = &corev1.ContainerStateTerminated{Message: string(msg)}
			}
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{build}
			cs.CoreV1().Pods(j.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if a.deleteJob {
				if cur, err := cs.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{}); err == nil {
					cur.Status.CompletedIndexes = strings.Join(completed, ",")
					cs.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
				}
				time.Sleep(20 * time.Millisecond) // let the command see the pod
				cs.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{})
				return
			}
			if a.waiting != "" {
				return // the kubelet would retry the pull forever
			}
			if !a.fail {
				completed = append(completed, fmt.Sprint(i))
				break
			}
			if n > int(*j.Spec.BackoffLimitPerIndex) {
				failed = append(failed, fmt.Sprint(i))
				break
			}
		}
	}
	cur, err := cs.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	cur.Status.CompletedIndexes = strings.Join(completed, ",")
	fi := strings.Join(failed, ",")
	cur.Status.FailedIndexes = &fi
	cond := batchv1.JobComplete
	if len(failed) > 0 {
		cond = batchv1.JobFailed
	}
	cur.Status.Conditions = append(cur.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue})
	cs.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
}

func newMatrix(cs *fake.Clientset, reg *artifacts.OCIStore, repo string) *Matrix {
	return &Matrix{Client: cs, Namespace: "builds", Image: "builder:1", KdriverImage: "kdriver:1", Repo: repo, Registry: reg,
		Jobs: 2, Retries: 1, Poll: time.Millisecond}
}

// leftovers lists the Jobs and ConfigMaps a run left in the namespace.
func leftovers(t *testing.T, cs *fake.Clientset) []string {
	var out []string
	jobs, _ := cs.BatchV1().Jobs("builds").List(context.Background(), metav1.ListOptions{})
	for _, j := range jobs.Items {
		out = append(out, "job "+j.Name)
	}
	cms, _ := cs.CoreV1().ConfigMaps("builds").List(context.Background(), metav1.ListOptions{})
	for _, c := range cms.Items {
		out = append(out, "configmap "+c.Name)
	}
	return out
}

// A matrix with one target already in the registry for its inputs: the
// other two run as one Indexed Job (two completions, parallelism -j,
// backoffLimitPerIndex from --retries, no hostPath, no token, not root);
// a pod that fails is retried and counted; the built artifacts are in the
// registry's index; the Job and ConfigMap are gone afterwards.
func TestRunBuildsMissingTargetsAsOneIndexedJob(t *testing.T) {
	reg, repo := testRegistry(t)
	p := planner{}
	ts := targets(3)
	push(t, reg, p, ts[0], p.Key(ts[0]))
	cs, created := fakeCluster(t, reg, p, func(i, n int) attempt { return attempt{fail: i == 0 && n == 1} }) // index 0 is ts[1]
	rep, err := newMatrix(cs, reg, repo).Run(context.Background(), p, ts)
	if err != nil {
		t.Fatal(err)
	}
	j := <-created
	if *j.Spec.Completions != 2 || *j.Spec.Parallelism != 2 || *j.Spec.BackoffLimitPerIndex != 1 || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("job: completions %d parallelism %d backoffLimitPerIndex %d mode %s, want 2 2 1 Indexed",
			*j.Spec.Completions, *j.Spec.Parallelism, *j.Spec.BackoffLimitPerIndex, *j.Spec.CompletionMode)
	}
	spec := j.Spec.Template.Spec
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
	c := spec.Containers[0]
	if *spec.AutomountServiceAccountToken || *c.SecurityContext.RunAsUser == 0 || *c.SecurityContext.AllowPrivilegeEscalation || c.Image != "builder:1" {
		t.Errorf("build container %+v", c)
	}
	if rep.Built != 2 || rep.Cached != 1 || rep.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	if r := rep.Results[0]; r.Status != builder.StatusCached || !strings.Contains(r.Artifact, "@sha256:") {
		t.Errorf("target in the registry: %+v", r)
	}
	if r := rep.Results[1]; r.Attempts != 2 || r.Status != builder.StatusBuilt || r.Compiler != "gcc-12" || r.Backend != "kubernetes" {
		t.Errorf("retried target: %+v, want built in 2 attempts", r)
	}
	if r := rep.Results[2]; r.Attempts != 1 || r.Status != builder.StatusBuilt || r.SHA256 == "" {
		t.Errorf("target: %+v", r)
	}
	ix, err := reg.IndexFor(context.Background(), "kdriver", "0.1.0", "x86_64")
	if err != nil || len(ix.Artifacts) != 3 {
		t.Errorf("index after the run: %+v, %v; want the 2 built and the cached one (pushed without the index)", ix, err)
	}
	if l := leftovers(t, cs); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A rerun with unchanged inputs finds every artifact in the registry with
// its cache key and creates no Job (so no pod), and lists them in the
// registry's index; a changed input (another key) is built again.
func TestRerunSchedulesNoPod(t *testing.T) {
	reg, repo := testRegistry(t)
	p := planner{}
	ts := targets(2)
	for _, tg := range ts {
		push(t, reg, p, tg, p.Key(tg))
	}
	cs, created := fakeCluster(t, reg, p, func(int, int) attempt { return attempt{} })
	rep, err := newMatrix(cs, reg, repo).Run(context.Background(), p, ts)
	if err != nil || rep.Cached != 2 || rep.Built != 0 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("rerun created a %s", a.GetResource().Resource)
		}
	}
	if ix, err := reg.IndexFor(context.Background(), "kdriver", "0.1.0", "x86_64"); err != nil || len(ix.Artifacts) != 2 {
		t.Errorf("index after the rerun: %+v, %v; want both", ix, err)
	}
	changed := planner{salt: "new-source-"}
	rep, err = newMatrix(cs, reg, repo).Run(context.Background(), changed, ts)
	if err != nil || rep.Built != 2 {
		t.Fatalf("changed inputs: %+v, %v; want both built again", rep, err)
	}
	if j := <-created; *j.Spec.Completions != 2 {
		t.Errorf("completions %d", *j.Spec.Completions)
	}
}

// A ResourceQuota that refuses the Job: every target to build fails with
// the quota's message, the run says so, and the ConfigMap made for the
// Job is removed.
func TestQuotaRefusalFailsTargetsWithItsMessage(t *testing.T) {
	reg, repo := testRegistry(t)
	cs := fake.NewSimpleClientset()
	const quota = `exceeded quota: builds, requested: count/jobs.batch=1, used: count/jobs.batch=5, limited: count/jobs.batch=5`
	cs.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, "kdriver-build", errors.New(quota))
	})
	rep, err := newMatrix(cs, reg, repo).Run(context.Background(), planner{}, targets(2))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), quota) {
		t.Fatalf("err = %v, want the quota's refusal", err)
	}
	for _, r := range rep.Results {
		if r.Status != builder.StatusFailed || !strings.Contains(r.Error, "exceeded quota") {
			t.Errorf("%s: %s %q, want failed with the quota's message", r.Target, r.Status, r.Error)
		}
	}
	if l := leftovers(t, cs); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A build image that cannot be pulled: the Job would wait forever, so the
// run stops with ErrImage naming the image and the reason, and removes
// the Job.
func TestImagePullErrorStopsTheRun(t *testing.T) {
	reg, repo := testRegistry(t)
	cs, _ := fakeCluster(t, reg, planner{}, func(int, int) attempt { return attempt{waiting: "ImagePullBackOff"} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := newMatrix(cs, reg, repo).Run(ctx, planner{}, targets(2))
	if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), "builder:1") || !strings.Contains(err.Error(), "ImagePullBackOff") {
		t.Fatalf("err = %v, want ErrImage naming builder:1 and ImagePullBackOff", err)
	}
	if rep.Failed != 2 {
		t.Errorf("report %+v, want both failed", rep)
	}
	if l := leftovers(t, cs); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A Job deleted from outside while it runs: the targets it finished keep
// their result, the others fail with ErrJobGone, and the run ends instead
// of waiting.
func TestJobDeletedFromOutside(t *testing.T) {
	reg, repo := testRegistry(t)
	p := planner{}
	cs, _ := fakeCluster(t, reg, p, func(i, _ int) attempt {
		if i == 1 {
			return attempt{fail: true, deleteJob: true}
		}
		return attempt{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := newMatrix(cs, reg, repo).Run(ctx, p, targets(2))
	if !errors.Is(err, ErrJobGone) {
		t.Fatalf("err = %v, want ErrJobGone", err)
	}
	if r := rep.Results[0]; r.Status != builder.StatusBuilt {
		t.Errorf("target finished before the deletion: %+v, want built", r)
	}
	if r := rep.Results[1]; r.Status != builder.StatusFailed || !strings.Contains(r.Error, "deleted from outside") {
		t.Errorf("unfinished target: %+v, want failed naming the deletion", r)
	}
}

// A pod that reports success while the registry holds its target under
// another cache key (another kdriver's push, a registry that lost it) is
// a failure, not a build.
func TestSucceededPodWithoutItsArtifactFails(t *testing.T) {
	reg, repo := testRegistry(t)
	p := planner{}
	cs, _ := fakeCluster(t, reg, p, func(int, int) attempt { return attempt{wrongKey: true} })
	rep, err := newMatrix(cs, reg, repo).Run(context.Background(), p, targets(1))
	if !errors.Is(err, builder.ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if r := rep.Results[0]; r.Status != builder.StatusFailed || !strings.Contains(r.Error, "key-of-someone-else") {
		t.Errorf("result %+v, want failed naming the registry's key", r)
	}
}

func TestIndexSet(t *testing.T) {
	got := indexSet("0,2-4,9,x,5-3")
	for _, i := range []int{0, 2, 3, 4, 9} {
		if !got[i] {
			t.Errorf("%d missing from %v", i, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("indexSet = %v", got)
	}
}
