package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
)

// result is one run of one configuration.
type result struct {
	cpu     time.Duration // mean CPU time of a workload child
	written uint64        // events the probe wrote
	read    uint64        // events its reader got
	drops   uint64
	ready   time.Duration      // from start to capturing
	reader  time.Duration      // CPU time of the reader
	progs   map[string]progRun // -progstats: what the probe's programs ran
}

// workWithStats runs the workload; with stats, it also returns what the
// programs of statPrograms ran meanwhile.
func workWithStats(ctx context.Context, wl workload, w, ops int, stats bool) (time.Duration, map[string]progRun, error) {
	var before map[string]progRun
	if stats {
		var err error
		if before, err = progSnapshot(); err != nil {
			return 0, nil, err
		}
	}
	cpu, err := runWorkers(ctx, wl, w, ops)
	if err != nil || !stats {
		return cpu, nil, err
	}
	after, err := progSnapshot()
	if err != nil {
		return 0, nil, err
	}
	return cpu, progDelta(before, after), nil
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runKdriver attaches kdriver's modern probe, reads and decodes every
// event in this process while the workload runs, then drains.
func runKdriver(ctx context.Context, wl workload, w, ops, preset int, stats bool) (result, error) {
	return runKdriverWith(ctx, wl, w, ops, stats, modern.Options{BufSizePreset: preset})
}

// runKdriverWith is runKdriver with the probe's options (a buffer per CPU
// always, as Falco's).
func runKdriverWith(ctx context.Context, wl workload, w, ops int, stats bool, opts modern.Options) (result, error) {
	var r result
	t0 := time.Now()
	opts.CPUsPerBuffer = 1
	src, err := modern.Open(opts)
	if err != nil {
		return r, err
	}
	defer src.Close()
	r.ready = time.Since(t0)
	cpu0 := cpuSelf()
	var read atomic.Uint64
	readCtx, stopRead := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := src.Next(readCtx); err != nil {
				if errors.Is(err, events.ErrMalformed) {
					continue
				}
				return
			}
			read.Add(1)
		}
	}()
	r.cpu, r.progs, err = workWithStats(ctx, wl, w, ops, stats)
	if err == nil {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			st, _ := src.Stats()
			if read.Load() >= st.Events {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	stopRead()
	<-done
	r.reader = cpuSelf() - cpu0
	if err != nil {
		return r, err
	}
	st, err := src.Stats()
	if err != nil {
		return r, err
	}
	r.read, r.written, r.drops = read.Load(), st.Events, st.Drops
	return r, nil
}

// falcoPeer runs Falco's modern probe through libs' scap-open.
type falcoPeer struct {
	scapOpen string
	preload  string
	ppmSC    []int // syscalls and tracepoints to enable: kdriver's set
}

// kdriverSet is what kdriver's probe captures, by libs' ppm_sc names.
var kdriverSet = []string{"execve", "execveat", "open", "openat", "openat2", "connect",
	"accept", "accept4", "clone", "clone3", "fork", "vfork", "close", "unlinkat",
	"renameat2", "sched_process_exit"}

var ppmLine = regexp.MustCompile(`PPM_SC > (\S+)\s.*ppm_code: \((\d+)\)`)

// newFalcoPeer maps kdriverSet to ppm_sc codes with scap-open --print_syscalls.
func newFalcoPeer(ctx context.Context, scapOpen, preload string) (*falcoPeer, error) {
	out, err := exec.CommandContext(ctx, scapOpen, "--print_syscalls").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --print_syscalls: %w", scapOpen, err)
	}
	codes := map[string]int{}
	for _, m := range ppmLine.FindAllStringSubmatch(string(out), -1) {
		codes[m[1]], _ = strconv.Atoi(m[2])
	}
	p := &falcoPeer{scapOpen: scapOpen, preload: preload}
	for _, name := range kdriverSet {
		c, ok := codes[name]
		if !ok {
			return nil, fmt.Errorf("scap-open knows no ppm_sc %q", name)
		}
		p.ppmSC = append(p.ppmSC, c)
	}
	return p, nil
}

var capturedLine = regexp.MustCompile(`events correctly captured\): (\d+)`)

var statLine = regexp.MustCompile(`(?m)^\[\d+\] (n_evts|n_drops|n_drops_buffer_total): (\d+)$`)

func (p *falcoPeer) run(ctx context.Context, wl workload, w, ops, bufBytes int, stats bool) (result, error) {
	var r result
	args := []string{"-oL", p.scapOpen, "--modern_bpf", "--cpus_for_buf", "1",
		"--buffer_dim", strconv.Itoa(bufBytes)}
	for _, c := range p.ppmSC {
		args = append(args, "--ppm_sc", strconv.Itoa(c))
	}
	// stdbuf: scap-open prints with stdio, block-buffered into a pipe.
	cmd := exec.CommandContext(ctx, "stdbuf", args...)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+p.preload+":"+os.Getenv("LD_PRELOAD"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	br := bufio.NewReader(stdout)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return r, fmt.Errorf("scap-open did not start capturing: %v\n%s%s", err, head.String(), stderr.String())
		}
		if strings.Contains(line, "Press CTRL+C") {
			break
		}
	}
	r.ready = time.Since(t0)
	// scap-open prints that line just before scap_start_capture attaches
	// the programs; the workload must not start before.
	time.Sleep(300 * time.Millisecond)
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(br)
		rest <- string(b)
	}()
	r.cpu, r.progs, err = workWithStats(ctx, wl, w, ops, stats)
	if err != nil {
		return r, err
	}
	// Let it read what is left (it reports what it read, not what is unread).
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	out := <-rest
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("scap-open: %v\n%s%s", err, out, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.reader = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, m := range statLine.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseUint(m[2], 10, 64)
		switch m[1] {
		case "n_evts":
			r.written = v
		case "n_drops", "n_drops_buffer_total":
			r.drops = max(r.drops, v)
		}
	}
	if m := capturedLine.FindStringSubmatch(out); m != nil {
		r.read, _ = strconv.ParseUint(m[1], 10, 64)
	}
	return r, nil
}
