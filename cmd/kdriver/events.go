package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader"
)

type eventsOptions struct {
	Drivers  []string
	PIDs     []uint32
	Comms    []string
	Types    []string
	Duration time.Duration
	Probe    probeFlags
}

func newEventsCmd(g *globals) *cobra.Command {
	o := &eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream the driver's decoded events",
		Long: `Load the driver (the modern eBPF probe here) and print its events, one per line:
text, or with --output json one JSON object per line with ts pid tid cpu comm type
syscall and the event's parameters (res path flags argv addr exit_code …).
Filters combine: an event is printed when it matches every filter given.
Statistics (events read, written and dropped by the driver, per CPU) go to stderr at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Drivers, "driver", nil, "driver type to read (auto, modern-ebpf, kmod …); repeatable priority list (default auto)")
	fs.Var(newPIDList(&o.PIDs), "pid", "only events of this process id (tgid); repeatable")
	fs.StringArrayVar(&o.Comms, "comm", nil, "only events whose comm is this; repeatable")
	fs.StringArrayVar(&o.Types, "type", nil, "only this event type (openat_x) or syscall (openat, procexit); repeatable, comma lists allowed")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (default: until interrupted)")
	// --driver is the driver type the other commands call --type: it reads
	// their variables; --type here is event types, with a variable of its own.
	setEnvNames(fs, "driver", []string{"KDRIVER_DRIVER", "KDRIVER_TYPE", "FALCOCTL_DRIVER_TYPE"}, "driver", "type")
	setEnvNames(fs, "type", []string{"KDRIVER_EVENT_TYPE"}, "event-type")
	o.Probe.bind(fs)
	return cmd
}

// pidList is a repeatable --pid flag.
type pidList struct{ p *[]uint32 }

func newPIDList(p *[]uint32) *pidList { return &pidList{p} }
func (l *pidList) String() string {
	if l.p == nil {
		return ""
	}
	return fmt.Sprint(*l.p)
}
func (l *pidList) Type() string { return "pid" }
func (l *pidList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil || v == 0 {
			return fmt.Errorf("%q is not a process id", f)
		}
		*l.p = append(*l.p, uint32(v))
	}
	return nil
}

func parseEventTypes(vals []string) ([]events.Type, error) {
	var out []events.Type
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			ts := events.ParseType(s)
			if len(ts) == 0 {
				names := make([]string, 0)
				for _, t := range events.Types() {
					names = append(names, t.String())
				}
				return nil, usageError{fmt.Sprintf("--type %q: not an event type or syscall (known: %s)", s, strings.Join(names, ", "))}
			}
			for _, t := range ts {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	return out, nil
}

// eventFilter keeps the events that match every given filter.
type eventFilter struct {
	pids  []uint32
	comms []string
	types []events.Type
}

func (f *eventFilter) keep(ev *events.Event) bool {
	return (len(f.pids) == 0 || slices.Contains(f.pids, ev.PID)) &&
		(len(f.comms) == 0 || slices.Contains(f.comms, ev.Comm)) &&
		(len(f.types) == 0 || slices.Contains(f.types, ev.Type))
}

func runEvents(ctx context.Context, g *globals, o *eventsOptions) error {
	drivers, err := parseDriverTypes(o.Drivers)
	if err != nil {
		return err
	}
	types, err := parseEventTypes(o.Types)
	if err != nil {
		return err
	}
	if o.Duration < 0 {
		return usageError{"--duration must not be negative"}
	}
	mopts, err := o.Probe.options(types)
	if err != nil {
		return err
	}
	if name, ok := libsModule(g, drivers); ok {
		dev, err := openLibs(g, name, g.stderr)
		if err != nil {
			return err
		}
		defer dev.Close()
		return streamFor(ctx, g, o, dev, types)
	}
	facts, err := hostFacts(ctx, g)
	if err != nil {
		return err
	}
	d, err := loader.Choose(facts, loadedFirst(drivers, facts))
	if err != nil {
		return err
	}
	if d.Driver == loader.Userspace {
		// The tracer sees only the processes it traces; streaming "all
		// events" with it would wait forever on nothing.
		return fmt.Errorf("%w: driver userspace: it traces the processes it is given, not the whole host: use 'kdriver trace -- CMD' or 'kdriver trace -p PID' (%s)",
			loader.ErrUnsupported, d.Reason)
	}
	eopts, err := installedProbe(g, mopts.BufSizePreset, types)
	if err != nil {
		return err
	}
	drv, err := loader.NewDriver(d.Driver, loader.DriverConfig{Modern: mopts, EBPF: eopts, Logger: g.logger})
	if err != nil {
		return err
	}
	if _, err := drv.Preflight(ctx, facts); err != nil {
		return err
	}
	src, err := drv.Open(ctx)
	if err != nil {
		return fmt.Errorf("driver %s: open events: %w", d.Driver, err)
	}
	defer src.Close()
	g.logger.Info("reading events", "driver", d.Driver)
	return streamFor(ctx, g, o, src, types)
}

// streamFor prints src's events for --duration (or until interrupted),
// then the driver's statistics.
func streamFor(ctx context.Context, g *globals, o *eventsOptions, src events.Source, types []events.Type) error {
	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	filter := &eventFilter{pids: o.PIDs, comms: o.Comms, types: types}
	printed, read, err := streamEvents(runCtx, src, filter, g.stdout, g.JSON())
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = nil // --duration elapsed
	}
	st, serr := src.Stats()
	printStats(g.stderr, read, printed, st, serr)
	return err
}

// streamEvents copies matching events to w until ctx ends, flushing the
// buffered output every 200ms so that a slow stream still shows up.
// streamEvents copies matching events to w until ctx ends, flushing the
// buffered output every 200ms so that a slow stream still shows up. A
// malformed event is skipped and the stream goes on, but the run does not
// end well: the error says how many there were and what the first was
// (an interrupt still wins, so that ^C stays exit 130).
func streamEvents(ctx context.Context, src events.Source, f *eventFilter, w io.Writer, asJSON bool) (printed, read uint64, err error) {
	var mu sync.Mutex
	bw := bufio.NewWriterSize(w, 64<<10)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				mu.Lock()
				bw.Flush()
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	var line []byte
	var malformed uint64
	var firstMalformed error
	for {
		ev, nerr := src.Next(ctx)
		if nerr != nil {
			if errors.Is(nerr, events.ErrMalformed) {
				if malformed == 0 {
					firstMalformed = nerr
				}
				malformed++
				continue
			}
			err = nerr
			break
		}
		read++
		if !f.keep(ev) {
			continue
		}
		printed++
		if asJSON {
			line = events.AppendJSON(line[:0], ev)
		} else {
			line = events.AppendText(line[:0], ev)
		}
		line = append(line, '\n')
		mu.Lock()
		_, werr := bw.Write(line)
		mu.Unlock()
		if werr != nil {
			err = werr
			break
		}
	}
	close(stop)
	wg.Wait()
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if malformed > 0 && (err == nil || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("%d malformed events skipped (%d good events read), the first: %w", malformed, read, firstMalformed)
	}
	return printed, read, err
}

func printStats(w io.Writer, read, printed uint64, st events.Stats, err error) {
	fmt.Fprintf(w, "events: %d read, %d printed", read, printed)
	if err != nil {
		fmt.Fprintf(w, "; driver stats unavailable: %v\n", err)
		return
	}
	fmt.Fprintf(w, "; driver wrote %d, dropped %d", st.Events, st.Drops)
	if st.Lost > 0 {
		fmt.Fprintf(w, ", %d exec exits typed without their entry", st.Lost)
	}
	for _, c := range st.PerCPU {
		fmt.Fprintf(w, "; cpu%d %d/%d", c.CPU, c.Events, c.Drops)
	}
	fmt.Fprintln(w, " (events/drops)")
}
