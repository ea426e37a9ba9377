//go:build nokubernetes

package main

import (
	"context"
	"fmt"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/matrix"
)

// runKubernetes: this binary was built with -tags nokubernetes (it can
// still be a build pod: --kube-worker needs no client).
func runKubernetes(context.Context, *globals, *buildOptions, *builder.Builder, []matrix.Target) (*builder.Report, error) {
	return nil, fmt.Errorf("--backend kubernetes: this kdriver was built without it (-tags nokubernetes): %w", builder.ErrBackendUnavailable)
}
