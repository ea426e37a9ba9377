package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kdriver/kdriver/builder"
)

// fatalWaiting are the reasons a container waits that no waiting cures:
// the image cannot be had (ImagePullBackOff follows every failed pull; the
// kubelet would retry forever) or cannot be named.
var fatalWaiting = map[string]bool{
	"ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
}

// index is what the run saw of one completion index.
type index struct {
	pods map[types.UID]bool // every pod that ran it: the attempts
	last *builder.TargetResult
	done map[types.UID]bool // pods whose end was logged
}

// follow polls the Job and its pods until the Job ends, logging each pod's
// start and end, and fills in the todos' results.
func (m *Matrix) follow(ctx context.Context, name string, todos []todo) error {
	poll := m.Poll
	if poll <= 0 {
		poll = time.Second
	}
	idx := make([]index, len(todos))
	for i := range idx {
		idx[i] = index{pods: map[types.UID]bool{}, done: map[types.UID]bool{}}
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var status batchv1.JobStatus
	for {
		j, err := m.Client.BatchV1().Jobs(m.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// What finished before stays finished.
			m.settle(ctx, status, todos, idx)
			return fmt.Errorf("kubernetes: job %s/%s: %w", m.Namespace, name, ErrJobGone)
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("kubernetes: job %s/%s: %w", m.Namespace, name, err)
		}
		status = j.Status
		pods, err := m.Client.CoreV1().Pods(m.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelRun + "=" + name})
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("kubernetes: pods of %s/%s: %w", m.Namespace, name, err)
		}
		for _, p := range pods.Items {
			if err := m.see(p, todos, idx); err != nil {
				return err
			}
		}
		m.settle(ctx, status, todos, idx)
		if finished(j) {
			for i, td := range todos {
				if td.res.Status == builder.StatusToBuild {
					td.res.Status = builder.StatusFailed
					td.res.Error = fmt.Sprintf("job %s ended without a result for index %d", name, i)
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// see takes in one pod: its attempt, an unusable image, its end.
func (m *Matrix) see(p corev1.Pod, todos []todo, idx []index) error {
	i, err := strconv.Atoi(p.Annotations[indexAnnotation])
	if err != nil || i < 0 || i >= len(todos) {
		return nil // not one of the Job's indexed pods
	}
	in := &idx[i]
	if !in.pods[p.UID] {
		in.pods[p.UID] = true
		m.log().Info("build pod", "target", todos[i].t.Name, "pod", p.Name, "attempt", len(in.pods))
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := st.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			return fmt.Errorf("kubernetes: pod %s, container %s, image %s: %s: %s: %w", p.Name, st.Name, st.Image, w.Reason, w.Message, ErrImage)
		}
		if st.Name != "build" || st.State.Terminated == nil || in.done[p.UID] {
			continue
		}
		in.done[p.UID] = true
		term := st.State.Terminated
		r := parseResult(term)
		in.last = &r
		overhead := term.StartedAt.Sub(p.CreationTimestamp.Time)
		if term.ExitCode == 0 {
			m.log().Info("build pod done", "target", todos[i].t.Name, "pod", p.Name, "seconds", fmt.Sprintf("%.1f", r.Seconds), "pod_start_seconds", fmt.Sprintf("%.0f", overhead.Seconds()))
		} else {
			m.log().Warn("build pod failed", "target", todos[i].t.Name, "pod", p.Name, "exit", term.ExitCode, "err", r.Error)
		}
	}
	if p.Status.Phase == corev1.PodFailed && !in.done[p.UID] {
		// Killed or evicted before the build container ended.
		in.done[p.UID] = true
		msg := p.Status.Reason + " " + p.Status.Message
		if strings.TrimSpace(msg) == "" {
			msg = "pod failed before its build ended"
		}
		in.last = &builder.TargetResult{Status: builder.StatusFailed, Error: strings.TrimSpace(msg)}
		m.log().Warn("build pod failed", "target", todos[i].t.Name, "pod", p.Name, "err", msg)
	}
	return nil
}

// parseResult reads the worker's result from a termination message; a
// message that is not one (a crash's log tail) is the error.
func parseResult(term *corev1.ContainerStateTerminated) builder.TargetResult {
	var r builder.TargetResult
	if err := json.Unmarshal([]byte(term.Message), &r); err != nil || r.Status == "" {
		r = builder.TargetResult{Status: builder.StatusFailed, Error: strings.TrimSpace(term.Message)}
		if r.Error == "" {
			r.Error = fmt.Sprintf("exit %d (%s)", term.ExitCode, term.Reason)
		}
	}
	if term.ExitCode != 0 && r.Status != builder.StatusFailed {
		r.Status = builder.StatusFailed
		r.Error = fmt.Sprintf("exit %d after reporting %s", term.ExitCode, r.Status)
	}
	return r
}

// settle fills in the results of the indexes the Job counts as completed
// or failed. A completed index is built only when the registry holds the
// artifact for its cache key.
func (m *Matrix) settle(ctx context.Context, st batchv1.JobStatus, todos []todo, idx []index) {
	completed, failed := indexSet(st.CompletedIndexes), indexSet(deref(st.FailedIndexes))
	for i, td := range todos {
		if td.res.Status != builder.StatusToBuild {
			continue
		}
		r := td.res
		r.Attempts = len(idx[i].pods)
		if last := idx[i].last; last != nil {
			r.Seconds, r.Compiler = last.Seconds, last.Compiler
		}
		switch {
		case completed[i]:
			e, ref, err := m.Registry.Entry(ctx, td.id)
			switch {
			case err != nil:
				r.Status, r.Error = builder.StatusFailed, fmt.Sprintf("pod succeeded, but the registry: %v", err)
			case e.Build["cache_key"] != td.key:
				r.Status, r.Error = builder.StatusFailed, fmt.Sprintf("pod succeeded, but %s holds cache key %s, not %s", ref, e.Build["cache_key"], td.key)
			case idx[i].last != nil && idx[i].last.SHA256 != "" && idx[i].last.SHA256 != e.SHA256:
				r.Status, r.Error = builder.StatusFailed, fmt.Sprintf("pod pushed sha256:%s, %s holds sha256:%s", idx[i].last.SHA256, ref, e.SHA256)
			default:
				r.Status, r.Artifact, r.SHA256, r.Compiler = builder.StatusBuilt, ref, e.SHA256, e.Build["compiler"]
			}
		case failed[i]:
			r.Status, r.Error = builder.StatusFailed, "build pod failed"
			if last := idx[i].last; last != nil && last.Error != "" {
				r.Error = last.Error
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return true
		}
	}
	return false
}

// indexSet parses a Job's index list ("1,3-5,7").
func indexSet(s string) map[int]bool {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		a, b, ok := strings.Cut(part, "-")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if ok {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || hi < lo || hi-lo > 1<<20 {
			continue
		}
		for i := lo; i <= hi; i++ {
			out[i] = true
		}
	}
	return out
}
