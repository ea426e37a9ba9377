// Command syscallbench measures the cost of capturing syscalls: a
// syscall-heavy workload (close(-1) in a loop, in W child processes) runs
// without any probe, with kdriver's modern probe attached and read, and
// with bpftrace on the same tracepoints (raw_syscalls:sys_enter/sys_exit),
// all in one run, so the numbers compare as ratios. It prints a markdown
// report for docs/benchmarks.md.
//
// Run as root: go run ./bench/syscallbench (bench/run.sh sets up tracefs
// for bpftrace and records the machine).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kdriver/kdriver/bench/internal/workers"
	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "workload" {
		workload(os.Args[2:])
		return
	}
	n := flag.Int("n", 2_000_000, "syscalls per worker")
	workers := flag.String("workers", "1,2", "comma list of worker counts to run")
	preset := flag.Int("buf-size-preset", modern.DefaultBufSizePreset, "modern probe buffer size preset")
	perBuf := flag.Int("cpus-for-each-buffer", 1, "CPUs per ring buffer (0: one shared buffer)")
	bpftrace := flag.String("bpftrace", "bpftrace", "bpftrace binary; empty to skip")
	repeat := flag.Int("repeat", 3, "runs of each configuration; the fastest is reported (other load on the machine only slows runs down)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *workers, *preset, *perBuf, *bpftrace, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "syscallbench:", err)
		os.Exit(1)
	}
}

// workload does N close(-1) syscalls and prints the elapsed nanoseconds.
func workload(args []string) {
	n, _ := strconv.Atoi(args[0])
	start := time.Now()
	for range n {
		syscall.RawSyscall(syscall.SYS_CLOSE, ^uintptr(0), 0, 0)
	}
	fmt.Println(time.Since(start).Nanoseconds())
}

// phase is one measured configuration.
type phase struct {
	name      string
	workers   int
	syscalls  int
	wall      time.Duration
	read      uint64 // events the reader got
	written   uint64 // events the driver wrote (where known)
	drops     uint64
	readerCPU time.Duration
	note      string
}

func (p phase) nsPerSyscall() float64 {
	// Per worker: each worker runs on its own core when it can.
	return float64(p.wall.Nanoseconds()) * float64(p.workers) / float64(p.syscalls)
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func baseline(ctx context.Context, w, n int) (phase, error) {
	wall, _, err := workers.Run(ctx, w, n)
	return phase{name: "no probe", workers: w, syscalls: w * n, wall: wall}, err
}

// ours attaches the modern probe and reads every event while the workload
// runs, then drains what is left.
func ours(ctx context.Context, w, n, preset, perBuf int) (phase, error) {
	if perBuf == 0 {
		perBuf = modern.AllCPUs
	}
	src, err := modern.Open(modern.Options{BufSizePreset: preset, CPUsPerBuffer: perBuf})
	if err != nil {
		return phase{}, err
	}
	defer src.Close()
	p := phase{name: "kdriver modern probe", workers: w, syscalls: w * n,
		note: fmt.Sprintf("%s, %d buffer(s) of %d MiB", src.Probe().Mode, src.Probe().Buffers, src.Probe().BufSize>>20)}

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
	p.wall, _, err = workers.Run(ctx, w, n)
	if err != nil {
		stopRead()
		<-done
		return p, err
	}
	// Drain: stop once the reader has what the probe wrote.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		st, _ := src.Stats()
		if read.Load() >= st.Events {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopRead()
	<-done
	p.readerCPU = cpuSelf() - cpu0
	st, err := src.Stats()
	if err != nil {
		return p, err
	}
	p.read, p.written, p.drops = read.Load(), st.Events, st.Drops
	return p, nil
}

// bpftraceScripts: the same tracepoints, an event to userspace per close
// (printf, like our probe) or only an in-kernel count.
var bpftraceScripts = map[string]string{
	"bpftrace printf": `tracepoint:raw_syscalls:sys_enter /args->id == 59/ { printf("%d %s\n", pid, comm); }
tracepoint:raw_syscalls:sys_exit /args->id == 3/ { printf("%d %d %s %d\n", pid, tid, comm, args->ret); }`,
	"bpftrace count": `tracepoint:raw_syscalls:sys_enter /args->id == 59/ { @e = count(); }
tracepoint:raw_syscalls:sys_exit /args->id == 3/ { @x = count(); }`,
}

func withBpftrace(ctx context.Context, bin, name string, w, n int) (phase, error) {
	p := phase{name: name, workers: w, syscalls: w * n}
	cmd := exec.Command(bin, "-e", bpftraceScripts[name])
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return p, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return p, err
	}
	br := bufio.NewReaderSize(stdout, 1<<20)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "Attaching") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return p, fmt.Errorf("bpftrace did not attach: %q %v: %s", line, err, stderr.String())
	}
	// Count the event lines; bpftrace reports its perf buffer losses as
	// "Lost N events" lines on the same stream.
	var lines, lost uint64
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Bytes()
			switch {
			case bytes.HasPrefix(l, []byte("Lost ")):
				if f := strings.Fields(string(l)); len(f) > 1 {
					k, _ := strconv.ParseUint(f[1], 10, 64)
					lost += k
				}
			case len(l) > 0:
				lines++
			}
		}
	}()
	p.wall, _, err = workers.Run(ctx, w, n)
	_ = cmd.Process.Signal(os.Interrupt)
	<-counted
	werr := cmd.Wait()
	if err != nil {
		return p, err
	}
	if werr != nil && cmd.ProcessState.ExitCode() != 0 {
		return p, fmt.Errorf("bpftrace: %v: %s", werr, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	p.readerCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	p.read = lines
	if name == "bpftrace count" {
		p.read = 0
		p.note = "in-kernel count, nothing sent to userspace"
	}
	p.drops = lost
	return p, nil
}

func run(ctx context.Context, n int, workerList string, preset, perBuf int, bpftrace string, repeat int) error {
	host, _ := os.Hostname()
	fmt.Printf("Run %s on %s, kernel %s, %d CPUs, %d syscalls per worker, best of %d runs per configuration.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, kernel(), cpus(), n, repeat)
	fmt.Println("| workers | configuration | ns/syscall (per worker) | overhead ns/syscall | events read | events read/s | drops | reader CPU (% of one core) | notes |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, ws := range strings.Split(workerList, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(ws))
		if err != nil || w < 1 {
			return fmt.Errorf("-workers %q", workerList)
		}
		// Warm up once so page cache and CPU frequency settle.
		if _, _, err := workers.Run(ctx, w, n/10); err != nil {
			return err
		}
		// Interleave the configurations and keep each one's fastest run.
		var phases []phase
		keep := func(i int, p phase) {
			if i >= len(phases) {
				phases = append(phases, p)
			} else if p.wall < phases[i].wall {
				phases[i] = p
			}
		}
		for range max(repeat, 1) {
			p, err := baseline(ctx, w, n)
			if err != nil {
				return err
			}
			keep(0, p)
			if p, err = ours(ctx, w, n, preset, perBuf); err != nil {
				return fmt.Errorf("modern probe: %w", err)
			}
			keep(1, p)
			if bpftrace == "" {
				continue
			}
			for i, name := range []string{"bpftrace printf", "bpftrace count"} {
				p, err := withBpftrace(ctx, bpftrace, name, w, n)
				if err != nil {
					return err
				}
				keep(2+i, p)
			}
		}
		base := phases[0]
		for _, p := range phases {
			over := p.nsPerSyscall() - base.nsPerSyscall()
			rate := float64(p.read) / p.wall.Seconds()
			cpu := 100 * p.readerCPU.Seconds() / p.wall.Seconds()
			fmt.Printf("| %d | %s | %.0f | %.0f | %d | %.0f | %d | %.0f | %s |\n",
				w, p.name, p.nsPerSyscall(), over, p.read, rate, p.drops, cpu, p.note)
		}
		if bpftrace != "" && len(phases) >= 3 {
			ourOver := phases[1].nsPerSyscall() - base.nsPerSyscall()
			btOver := phases[2].nsPerSyscall() - base.nsPerSyscall()
			fmt.Printf("\nworkers=%d: overhead per captured syscall, kdriver / bpftrace printf = %.2f; events read/s kdriver / bpftrace printf = %.2f\n\n",
				w, ourOver/btOver, (float64(phases[1].read)/phases[1].wall.Seconds())/(float64(phases[2].read)/phases[2].wall.Seconds()))
		}
	}
	return nil
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "?"
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func cpus() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(part, "-")
		a, _ := strconv.Atoi(lo)
		z := a
		if ok {
			z, _ = strconv.Atoi(hi)
		}
		n += z - a + 1
	}
	return n
}
