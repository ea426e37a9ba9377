// Command pause is the sandbox ("pause") container of the test cluster's
// pods: it holds the pod's namespaces and sleeps until it is told to stop.
// The cluster has no registry to pull the usual one from, so
// internal/kubetest builds this one and imports it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
