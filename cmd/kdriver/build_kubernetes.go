//go:build !nokubernetes

package main

import (
	"fmt"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/kube"
)

// kubernetesBackend is --backend kubernetes: one Job per target.
func kubernetesBackend(o *buildOptions, cache string) (builder.Backend, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--backend kubernetes: %w: give --kubeconfig", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--backend kubernetes: %w", err)
	}
	k := &kube.Backend{Client: cs, Namespace: o.Namespace, Dir: filepath.Join(cache, "jobs")}
	return k, nil
}
