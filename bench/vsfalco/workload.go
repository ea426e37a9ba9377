package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// A workload is what one child process does op times. The same binary is
// the child: "vsfalco workload NAME OPS" runs it and prints the CPU time
// (user + system) its loop took: the probes run in the syscalls of the
// workload, so their cost is in its system time, and CPU time does not
// count the time a loaded machine leaves the child waiting for a core.
type workload struct {
	name string
	desc string
	ops  int // default ops per worker
	run  func(ops int) error
}

var workloads = []workload{
	{"close", "close(-1)", 2_000_000, closeLoop},
	{"open", "open(/dev/null) + close", 500_000, openLoop},
	{"mixed", "fork + exec /bin/true + wait, 16 × (UDP socket + connect 127.0.0.1 + close), 16 × open + close", 300, mixedLoop},
}

func workloadByName(name string) (workload, bool) {
	for _, w := range workloads {
		if w.name == name {
			return w, true
		}
	}
	return workload{}, false
}

// childMain is the workload child's entry point.
func childMain(args []string) {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: workload NAME OPS")
		os.Exit(2)
	}
	w, ok := workloadByName(args[0])
	ops, err := strconv.Atoi(args[1])
	if !ok || err != nil {
		fmt.Fprintln(os.Stderr, "workload: bad arguments", args)
		os.Exit(2)
	}
	start := cpuSelf()
	if err := w.run(ops); err != nil {
		fmt.Fprintln(os.Stderr, "workload:", err)
		os.Exit(1)
	}
	fmt.Println((cpuSelf() - start).Nanoseconds())
}

func closeLoop(ops int) error {
	for range ops {
		syscall.RawSyscall(syscall.SYS_CLOSE, ^uintptr(0), 0, 0)
	}
	return nil
}

var devNull = []byte("/dev/null\x00")

func openLoop(ops int) error {
	p := uintptr(unsafe.Pointer(&devNull[0]))
	for range ops {
		fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(^uint(99)), p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("open /dev/null: %w", e)
		}
		syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	}
	return nil
}

func mixedLoop(ops int) error {
	// A UDP connect sets the peer address only: no packet leaves, and
	// nothing needs to listen on the port.
	sa := &syscall.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}
	attr := &syscall.ProcAttr{Env: []string{}, Files: []uintptr{0, 1, 2}}
	p := uintptr(unsafe.Pointer(&devNull[0]))
	for range ops {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			return fmt.Errorf("fork/exec /bin/true: %w", err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		for range 16 {
			s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			if err := syscall.Connect(s, sa); err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			syscall.Close(s)
			fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(^uint(99)), p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
			if e != 0 {
				return fmt.Errorf("open /dev/null: %w", e)
			}
			syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
		}
	}
	return nil
}

// runWorkers runs w children of the workload, ops each, at once, and
// returns the mean of the CPU times the children measured around their
// loops (process start and exit left out).
func runWorkers(ctx context.Context, wl workload, w, ops int) (time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmds := make([]*exec.Cmd, w)
	outs := make([]strings.Builder, w)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, exe, "workload", wl.name, strconv.Itoa(ops))
		cmds[i].Stdout = &outs[i]
		cmds[i].Stderr = os.Stderr
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			return 0, err
		}
	}
	var errs []error
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("workload %s: %v", wl.name, errs)
	}
	var sum time.Duration
	for i := range outs {
		ns, err := strconv.ParseInt(strings.TrimSpace(outs[i].String()), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("workload %s: elapsed %q: %w", wl.name, outs[i].String(), err)
		}
		sum += time.Duration(ns)
	}
	return sum / time.Duration(w), nil
}
