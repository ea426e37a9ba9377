package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/internal/testenv"
)

// kdriver trace -p interrupted exits 130 and leaves the target running,
// never stopped (state T), over several runs.
func TestTraceAttachInterrupted(t *testing.T) {
	for i := range 5 {
		cmd := exec.Command("sh", "-c", "while :; do /bin/true; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(400+100*i)*time.Millisecond)
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"kdriver", "--output", "json", "trace", "-p", strconv.Itoa(pid)}, &stdout, &stderr)
		cancel()
		state := testenv.ProcState(pid)
		for range 10 {
			if state == "T" || state == "t" {
				break
			}
			time.Sleep(10 * time.Millisecond)
			state = testenv.ProcState(pid)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if code != exitInterrupted {
			t.Fatalf("run %d: exit %d, want 130; stderr:\n%s", i, code, stderr.String())
		}
		if stdout.Len() == 0 {
			t.Errorf("run %d: no events printed", i)
		}
		if state == "T" || state == "t" {
			t.Fatalf("run %d: target left in state %s", i, state)
		}
	}
}

// trace -p refused by ptrace is exit 4 (the host refuses), a missing
// process exit 2; kernel threads cannot be traced, even by root.
func TestTraceAttachRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"kdriver", "trace", "-p", strconv.Itoa(1 << 30)}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "no such process") {
		t.Errorf("trace -p <missing>: exit %d, %q; want 2, no such process", code, stderr.String())
	}
	// A kernel thread, where one is visible; else this very process (ptrace
	// refuses a tracer its own thread group). Either is refused even to root.
	target := os.Getpid()
	if comm, err := os.ReadFile("/proc/2/comm"); err == nil && strings.TrimSpace(string(comm)) == "kthreadd" {
		target = 2
	}
	stderr.Reset()
	code = run(context.Background(), []string{"kdriver", "trace", "-p", strconv.Itoa(target)}, &stdout, &stderr)
	if code != exitUnsupported || !strings.Contains(stderr.String(), "ptrace refused") {
		t.Errorf("trace -p %d: exit %d, want 4 saying ptrace refused; stderr %q", target, code, stderr.String())
	}
}
