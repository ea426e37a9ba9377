// Package modern is the modern eBPF driver: a CO-RE probe embedded in the
// binary (c/probe.bpf.c, compiled by bpf2go for amd64 and arm64), its
// feature checks, its loader (tp_btf programs with a raw-tracepoint
// fallback) and an events.Source over its BPF ring buffers.
package modern
