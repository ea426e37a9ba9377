package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the real binary as "kdriver" and as
// "falco-driver-loader" inside its scripts, and lets tests that signal a
// kdriver run this binary (kdriverCmd) instead of building one: a go build
// took minutes on a loaded machine and pushed the package past go test's
// default 10-minute timeout.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// main itself, so that scripts see its signal handling (exit 130).
		"kdriver":             main,
		"falco-driver-loader": main,
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
			// REPO_ROOT lets scripts copy binary fixtures (kmod/testdata/*.ko).
			root, err := filepath.Abs("../..")
			if err != nil {
				return err
			}
			env.Setenv("REPO_ROOT", root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":  cmdExits,
			"mkfifo": cmdMkfifo,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "bpf":
				_, err := os.Stat("/sys/kernel/btf/vmlinux")
				return os.Geteuid() == 0 && err == nil, nil
			case "ci":
				return testenv.CI(), nil
			}
			return false, nil
		},
	})
}

// cmdExits runs a program and checks its exit code exactly, which `! exec`
// cannot: `exits 4 kdriver install` (stdout and stderr are kept for the
// following stdout/stderr checks).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdMkfifo makes named pipes, which txtar archives cannot hold:
// `mkfifo host/etc/os-release`.
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkfifo path...")
	}
	for _, a := range args {
		p := ts.MkAbs(a)
		ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
		ts.Check(syscall.Mkfifo(p, 0o644))
	}
}
