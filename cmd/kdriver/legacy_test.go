package main

import (
	"errors"
	"slices"
	"testing"
)

func TestTranslateLegacy(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	bpfEnv := func(k string) (string, bool) { return "", k == "FALCO_BPF_PROBE" }
	tests := []struct {
		name   string
		args   []string
		lookup func(string) (string, bool)
		want   []string
	}{
		{"default is kmod, download and compile", nil, noEnv,
			[]string{"install", "--type", "kmod", "--compile=true", "--download=true"}},
		{"FALCO_BPF_PROBE selects ebpf", nil, bpfEnv,
			[]string{"install", "--type", "ebpf", "--compile=true", "--download=true"}},
		{"legacy word bpf", []string{"bpf", "--download"}, noEnv,
			[]string{"install", "--type", "ebpf", "--compile=false", "--download=true"}},
		{"modern_ebpf", []string{"modern_ebpf"}, noEnv,
			[]string{"install", "--type", "modern-ebpf", "--compile=true", "--download=true"}},
		{"compile only", []string{"module", "--compile"}, noEnv,
			[]string{"install", "--type", "kmod", "--compile=true", "--download=false"}},
		{"clean", []string{"--clean"}, noEnv, []string{"cleanup"}},
		{"print-env keeps globals", []string{"--kernelrelease", "5.10.0-8-amd64", "--print-env"}, noEnv,
			[]string{"--kernelrelease", "5.10.0-8-amd64", "printenv"}},
		{"print-env with a driver", []string{"ebpf", "--print-env"}, noEnv,
			[]string{"printenv", "--type", "ebpf"}},
		{"globals with =", []string{"--output=json", "auto"}, noEnv,
			[]string{"--output=json", "install", "--type", "auto", "--compile=true", "--download=true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, help, err := translateLegacy(tt.args, tt.lookup)
			if err != nil || help {
				t.Fatalf("translateLegacy(%q) = help %v, err %v", tt.args, help, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("translateLegacy(%q)\n got %q\nwant %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestTranslateLegacyErrors(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, args := range [][]string{
		{"kmod", "ebpf"},
		{"--clean", "--compile"},
		{"floppy"},
		{"--source-only"},
		{"--kernelrelease"},
	} {
		_, _, err := translateLegacy(args, noEnv)
		if !errors.Is(err, errUsage) {
			t.Errorf("translateLegacy(%q): err = %v, want a usage error", args, err)
		}
	}
}
