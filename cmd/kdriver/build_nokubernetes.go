//go:build nokubernetes

package main

import (
	"fmt"

	"github.com/kdriver/kdriver/builder"
)

// kubernetesBackend: this binary was built with -tags nokubernetes.
func kubernetesBackend(*buildOptions, string) (builder.Backend, error) {
	return nil, fmt.Errorf("--backend kubernetes: this kdriver was built without it (-tags nokubernetes): %w", builder.ErrBackendUnavailable)
}
