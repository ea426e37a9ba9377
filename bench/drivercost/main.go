// Command drivercost measures, in one machine (a qemu guest of
// bench/drivercost.sh), what each of kdriver's syscall sources costs a
// syscall-heavy workload: close(-1) in a loop, in W child processes, with
// no driver, with the kernel module, with the legacy eBPF probe and with
// the modern eBPF probe, each attached and read to the end. The cost is
// the workload's own CPU time (user + system: a probe runs inside the
// syscalls it traces), which leaves out the time a reader or a busy host
// keeps the workload waiting; wall time is reported beside it. The
// configurations are interleaved round by round (the order rotates), so
// a slow phase of the machine hits them all alike; the median of each
// configuration's rounds is reported, and the overheads (ns per syscall
// above no driver) as ratios. Needs root. Prints a markdown report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/bench/internal/workers"
	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kmod"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "workload" {
		n, _ := strconv.Atoi(os.Args[2])
		for range n {
			syscall.RawSyscall(syscall.SYS_CLOSE, ^uintptr(0), 0, 0)
		}
		return
	}
	o := options{}
	flag.IntVar(&o.n, "n", 200_000, "syscalls per worker and round")
	flag.IntVar(&o.workers, "workers", 1, "workload processes")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every configuration once")
	flag.IntVar(&o.preset, "buf-size-preset", 4, "buffer size preset of both probes (4: 8 MiB per CPU)")
	flag.StringVar(&o.ko, "kmod", "", "kernel module `FILE` (empty: no kmod configuration)")
	flag.StringVar(&o.probe, "legacy", "", "legacy eBPF probe `FILE` built for this kernel (empty: none)")
	flag.BoolVar(&o.modern, "modern", true, "measure the modern probe")
	flag.BoolVar(&o.sysEnter, "sys-enter", false, "also measure each probe with its exec entries taken by a sys_enter program (a program at every syscall's entry), against its preferred way")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "drivercost:", err)
		os.Exit(1)
	}
}

type options struct {
	n, workers, rounds, preset int
	ko, probe                  string
	modern, sysEnter           bool
}

// source is what a configuration attaches: an events.Source and its
// teardown (the module is unloaded after its reader closes).
type source struct {
	events.Source
	close func() error
}

type config struct {
	name string
	open func(ctx context.Context) (*source, error) // nil: no driver
}

// round is one measured run of a configuration.
type round struct {
	wall          time.Duration
	cpu           time.Duration // the workload children's user + system time
	read, written uint64
	drops         uint64
}

func run(ctx context.Context, o options) error {
	cfgs := []config{{name: "no driver"}}
	if o.ko != "" {
		cfgs = append(cfgs, config{name: "kmod", open: func(ctx context.Context) (*source, error) {
			if err := kmod.Load(ctx, o.ko, ""); err != nil {
				return nil, err
			}
			d, err := kmod.Open(kmod.DeviceOptions{})
			if err != nil {
				_ = kmod.Unload(ctx, "kdriver", kmod.UnloadOptions{})
				return nil, err
			}
			return &source{Source: d, close: func() error {
				return errors.Join(d.Close(), kmod.Unload(ctx, "kdriver", kmod.UnloadOptions{}))
			}}, nil
		}})
	}
	ways := []bool{false}
	if o.sysEnter {
		ways = append(ways, true)
	}
	for _, sysEnter := range ways {
		suffix := ""
		if sysEnter {
			suffix = ", exec entries at sys_enter"
		}
		if o.probe != "" {
			cfgs = append(cfgs, config{name: "legacy eBPF probe" + suffix, open: func(context.Context) (*source, error) {
				p, err := legacy.LoadFile(o.probe, legacy.Options{BufSizePreset: o.preset, SysEnterExec: sysEnter})
				if err != nil {
					return nil, err
				}
				s := legacy.NewSource(p)
				return &source{Source: s, close: s.Close}, nil
			}})
		}
		if o.modern {
			way := modern.ExecEntry("")
			if sysEnter {
				way = modern.ExecEntrySysEnter
			}
			cfgs = append(cfgs, config{name: "modern eBPF probe" + suffix, open: func(context.Context) (*source, error) {
				s, err := modern.Open(modern.Options{BufSizePreset: o.preset, ExecEntry: way})
				if err != nil {
					return nil, err
				}
				return &source{Source: s, close: s.Close}, nil
			}})
		}
	}
	fmt.Printf("Kernel %s, %d CPUs, %d workload process(es) × %d close(-1) per round, %d rounds interleaved, buffer preset %d.\n\n",
		kernel(), cpus(), o.workers, o.n, o.rounds, o.preset)
	if _, _, err := workers.Run(ctx, o.workers, o.n/10); err != nil { // warm up
		return err
	}
	rounds := make([][]round, len(cfgs))
	for r := range o.rounds {
		for i := range cfgs {
			c := (i + r) % len(cfgs) // rotate the order
			m, err := measure(ctx, cfgs[c], o)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", cfgs[c].name, r+1, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %s: %.0f ns/syscall CPU, %.0f wall, read %d, written %d, drops %d\n",
				r+1, cfgs[c].name, nsPer(m.cpu, o), nsPer(m.wall, o), m.read, m.written, m.drops)
			rounds[c] = append(rounds[c], m)
		}
	}
	fmt.Println("| configuration | CPU ns/syscall (median) | overhead ns/syscall | ×no driver | wall ns/syscall (median) | events read | drops |")
	fmt.Println("|---|---|---|---|---|---|---|")
	med := make([]round, len(cfgs))
	for i := range cfgs {
		med[i] = median(rounds[i])
	}
	base := nsPer(med[0].cpu, o)
	over := func(i int) float64 { return nsPer(med[i].cpu, o) - base }
	for i, c := range cfgs {
		fmt.Printf("| %s | %.0f | %.0f | %.2f | %.0f | %d | %d |\n", c.name, nsPer(med[i].cpu, o), over(i),
			nsPer(med[i].cpu, o)/base, nsPer(med[i].wall, o), med[i].read, med[i].drops)
	}
	idx := map[string]int{}
	for i, c := range cfgs {
		idx[c.name] = i
	}
	fmt.Println()
	l, ok := idx["legacy eBPF probe"]
	for _, other := range []string{"modern eBPF probe", "kmod"} {
		if j, ok2 := idx[other]; ok && ok2 && over(j) > 0 {
			fmt.Printf("Overhead per syscall, legacy eBPF probe / %s = %.2f\n", other, over(l)/over(j))
		}
	}
	return nil
}

// measure attaches c, reads every event while the workload runs, drains
// what the driver wrote and detaches.
func measure(ctx context.Context, c config, o options) (round, error) {
	if c.open == nil {
		wall, cpu, err := workers.Run(ctx, o.workers, o.n)
		return round{wall: wall, cpu: cpu}, err
	}
	src, err := c.open(ctx)
	if err != nil {
		return round{}, err
	}
	var read atomic.Uint64
	rctx, stopRead := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for rctx.Err() == nil {
			if _, err := src.Next(rctx); err != nil {
				if errors.Is(err, events.ErrMalformed) {
					continue
				}
				return
			}
			read.Add(1)
		}
	}()
	wall, cpu, err := workers.Run(ctx, o.workers, o.n)
	for deadline := time.Now().Add(10 * time.Second); err == nil && time.Now().Before(deadline); {
		st, _ := src.Stats()
		if read.Load() >= st.Events {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, serr := src.Stats()
	stopRead()
	cerr := src.close()
	<-done
	if err = errors.Join(err, serr, cerr); err != nil {
		return round{}, err
	}
	return round{wall: wall, cpu: cpu, read: read.Load(), written: st.Events, drops: st.Drops}, nil
}

// nsPer is per syscall of one worker: CPU time summed over the workers
// divides by all their syscalls alike.
func nsPer(d time.Duration, o options) float64 {
	return float64(d.Nanoseconds()) / float64(o.workers*o.n)
}

// median is the round of median CPU time.
func median(rs []round) round {
	s := append([]round(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].cpu < s[j].cpu })
	return s[len(s)/2]
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func cpus() int {
	n := 0
	for i := 0; ; i++ {
		if _, err := os.Stat(fmt.Sprintf("/sys/devices/system/cpu/cpu%d", i)); err != nil {
			return n
		}
		n++
	}
}
