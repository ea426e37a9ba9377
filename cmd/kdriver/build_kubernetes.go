//go:build !nokubernetes

package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/kube"
	"github.com/kdriver/kdriver/builder/matrix"
)

// runKubernetes is --backend kubernetes: the targets not in the registry
// for their inputs built as one Indexed Job (or, with --dry-run, listed).
func runKubernetes(ctx context.Context, g *globals, o *buildOptions, b *builder.Builder, targets []matrix.Target) (*builder.Report, error) {
	reg, err := artifacts.NewOCIStore(g.Repos[0], artifacts.Options{Logger: g.logger})
	if err != nil {
		return nil, usageError{fmt.Sprintf("--repo: %v", err)}
	}
	m := &kube.Matrix{
		Namespace: o.Namespace, Image: o.kube.Image, KdriverImage: o.kube.KdriverImage,
		PullPolicy: corev1.PullPolicy(o.kube.PullPolicy), Repo: g.Repos[0], Registry: reg,
		Jobs: o.Jobs, Retries: o.Retries, HostNetwork: o.kube.HostNetwork, RegistrySecret: o.kube.RegistrySecret,
		WorkerArgs: o.workerArgs(g), Logger: g.logger,
	}
	if o.DryRun {
		return m.Plan(ctx, b, targets)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--backend kubernetes: %w: give --kubeconfig", err)
	}
	if m.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("--backend kubernetes: %w", err)
	}
	return m.Run(ctx, b, targets)
}
