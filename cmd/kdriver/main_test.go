package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the real binary as "kdriver" and as
// "falco-driver-loader" inside its scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kdriver":             func() { os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr)) },
		"falco-driver-loader": func() { os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. Scripts
// that need root or BPF declare it with [root] / [bpf] conditions.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("CI", os.Getenv("CI"))
			env.Setenv("KDRIVER_CACHE", os.Getenv("KDRIVER_CACHE"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "bpf":
				_, err := os.Stat("/sys/kernel/btf/vmlinux")
				return os.Geteuid() == 0 && err == nil, nil
			case "ci":
				return os.Getenv("CI") == "true", nil
			}
			return false, nil
		},
	})
}
