package kube

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdriver/kdriver/builder"
)

// fakeCluster plays the Job controller and kubelet: for each Job created it
// makes its pod, "runs" it (writes the artifact into the job folder the Job
// mounts, unless fail) and marks the Job complete or failed.
func fakeCluster(t *testing.T, fail bool) (*fake.Clientset, chan *batchv1.Job) {
	return fakeClusterWith(t, fail, func(dir, job string) {
		os.WriteFile(filepath.Join(dir, "out", "hello.ko"), []byte("ko from "+job), 0o644)
	})
}

// fakeClusterWith is fakeCluster whose pods leave their output with out.
func fakeClusterWith(t *testing.T, fail bool, out func(dir, job string)) (*fake.Clientset, chan *batchv1.Job) {
	cs := fake.NewSimpleClientset()
	created := make(chan *batchv1.Job, 4)
	cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).DeepCopy()
		go func() {
			ctx := context.Background()
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: j.Name + "-abcde", Namespace: j.Namespace, Labels: map[string]string{"job-name": j.Name}}}
			cs.CoreV1().Pods(j.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			var dir string
			for _, v := range j.Spec.Template.Spec.Volumes {
				if v.Name == "job" {
					dir = v.HostPath.Path
				}
			}
			cond := batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}
			if !fail {
				out(dir, j.Name)
				cond.Type = batchv1.JobComplete
			}
			// Wait until the Job is stored (this reactor runs before).
			for {
				cur, err := cs.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{})
				if err == nil {
					cur.Status.Conditions = append(cur.Status.Conditions, cond)
					cs.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
					created <- cur
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		return false, nil, nil
	})
	return cs, created
}

func kubeJob(t *testing.T) builder.Job {
	root, src := t.TempDir(), t.TempDir()
	return builder.Job{
		Name: "debian-bookworm-6.1.0-56-arm64", Script: "#!/bin/sh\nmake\n", Root: root, KDIR: "usr/src/linux-headers-6.1.0-56-arm64",
		Source: src, Artifact: "hello.ko", Suite: "bookworm",
		Compiler: builder.Compiler{Family: "gcc", Major: 12, Command: "gcc-12"},
		Env:      map[string]string{"CROSS_COMPILE": "aarch64-linux-gnu-", "MODULE": "hello", "KARCH": "arm64"},
	}
}

func TestKubernetesBackend(t *testing.T) {
	cs, created := fakeCluster(t, false)
	k := &Backend{Client: cs, Namespace: "builds", Dir: t.TempDir(), Poll: time.Millisecond}
	job := kubeJob(t)
	res, err := k.Build(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	j := <-created
	if !strings.HasPrefix(string(res.Artifact), "ko from kdriver-debian-bookworm-6-1-0-56-arm64-") {
		t.Errorf("artifact %q", res.Artifact)
	}
	if string(res.Log) != "fake logs" { // what the fake clientset streams
		t.Errorf("log %q", res.Log)
	}
	// The Job: one pod, never retried by Kubernetes, no token, no
	// privilege, the local builder image, values as env, the tree read-only.
	spec := j.Spec.Template.Spec
	c := spec.Containers[0]
	if *j.Spec.BackoffLimit != 0 || spec.RestartPolicy != corev1.RestartPolicyNever || *spec.AutomountServiceAccountToken ||
		*c.SecurityContext.Privileged || c.ImagePullPolicy != corev1.PullNever || !strings.HasPrefix(c.Image, "kdriver-builder:bookworm-") {
		t.Errorf("job spec %+v", j.Spec)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["CC"] != "aarch64-linux-gnu-gcc-12" || env["KDIR"] != "/kdriver/tree/usr/src/linux-headers-6.1.0-56-arm64" || env["KARCH"] != "arm64" {
		t.Errorf("env %v", env)
	}
	for _, m := range c.VolumeMounts {
		if (m.Name == "tree" || m.Name == "src") != m.ReadOnly {
			t.Errorf("mount %s read-only=%v", m.Name, m.ReadOnly)
		}
	}
	if j.Labels[labelTarget] != job.Name {
		t.Errorf("labels %v", j.Labels)
	}
	// The Job is deleted once read, and the job folder is gone.
	if _, err := cs.BatchV1().Jobs("builds").Get(context.Background(), j.Name, metav1.GetOptions{}); err == nil {
		t.Errorf("job %s left behind", j.Name)
	}
	if ents, _ := os.ReadDir(k.Dir); len(ents) != 0 {
		t.Errorf("job folders left: %v", ents)
	}
}

func TestKubernetesBackendFailed(t *testing.T) {
	cs, _ := fakeCluster(t, true)
	k := &Backend{Client: cs, Namespace: "builds", Dir: t.TempDir(), Poll: time.Millisecond}
	_, err := k.Build(context.Background(), kubeJob(t))
	if !errors.Is(err, builder.ErrBuild) || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("err = %v, want builder.ErrBuild", err)
	}
}

func TestKubernetesBackendCanceled(t *testing.T) {
	cs := fake.NewSimpleClientset() // no controller: the job never finishes
	w, _ := cs.BatchV1().Jobs("builds").Watch(context.Background(), metav1.ListOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				cancel()
				return
			}
		}
	}()
	k := &Backend{Client: cs, Namespace: "builds", Dir: t.TempDir(), Poll: time.Millisecond}
	if _, err := k.Build(ctx, kubeJob(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if l, _ := cs.BatchV1().Jobs("builds").List(context.Background(), metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("canceled build left its job")
	}
}

func TestJobName(t *testing.T) {
	n := jobName("debian-bookworm-6.12.117+deb12-cloud-amd64_with_a_very_long_name_indeed", "/x")
	if len(n) > 63 || strings.ContainsAny(n, "+._") || n != strings.ToLower(n) {
		t.Errorf("job name %q is not a DNS label", n)
	}
}

// A pod that leaves a symlink to a node file in place of the module: the
// node's kdriver never reads through it.
func TestKubernetesOutputNotReadThroughSymlink(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("SECRET"), 0o600)
	cs, _ := fakeClusterWith(t, false, func(dir, _ string) {
		os.Symlink(secret, filepath.Join(dir, "out", "hello.ko"))
	})
	k := &Backend{Client: cs, Namespace: "builds", Dir: t.TempDir(), Poll: time.Millisecond}
	res, err := k.Build(context.Background(), kubeJob(t))
	if !errors.Is(err, builder.ErrBuild) || strings.Contains(string(res.Artifact), "SECRET") {
		t.Fatalf("artifact %q, err %v: read a node file through the pod's symlink", res.Artifact, err)
	}
}
