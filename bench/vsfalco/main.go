// Command vsfalco measures kdriver's modern eBPF probe against Falco's
// modern eBPF probe (falcosecurity/libs, read by its stock scap-open) on
// the same workloads in one run: no probe, kdriver and Falco take turns,
// round after round, so the result reads as a ratio kdriver/Falco. Both
// probes get one ring buffer per CPU of the same size and the same set of
// syscalls; every event is read by each probe's own reader (kdriver's in
// this process, decoding each event; Falco's in scap-open).
//
// The cost of a probe is what it adds to each workload operation, in CPU
// time of the workload (the programs run inside its syscalls): overhead =
// CPU ns/op with the probe - CPU ns/op without, from the medians (and from
// the fastest runs) of the rounds. The readers' own CPU time per event is
// reported apart.
//
// Run as root through bench/vs-falco.sh, which builds the peer.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "workload" {
		childMain(os.Args[2:])
		return
	}
	var o options
	flag.StringVar(&o.scapOpen, "scap-open", "", "libs' scap-open built with the modern probe (bench/falco-peer.sh); empty: kdriver only")
	flag.StringVar(&o.preload, "preload", "", "library preloaded into scap-open (bench/falco-peer.sh's memlock.so)")
	flag.IntVar(&o.rounds, "rounds", 11, "interleaved rounds per workload and worker count")
	flag.StringVar(&o.workloads, "workloads", "close,open,mixed", "comma list of workloads: close, open, mixed")
	flag.StringVar(&o.workers, "workers", "1,2", "comma list of worker counts")
	flag.Float64Var(&o.scale, "scale", 1, "multiplies each workload's operations per worker")
	flag.IntVar(&o.preset, "buf-size-preset", modern.DefaultBufSizePreset, "ring buffer size preset of both probes (1 MiB << (preset-1))")
	flag.BoolVar(&o.floor, "floor", false, "also run kdriver's probe capturing no syscall (procexit only): the cost of having sys_exit traced at all, which both probes pay")
	flag.BoolVar(&o.sysEnter, "sys-enter", false, "also run kdriver's probe with its exec entries taken by a sys_enter program (what hosts without fentry and syscall tracepoints run): the cost of a program at every syscall's entry")
	flag.BoolVar(&o.progStats, "progstats", false, "turn on the kernel's BPF run-time statistics and report ns per run of each probe's programs (the statistics' own clock reads then inflate the overhead columns)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "vsfalco:", err)
		os.Exit(1)
	}
}

type options struct {
	scapOpen, preload  string
	rounds             int
	workloads, workers string
	scale              float64
	preset             int
	progStats          bool
	floor              bool
	sysEnter           bool
}

// series collects one configuration's rounds.
type series struct {
	name   string
	nsOp   []float64
	events []float64 // written per op
	drops  uint64
	short  uint64 // events written but not read
	ready  []float64
	reader []float64 // reader CPU ns per event read
	progs  map[string][]progSample
}

func (s *series) add(r result, ops int, w int) {
	s.nsOp = append(s.nsOp, float64(r.cpu.Nanoseconds())/float64(ops))
	s.events = append(s.events, float64(r.written)/float64(ops*w))
	s.drops += r.drops
	if r.written > r.read+r.drops {
		s.short += r.written - r.read - r.drops
	}
	s.ready = append(s.ready, r.ready.Seconds())
	if r.read > 0 {
		s.reader = append(s.reader, float64(r.reader.Nanoseconds())/float64(r.read))
	}
	for name, p := range r.progs {
		if s.progs == nil {
			s.progs = map[string][]progSample{}
		}
		s.progs[name] = append(s.progs[name], progSample{float64(p.runs) / float64(ops*w), float64(p.time.Nanoseconds()) / float64(p.runs)})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minimum(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Min(v)
}

func run(ctx context.Context, o options) error {
	bufBytes, err := modern.BufSize(o.preset)
	if err != nil {
		return err
	}
	var peer *falcoPeer
	if o.scapOpen != "" {
		if peer, err = newFalcoPeer(ctx, o.scapOpen, o.preload); err != nil {
			return err
		}
	}
	if o.progStats {
		c, err := enableProgStats()
		if err != nil {
			return err
		}
		defer c.Close()
	}
	fmt.Printf("Run %s, kernel %s, %d interleaved rounds, one %d MiB ring buffer per CPU for both probes.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), kernel(), o.rounds, bufBytes>>20)
	fmt.Println("| workload | workers | probe | CPU ns/op median | CPU ns/op min | overhead/op median | overhead/op min | events/op | reader CPU ns/event | drops | unread | ready (s) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	var summary, progs []string
	for _, name := range strings.Split(o.workloads, ",") {
		wl, ok := workloadByName(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("workload %q: want close, open or mixed", name)
		}
		ops := max(1, int(float64(wl.ops)*o.scale))
		for _, ws := range strings.Split(o.workers, ",") {
			w, err := strconv.Atoi(strings.TrimSpace(ws))
			if err != nil || w < 1 {
				return fmt.Errorf("-workers %q", o.workers)
			}
			line, rows, err := measure(ctx, o, peer, wl, w, ops, bufBytes)
			if err != nil {
				return err
			}
			summary = append(summary, line)
			progs = append(progs, rows...)
		}
	}
	if peer != nil {
		fmt.Println("\n| workload | workers | kdriver/Falco overhead per op (median) | (fastest runs) | per-round overhead ratio, quartiles | kdriver/Falco ns/op (median) |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, l := range summary {
			fmt.Println(l)
		}
	}
	if o.progStats {
		fmt.Println("\nBPF programs (kernel run-time statistics, each run's time includes two clock reads):")
		fmt.Println("\n| workload | workers | probe | program | runs/op | ns/run median | ns/run min |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, l := range progs {
			fmt.Println(l)
		}
	}
	return nil
}

// measure runs the rounds of one workload and worker count and prints its
// rows; it returns the summary row and the rows of -progstats.
func measure(ctx context.Context, o options, peer *falcoPeer, wl workload, w, ops, bufBytes int) (string, []string, error) {
	if _, err := runWorkers(ctx, wl, w, max(1, ops/10)); err != nil {
		return "", nil, err
	}
	base := &series{name: "none"}
	floor := &series{name: "kdriver, no syscall captured"}
	kd := &series{name: "kdriver"}
	sysEnter := &series{name: "kdriver, exec entries at sys_enter"}
	fa := &series{name: "Falco"}
	confs := []func() error{
		func() error {
			cpu, err := runWorkers(ctx, wl, w, ops)
			base.add(result{cpu: cpu}, ops, w)
			return err
		},
		func() error {
			r, err := runKdriver(ctx, wl, w, ops, o.preset, o.progStats)
			if err != nil {
				return fmt.Errorf("kdriver: %w", err)
			}
			kd.add(r, ops, w)
			return nil
		},
	}
	if o.floor {
		confs = append(confs, func() error {
			r, err := runKdriverWith(ctx, wl, w, ops, o.progStats, modern.Options{BufSizePreset: o.preset, Types: []events.Type{events.TypeProcExit}})
			if err != nil {
				return fmt.Errorf("kdriver (floor): %w", err)
			}
			floor.add(r, ops, w)
			return nil
		})
	}
	if o.sysEnter {
		confs = append(confs, func() error {
			r, err := runKdriverWith(ctx, wl, w, ops, o.progStats, modern.Options{BufSizePreset: o.preset, ExecEntry: modern.ExecEntrySysEnter})
			if err != nil {
				return fmt.Errorf("kdriver (sys_enter): %w", err)
			}
			sysEnter.add(r, ops, w)
			return nil
		})
	}
	if peer != nil {
		confs = append(confs, func() error {
			r, err := peer.run(ctx, wl, w, ops, bufBytes, o.progStats)
			if err != nil {
				return fmt.Errorf("falco: %w", err)
			}
			fa.add(r, ops, w)
			return nil
		})
	}
	for i := range o.rounds {
		// Rotate the order so that no configuration always runs first.
		for j := range confs {
			if err := confs[(i+j)%len(confs)](); err != nil {
				return "", nil, err
			}
		}
	}
	row := func(s *series) {
		over, overMin := "", ""
		evs, rate, drops, short, ready := "", "", "", "", ""
		if s != base {
			over = fmt.Sprintf("%.0f", median(s.nsOp)-median(base.nsOp))
			overMin = fmt.Sprintf("%.0f", minimum(s.nsOp)-minimum(base.nsOp))
			evs = fmt.Sprintf("%.2f", median(s.events))
			rate = fmt.Sprintf("%.0f", median(s.reader))
			drops = strconv.FormatUint(s.drops, 10)
			short = strconv.FormatUint(s.short, 10)
			ready = fmt.Sprintf("%.2f", median(s.ready))
		}
		fmt.Printf("| %s | %d | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
			wl.name, w, s.name, median(s.nsOp), minimum(s.nsOp), over, overMin, evs, rate, drops, short, ready)
	}
	row(base)
	if o.floor {
		row(floor)
	}
	row(kd)
	if o.sysEnter {
		row(sysEnter)
	}
	rows := progRows(wl.name, w, kd)
	if peer == nil {
		return "", rows, nil
	}
	row(fa)
	rows = append(rows, progRows(wl.name, w, fa)...)
	ratio := func(f func(*series) float64) float64 {
		return f(kd) / f(fa)
	}
	// The spread: each round's kdriver and Falco overheads against that
	// round's baseline (the three ran back to back).
	var per []float64
	for i := range min(len(kd.nsOp), len(fa.nsOp), len(base.nsOp)) {
		if fo := fa.nsOp[i] - base.nsOp[i]; fo > 0 {
			per = append(per, (kd.nsOp[i]-base.nsOp[i])/fo)
		}
	}
	return fmt.Sprintf("| %s | %d | %.2f | %.2f | %.2f–%.2f | %.2f |", wl.name, w,
		ratio(func(s *series) float64 { return median(s.nsOp) - median(base.nsOp) }),
		ratio(func(s *series) float64 { return minimum(s.nsOp) - minimum(base.nsOp) }),
		quantile(per, 0.25), quantile(per, 0.75),
		ratio(func(s *series) float64 { return median(s.nsOp) })), rows, nil
}

// quantile is the q-quantile of v (nearest rank), 0 for none.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
