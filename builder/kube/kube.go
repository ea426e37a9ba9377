// Package kube is the builder's Kubernetes backend: one Job per target
// through client-go. It lives apart from package builder so that client-go
// is only linked into binaries that use it (build with -tags nokubernetes
// to leave it out of kdriver).
package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdriver/kdriver/builder"
)

// Backend runs each job as a Kubernetes Job of one pod. The pod mounts
// the assembled tree, the source and an output folder from the node
// (hostPath): the builder runs on the node, or Dir is on storage every node
// mounts at the same path. The image is the builder image the docker
// backend makes for the suite (imported into the nodes' runtime).
type Backend struct {
	Client    kubernetes.Interface
	Namespace string
	// Image names the builder image for a job (default: the docker
	// backend's kdriver-builder:<suite>-<hash> name).
	Image func(job builder.Job) string
	// Dir is where job folders (script, output) are made; it must be
	// visible to the pods at the same path.
	Dir string
	// Poll is the interval between status checks (default 1s).
	Poll time.Duration
}

// Name implements builder.Backend.
func (*Backend) Name() string { return "kubernetes" }

// Labels on every object kdriver makes.
const (
	labelApp    = "app.kubernetes.io/managed-by"
	labelTarget = "kdriver.io/target"
)

// jobName is a DNS-1123 name for a target, unique per job folder.
func jobName(target, dir string) string {
	h := sha256.Sum256([]byte(target + "\x00" + dir))
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(target))
	if len(n) > 40 {
		n = n[:40]
	}
	return strings.Trim("kdriver-"+n, "-") + "-" + hex.EncodeToString(h[:])[:10]
}

// JobSpec is the Job a build runs as (exported for tests and dry runs).
func (k *Backend) JobSpec(job builder.Job, dir string) *batchv1.Job {
	image := ""
	if k.Image != nil {
		image = k.Image(job)
	} else {
		h := sha256.Sum256([]byte(strings.Join(builder.ImagePackages(job), " ")))
		image = "kdriver-builder:" + builder.BaseSuite(job.Suite) + "-" + hex.EncodeToString(h[:])[:12]
	}
	env := map[string]string{
		"KDIR": "/kdriver/tree/" + filepath.ToSlash(job.KDIR), "SRC": "/kdriver/src", "OUT": "/kdriver/job/out",
		"CC": job.Env["CROSS_COMPILE"] + job.Compiler.Command, "LC_ALL": "C",
	}
	for key, v := range job.Env {
		env[key] = v
	}
	var envVars []corev1.EnvVar
	for _, kv := range envList(env) {
		key, v, _ := strings.Cut(kv, "=")
		envVars = append(envVars, corev1.EnvVar{Name: key, Value: v})
	}
	dirType := corev1.HostPathDirectory
	vol := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &dirType}}}
	}
	no, zero, ttl := false, int32(0), int32(600)
	labels := map[string]string{labelApp: "kdriver", labelTarget: truncLabel(job.Name)}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName(job.Name, dir), Namespace: k.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &zero, // the scheduler retries, with a fresh job folder
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: &no,
					EnableServiceLinks:           &no,
					Containers: []corev1.Container{{
						Name:    "build",
						Image:   image,
						Command: []string{"/bin/sh", "/kdriver/job/build.sh"},
						Env:     envVars,
						// The image is made locally, never pulled.
						ImagePullPolicy: corev1.PullNever,
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Privileged: &no},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "tree", MountPath: "/kdriver/tree", ReadOnly: true},
							{Name: "src", MountPath: "/kdriver/src", ReadOnly: true},
							{Name: "job", MountPath: "/kdriver/job"},
						},
					}},
					Volumes: []corev1.Volume{vol("tree", job.Root), vol("src", job.Source), vol("job", dir)},
				},
			},
		},
	}
}

func truncLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-_.")
}

// Build implements builder.Backend: create the Job, wait for it to finish, read the
// pod's log and the artifact, delete the Job.
func (k *Backend) Build(ctx context.Context, job builder.Job) (builder.Result, error) {
	if k.Client == nil {
		return builder.Result{}, fmt.Errorf("kubernetes: no client: %w", builder.ErrBackendUnavailable)
	}
	if err := os.MkdirAll(k.Dir, 0o755); err != nil {
		return builder.Result{}, err
	}
	dir, err := os.MkdirTemp(k.Dir, "job-")
	if err != nil {
		return builder.Result{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o777); err != nil {
		return builder.Result{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "build.sh"), []byte(job.Script), 0o755); err != nil {
		return builder.Result{}, err
	}
	spec := k.JobSpec(job, dir)
	jobs := k.Client.BatchV1().Jobs(k.Namespace)
	if _, err := jobs.Create(ctx, spec, metav1.CreateOptions{}); err != nil {
		return builder.Result{}, fmt.Errorf("kubernetes: job %s: %w", spec.Name, err)
	}
	defer func() {
		// Background: a canceled build still removes its job and pod.
		bg := metav1.DeletePropagationBackground
		_ = jobs.Delete(context.WithoutCancel(ctx), spec.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	}()
	ok, err := k.wait(ctx, spec.Name)
	res := builder.Result{Log: k.logs(ctx, spec.Name)}
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("%s: kubernetes job %s failed: %w: %s", job.Name, spec.Name, builder.ErrBuild, builder.FirstError(res.Log))
	}
	res.Artifact, err = builder.ReadOutput(filepath.Join(dir, "out", job.Artifact))
	if err != nil {
		return res, fmt.Errorf("%s: job %s left no usable %s (is %s shared with the node?): %w: %w", job.Name, spec.Name, job.Artifact, k.Dir, builder.ErrBuild, err)
	}
	return res, nil
}

// wait polls the job until it succeeds (true) or fails (false).
func (k *Backend) wait(ctx context.Context, name string) (bool, error) {
	poll := k.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		j, err := k.Client.BatchV1().Jobs(k.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("kubernetes: job %s vanished: %w", name, builder.ErrBuild)
		}
		if err != nil && ctx.Err() == nil {
			return false, fmt.Errorf("kubernetes: job %s: %w", name, err)
		}
		if err == nil {
			for _, c := range j.Status.Conditions {
				if c.Status != corev1.ConditionTrue {
					continue
				}
				switch c.Type {
				case batchv1.JobComplete:
					return true, nil
				case batchv1.JobFailed:
					return false, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
}

// logs returns the build pod's log ("" when there is none yet).
func (k *Backend) logs(ctx context.Context, job string) []byte {
	pods, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil || len(pods.Items) == 0 {
		return nil
	}
	rc, err := k.Client.CoreV1().Pods(k.Namespace).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: "build"}).Stream(ctx)
	if err != nil {
		return []byte(err.Error() + "\n")
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 16<<20))
	return b
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
