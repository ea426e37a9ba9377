// Package kube runs a build matrix on a Kubernetes cluster as one Indexed
// Job: one completion per target, as many pods at a time as asked. Each
// pod runs kdriver itself (`kdriver build --kube-worker`) in a builder
// image: it downloads and verifies its target's packages, builds,
// preflights and pushes the artifact to an OCI registry. Nothing of the
// data path is on the node's disk or shared between pods: the matrix
// reaches the pods in a ConfigMap, the artifacts leave through the
// registry, and the results come back in each pod's termination message.
// It lives apart from package builder so that client-go is only linked
// into binaries that use it (build with -tags nokubernetes to leave it out
// of kdriver).
package kube

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations kdriver puts on its objects.
const (
	labelManaged = "app.kubernetes.io/managed-by"
	labelRun     = "kdriver.io/build"
	// indexAnnotation is where the Job controller writes a pod's index.
	indexAnnotation = "batch.kubernetes.io/job-completion-index"
)

// Paths inside a build pod.
const (
	binDir    = "/kdriver/bin"  // kdriver, copied from its image by the init container
	specDir   = "/kdriver/spec" // the ConfigMap: matrix.json, keys.json
	workDir   = "/kdriver/work" // packages, trees, output: the pod's own disk
	dockerDir = "/kdriver/docker"
	// MatrixFile and KeysFile are the ConfigMap's keys.
	MatrixFile = "matrix.json"
	KeysFile   = "keys.json"
)

// runName is the DNS-1123 name of a run's Job and ConfigMap: a hash of
// what it builds (to recognise a run) and a random part, because the pods
// of an earlier run's Job, deleted in the background, may still be there
// with its labels.
func runName(keys []string) string {
	h := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "kdriver-build-" + hex.EncodeToString(h[:])[:10] + "-" + hex.EncodeToString(r[:])
}

// JobSpec is the Indexed Job of a run building n targets (exported for
// tests and dry runs).
func (m *Matrix) JobSpec(name string, n int) *batchv1.Job {
	no, yes := false, true
	completions := int32(n)
	parallelism := int32(max(1, min(m.Jobs, n)))
	// A failed or killed pod is retried on its own index (backoffLimit
	// defaults to unlimited beside it).
	perIndex := int32(max(0, m.Retries))
	indexed := batchv1.IndexedCompletion
	replace := batchv1.Failed // one pod per index at a time: a killed pod is gone before the next pushes
	nobody := int64(65534)
	labels := map[string]string{labelManaged: "kdriver", labelRun: name}
	args := append([]string{"build", "--kube-worker",
		"--matrix", specDir + "/" + MatrixFile, "--kube-keys", specDir + "/" + KeysFile,
		"--cache-dir", workDir + "/cache", "--output-dir", workDir + "/out",
		"--repo", m.Repo, "--backend", "kubernetes", "-j", "1", "--retries", "0"}, m.WorkerArgs...)
	env := []corev1.EnvVar{{Name: "HOME", Value: workDir}, {Name: "TMPDIR", Value: workDir}, {Name: "LC_ALL", Value: "C"}}
	mounts := []corev1.VolumeMount{
		{Name: "bin", MountPath: binDir, ReadOnly: true},
		{Name: "spec", MountPath: specDir, ReadOnly: true},
		{Name: "work", MountPath: workDir},
	}
	vols := []corev1.Volume{
		{Name: "bin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "spec", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
	}
	if m.RegistrySecret != "" {
		// A kubernetes.io/dockerconfigjson Secret: the worker's keychain
		// reads $DOCKER_CONFIG/config.json.
		env = append(env, corev1.EnvVar{Name: "DOCKER_CONFIG", Value: dockerDir})
		mounts = append(mounts, corev1.VolumeMount{Name: "registry", MountPath: dockerDir, ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: "registry", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: m.RegistrySecret, Items: []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}}}}})
	}
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, Privileged: &no, RunAsNonRoot: &yes, RunAsUser: &nobody, RunAsGroup: &nobody,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	pull := m.PullPolicy
	if pull == "" {
		pull = corev1.PullIfNotPresent
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &completions,
			Parallelism:          &parallelism,
			BackoffLimitPerIndex: &perIndex,
			PodReplacementPolicy: &replace,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: &no,
					EnableServiceLinks:           &no,
					// The registry and the mirror are reached from the
					// pod's network; on a loopback-only test cluster that
					// is the node's (HostNetwork).
					HostNetwork: m.HostNetwork,
					// No fsGroup: it makes the emptyDirs set-gid, and the
					// builder refuses a header tree under a set-id folder
					// (found on the cluster); emptyDirs are 0777 anyway.
					InitContainers: []corev1.Container{{
						Name: "kdriver", Image: m.KdriverImage, ImagePullPolicy: pull,
						// The kdriver image holds only kdriver: it copies
						// itself next to the builder image's toolchain.
						Command:                  []string{"/usr/bin/kdriver", "build", "copy-self", binDir + "/kdriver"},
						SecurityContext:          sc,
						VolumeMounts:             []corev1.VolumeMount{{Name: "bin", MountPath: binDir}},
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Containers: []corev1.Container{{
						Name: "build", Image: m.Image, ImagePullPolicy: pull,
						Command: []string{binDir + "/kdriver"}, Args: args,
						Env: env, SecurityContext: sc, VolumeMounts: mounts, WorkingDir: workDir,
						// The worker writes its result there; a crash
						// before that leaves the log's tail instead.
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Volumes: vols,
				},
			},
		},
	}
}
