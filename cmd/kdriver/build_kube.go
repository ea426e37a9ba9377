package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/matrix"
)

// kubeFlags are the flags of --backend kubernetes, and the hidden ones of
// the build pods it schedules (`kdriver build --kube-worker`).
type kubeFlags struct {
	Image          string
	KdriverImage   string
	HostNetwork    bool
	RegistrySecret string
	PullPolicy     string

	Worker bool   // this kdriver is a build pod
	Keys   string // the cache keys the command expects, by index
	Result string // where the pod's result goes (its termination message)
}

func (k *kubeFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&k.Image, "image", "", "builder `IMAGE` of --backend kubernetes: the compilers, make and C library the targets need (see docs/kubernetes.md)")
	fs.StringVar(&k.KdriverImage, "kdriver-image", "", "kdriver's own `IMAGE` (make image), copied into each build pod; it must be this kdriver's version")
	fs.BoolVar(&k.HostNetwork, "host-network", false, "run build pods in the node's network (to reach a mirror or registry on the node's 127.0.0.1)")
	fs.StringVar(&k.RegistrySecret, "registry-secret", "", "kubernetes.io/dockerconfigjson Secret `NAME` the build pods push to --repo with")
	fs.StringVar(&k.PullPolicy, "image-pull-policy", "IfNotPresent", "build pods' imagePullPolicy: Always, IfNotPresent or Never")
	fs.BoolVar(&k.Worker, "kube-worker", false, "")
	fs.StringVar(&k.Keys, "kube-keys", "", "")
	fs.StringVar(&k.Result, "kube-result", "/dev/termination-log", "")
	for _, h := range []string{"kube-worker", "kube-keys", "kube-result"} {
		_ = fs.MarkHidden(h)
	}
}

// validate checks the kubernetes flags before anything is discovered.
func (k *kubeFlags) validate(g *globals, o *buildOptions) error {
	if o.Backend != "kubernetes" {
		if k.Worker {
			return usageError{"--kube-worker: only with --backend kubernetes"}
		}
		return nil
	}
	if len(g.Repos) != 1 || !strings.HasPrefix(g.Repos[0], "oci://") {
		return usageError{"--backend kubernetes: give one --repo oci://REGISTRY/PATH: build pods push their artifacts there, and a rerun finds them there"}
	}
	if o.Source != "" || o.EventHeader != "" {
		return usageError{"--backend kubernetes: build pods build the driver source carried in --kdriver-image; --source and --event-header work with the local and docker backends"}
	}
	if k.Worker {
		if o.Matrix == "" || k.Keys == "" {
			return usageError{"--kube-worker needs --matrix and --kube-keys"}
		}
		return nil
	}
	if k.Image == "" || k.KdriverImage == "" {
		return usageError{"--backend kubernetes: give --image (the builder image) and --kdriver-image (kdriver's)"}
	}
	switch k.PullPolicy {
	case "Always", "IfNotPresent", "Never":
	default:
		return usageError{fmt.Sprintf("--image-pull-policy %q: want Always, IfNotPresent or Never", k.PullPolicy)}
	}
	return nil
}

// workerArgs are the flags a build pod needs to compute the command's
// cache keys.
func (o *buildOptions) workerArgs(g *globals) []string {
	return []string{"--driver-name", g.DriverName, "--driver-version", g.DriverVersion, "--module", o.Module, "--kind", o.Kind}
}

// workerTarget picks the build pod's target: the one at its Job
// completion index, with the cache key the command computed for it.
func (k *kubeFlags) workerTarget(targets []matrix.Target) ([]matrix.Target, string, error) {
	i, err := strconv.Atoi(os.Getenv("JOB_COMPLETION_INDEX"))
	if err != nil || i < 0 || i >= len(targets) {
		return nil, "", fmt.Errorf("--kube-worker: JOB_COMPLETION_INDEX %q: not an index of the %d targets", os.Getenv("JOB_COMPLETION_INDEX"), len(targets))
	}
	data, err := readInputFile("--kube-keys", k.Keys, 1<<20)
	if err != nil {
		return nil, "", err
	}
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil || len(keys) != len(targets) {
		return nil, "", fmt.Errorf("--kube-keys %s: want one key per target (%d): %v", k.Keys, len(targets), err)
	}
	return targets[i : i+1], keys[i], nil
}

// maxResult is what a termination message holds (the kubelet keeps 4096
// bytes of it).
const maxResult = 4000

// runBuildWorker builds one target in a build pod, pushes the artifact
// to the registry and leaves the result as the pod's termination message.
func runBuildWorker(ctx context.Context, g *globals, o *buildOptions, b *builder.Builder, t matrix.Target, wantKey string) error {
	r, err := buildAndPush(ctx, g, o, b, t, wantKey)
	if err != nil {
		r.Status, r.Error = builder.StatusFailed, err.Error()
	}
	r.Log = "" // a path in the pod
	if len(r.Error) > maxResult/2 {
		r.Error = r.Error[:maxResult/2] + "…"
	}
	msg, _ := json.Marshal(r)
	if werr := os.WriteFile(o.kube.Result, msg, 0o644); werr != nil {
		g.logger.Warn("result not written", "file", o.kube.Result, "err", werr)
	}
	fmt.Fprintf(g.stdout, "%s\n", msg)
	return err
}

func buildAndPush(ctx context.Context, g *globals, o *buildOptions, b *builder.Builder, t matrix.Target, wantKey string) (builder.TargetResult, error) {
	r := builder.TargetResult{Target: t.Name, Arch: t.Arch, KernelRelease: t.KernelRelease, CacheKey: b.Key(t)}
	if r.CacheKey != wantKey {
		return r, fmt.Errorf("build pod: cache key %s, the command's is %s: --kdriver-image must hold the kdriver that runs the build (same version, same driver source)", r.CacheKey, wantKey)
	}
	rep, err := b.Run(ctx, []matrix.Target{t})
	if rep != nil && len(rep.Results) == 1 {
		r = rep.Results[0]
		if r.Log != "" {
			// The pod's log is the only one kept: show the build's.
			if l, lerr := os.ReadFile(r.Log); lerr == nil {
				g.stderr.Write(l)
			}
		}
	}
	if err != nil {
		if r.Error != "" {
			return r, fmt.Errorf("%s", r.Error)
		}
		return r, err
	}
	if r.Status != builder.StatusBuilt && r.Status != builder.StatusCached {
		return r, fmt.Errorf("build pod: %s is %s", t.Name, r.Status)
	}
	meta, err := readInputFile("entry", r.Artifact+".json", 1<<20)
	if err != nil {
		return r, err
	}
	var e artifacts.Entry
	if err := json.Unmarshal(meta, &e); err != nil {
		return r, fmt.Errorf("entry %s.json: %w", r.Artifact, err)
	}
	f, err := os.Open(r.Artifact)
	if err != nil {
		return r, err
	}
	defer f.Close()
	s, err := artifacts.NewOCIStore(g.Repos[0], artifacts.Options{Logger: g.logger})
	if err != nil {
		return r, err
	}
	d, err := s.PushArtifact(ctx, e, f)
	if err != nil {
		return r, err
	}
	g.logger.Info("pushed", "target", t.Name, "ref", d.Source)
	r.Artifact = d.Source
	return r, nil
}

// newCopySelfCmd is `kdriver build copy-self PATH`: the init container of
// a build pod copies kdriver from its image into the pod's bin folder (the
// kdriver image has no cp).
func newCopySelfCmd() *cobra.Command {
	return &cobra.Command{
		Use: "copy-self PATH", Hidden: true, Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			in, err := os.Open(exe)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(args[0], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return fmt.Errorf("copy %s: %w", args[0], err)
			}
			return out.Close()
		},
	}
}
