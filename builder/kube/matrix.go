package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/matrix"
)

// Registry is what a run needs of the OCI registry the pods push to
// (artifacts.OCIStore).
type Registry interface {
	Name() string
	Entry(ctx context.Context, id artifacts.ID) (artifacts.Entry, string, error)
	AddToIndex(ctx context.Context, entries []artifacts.Entry) error
}

// Planner is what a run needs of the builder: the cache key and identity
// of a target, and whether it is built at all (builder.Builder).
type Planner interface {
	Key(t matrix.Target) string
	ID(t matrix.Target) artifacts.ID
	Check(t matrix.Target) error
	Skip(t matrix.Target) string
}

// Matrix runs the targets of a matrix not yet in the registry as one
// Indexed Job.
type Matrix struct {
	Client    kubernetes.Interface
	Namespace string
	// Image is the builder image (a compiler, make, a C library; see
	// docs/kubernetes.md); KdriverImage the image kdriver is copied from.
	Image, KdriverImage string
	PullPolicy          corev1.PullPolicy
	// Repo is the oci:// repository the pods push to; Registry reads it.
	Repo     string
	Registry Registry
	// Jobs is the Job's parallelism; Retries its backoffLimitPerIndex.
	Jobs, Retries int
	// HostNetwork runs the pods in the node's network (to reach a mirror
	// or registry on the node's 127.0.0.1).
	HostNetwork bool
	// RegistrySecret names a kubernetes.io/dockerconfigjson Secret with
	// the credentials the pods push with.
	RegistrySecret string
	// WorkerArgs are the `kdriver build` flags that make the pods' cache
	// keys the command's (driver name and version, module, kind…).
	WorkerArgs []string
	Poll       time.Duration // status checks (default 1s)
	Logger     *slog.Logger
}

// ErrImage is a build pod whose image cannot be pulled or run: the Job
// would wait forever, so the run stops.
var ErrImage = errors.New("build image unusable")

// ErrJobGone is a run's Job deleted by someone else while it ran.
var ErrJobGone = errors.New("job deleted from outside")

func (m *Matrix) log() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// todo is a target the Job builds, at its completion index.
type todo struct {
	t   matrix.Target
	key string
	id  artifacts.ID
	res *builder.TargetResult
}

// plan fills in the report's cached, skipped and refused targets from the
// registry and returns the targets to build, in index order, and the
// entries of the cached ones.
func (m *Matrix) plan(ctx context.Context, b Planner, targets []matrix.Target, rep *builder.Report) ([]todo, []artifacts.Entry, error) {
	var out []todo
	var cached []artifacts.Entry
	for i, t := range targets {
		key := b.Key(t)
		r := &rep.Results[i]
		*r = builder.TargetResult{Target: t.Name, Arch: t.Arch, KernelRelease: t.KernelRelease, CacheKey: key, Backend: "kubernetes"}
		if err := b.Check(t); err != nil {
			r.Status, r.Error = builder.StatusFailed, err.Error()
			continue
		}
		if reason := b.Skip(t); reason != "" {
			r.Status, r.Reason = builder.StatusSkipped, reason
			continue
		}
		id := b.ID(t)
		e, ref, err := m.Registry.Entry(ctx, id)
		switch {
		case err == nil && e.Build["cache_key"] == key:
			r.Status, r.Artifact, r.SHA256, r.Compiler = builder.StatusCached, ref, e.SHA256, e.Build["compiler"]
			cached = append(cached, e)
			continue
		case err == nil:
			m.log().Info("registry holds another build, building again", "target", t.Name, "cache_key", e.Build["cache_key"], "want", key)
		case !errors.Is(err, artifacts.ErrNotFound):
			return nil, nil, fmt.Errorf("kubernetes: %s: %w", t.Name, err)
		}
		r.Status = builder.StatusToBuild
		out = append(out, todo{t: t, key: key, id: id, res: r})
	}
	return out, cached, nil
}

// Plan reports which targets the registry holds for their inputs and
// which a run would build; nothing is scheduled.
func (m *Matrix) Plan(ctx context.Context, b Planner, targets []matrix.Target) (*builder.Report, error) {
	rep := &builder.Report{Results: make([]builder.TargetResult, len(targets))}
	if _, _, err := m.plan(ctx, b, targets, rep); err != nil {
		return nil, err
	}
	count(rep)
	return rep, nil
}

// Run builds the targets the registry does not hold for their inputs as
// one Indexed Job, follows its pods, adds what they pushed to the
// registry's index and reports every target in input order. With nothing
// to build, no Job is made. The error is builder.ErrFailed when a target
// failed, or what stopped the run.
func (m *Matrix) Run(ctx context.Context, b Planner, targets []matrix.Target) (*builder.Report, error) {
	start := time.Now()
	rep := &builder.Report{Results: make([]builder.TargetResult, len(targets))}
	todos, entries, err := m.plan(ctx, b, targets, rep)
	if err != nil {
		return nil, err
	}
	if len(todos) > 0 {
		m.log().Info("scheduling builds", "targets", len(todos), "parallelism", max(1, min(m.Jobs, len(todos))), "cached", len(entries))
		err = m.run(ctx, todos)
		for _, td := range todos {
			if td.res.Status == builder.StatusBuilt {
				if e, _, eerr := m.Registry.Entry(ctx, td.id); eerr == nil {
					entries = append(entries, e)
				}
			}
		}
	} else {
		m.log().Info("nothing to build: every target is in the registry for its inputs", "cached", len(entries))
	}
	// The cached ones too: a run cut short, or another run's index write
	// racing with ours, left them out; this rerun puts them back.
	if len(entries) > 0 {
		if ierr := m.Registry.AddToIndex(context.WithoutCancel(ctx), entries); ierr != nil {
			err = errors.Join(err, fmt.Errorf("kubernetes: index: %w", ierr))
		}
	}
	count(rep)
	rep.Seconds = time.Since(start).Seconds()
	if err != nil {
		return rep, err
	}
	if rep.Failed > 0 {
		return rep, fmt.Errorf("%d of %d: %w", rep.Failed, len(targets), builder.ErrFailed)
	}
	return rep, nil
}

func count(rep *builder.Report) {
	rep.Built, rep.Cached, rep.Failed, rep.Skipped = 0, 0, 0, 0
	for _, r := range rep.Results {
		switch r.Status {
		case builder.StatusBuilt:
			rep.Built++
		case builder.StatusCached:
			rep.Cached++
		case builder.StatusSkipped:
			rep.Skipped++
		case builder.StatusFailed:
			rep.Failed++
		}
	}
}

// run makes the ConfigMap and the Job, follows the pods until the Job
// ends, and fills in each todo's result. The Job and ConfigMap are deleted
// at the end, also when ctx is canceled.
func (m *Matrix) run(ctx context.Context, todos []todo) error {
	f := &matrix.File{Version: 1}
	keys := make([]string, len(todos))
	for i, td := range todos {
		f.Targets = append(f.Targets, td.t)
		keys[i] = td.key
	}
	name := runName(keys)
	mj, err := json.Marshal(f)
	if err != nil {
		return err
	}
	kj, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	fail := func(msg string) {
		for _, td := range todos {
			if td.res.Status == builder.StatusToBuild {
				td.res.Status, td.res.Error = builder.StatusFailed, msg
			}
		}
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.Namespace, Labels: map[string]string{labelManaged: "kdriver", labelRun: name}},
		Data:       map[string]string{MatrixFile: string(mj), KeysFile: string(kj)},
	}
	cms := m.Client.CoreV1().ConfigMaps(m.Namespace)
	jobs := m.Client.BatchV1().Jobs(m.Namespace)
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		err = fmt.Errorf("kubernetes: configmap %s/%s: %w", m.Namespace, name, err)
		fail(err.Error())
		return err
	}
	defer func() {
		// Background: a canceled run still removes its Job, pods and
		// ConfigMap.
		bg := metav1.DeletePropagationBackground
		dctx := context.WithoutCancel(ctx)
		_ = jobs.Delete(dctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
		_ = cms.Delete(dctx, name, metav1.DeleteOptions{})
	}()
	if _, err := jobs.Create(ctx, m.JobSpec(name, len(todos)), metav1.CreateOptions{}); err != nil {
		// A ResourceQuota's refusal (Forbidden) lands here, with the
		// quota's message.
		err = fmt.Errorf("kubernetes: job %s/%s: %w", m.Namespace, name, err)
		fail(err.Error())
		return err
	}
	err = m.follow(ctx, name, todos)
	if err != nil {
		fail(err.Error())
	}
	return err
}
