// Package loader is the install pipeline: detect the host, choose a driver
// and explain why, resolve and fetch (or compile) its artifact, install it
// and verify it. Host facts come from package loader/host.
package loader
