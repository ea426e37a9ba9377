package userspace_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/userspace"
)

// Closing a source detaches attached processes with no stop pending: they
// run on, never left stopped (state T). The old tracer sent a real SIGSTOP
// before detaching, which stopped the target in about half the runs; a busy
// process tree, interrupted at once, is tried several times.
func TestCloseLeavesAttachedRunning(t *testing.T) {
	for i := range 8 {
		cmd := exec.Command("sh", "-c", "while :; do /bin/true; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		func() {
			defer func() {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = cmd.Wait()
			}()
			src, err := userspace.New(userspace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := src.Attach(pid); err != nil {
				src.Close()
				t.Fatalf("attach: %v", err)
			}
			for range 5 * (i + 1) {
				if _, err := src.Next(context.Background()); err != nil {
					t.Fatalf("next: %v", err)
				}
			}
			src.Close()
			for range 20 {
				if st := testenv.ProcState(pid); st == "T" || st == "t" {
					t.Fatalf("run %d: process %d left in state %s after Close", i, pid, st)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
}

// A child of a started command outlives it on Close (only the started
// process is killed) and is detached the same way: running, not stopped.
func TestCloseLeavesChildOfStartedRunning(t *testing.T) {
	pidFile := t.TempDir() + "/pid"
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, _, err = src.Start(exec.Command("sh", "-c", `sh -c 'while :; do /bin/true; done' & echo $! >"$1"; wait`, "sh", pidFile))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for pid == 0 {
		if _, err := src.Next(context.Background()); err != nil {
			t.Fatalf("next: %v", err)
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	for range 20 { // let the loop run traced a little
		if _, err := src.Next(context.Background()); err != nil {
			t.Fatalf("next: %v", err)
		}
	}
	start := time.Now()
	src.Close()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v", d)
	}
	for range 20 {
		if st := testenv.ProcState(pid); st == "T" || st == "t" || st == "" {
			t.Fatalf("child %d in state %q after Close, want running", pid, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
