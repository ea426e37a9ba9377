package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/userspace"
)

type traceOptions struct {
	PID   int
	Types []string
}

// tracedExit carries the traced command's own exit code: kdriver trace
// exits with it (exitCode maps it).
type tracedExit struct{ code int }

func (e tracedExit) Error() string { return fmt.Sprintf("traced command exited with code %d", e.code) }

func newTraceCmd(g *globals) *cobra.Command {
	o := &traceOptions{}
	cmd := &cobra.Command{
		Use:   "trace [--type T] (-p PID | -- CMD [ARGS...])",
		Short: "Trace a command or a process tree with the userspace (ptrace) driver",
		Long: `Run CMD (or attach to the running process PID and its threads) under ptrace and
print the events of it and of every process it starts, in the same format as
kdriver events (text, or one JSON object per line with --output json).
No kernel driver is needed; tracing one's own children needs no privilege,
attaching to another user's process needs root (and Yama ptrace_scope < 3).

The command's stdin, stdout and stderr are kdriver's. Statistics go to stderr
at the end. With CMD, kdriver trace exits with CMD's exit code (128+N when it
is killed by signal N); with -p it exits 0 once the traced processes are gone
(or 130 when interrupted: attached processes are then detached, not killed,
and run on). -p exits 4 when ptrace is refused (another user's process without
root, Yama ptrace_scope 3, a kernel thread) and 2 when there is no such process.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrace(cmd.Context(), g, o, args)
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&o.PID, "pid", "p", 0, "attach to this running process instead of running a command")
	fs.StringArrayVar(&o.Types, "type", nil, "only this event type (openat_x) or syscall (openat, procexit); repeatable, comma lists allowed")
	setEnvNames(fs, "type", []string{"KDRIVER_EVENT_TYPE"}, "event-type") // not a driver type: see envAnnotation
	return cmd
}

func runTrace(ctx context.Context, g *globals, o *traceOptions, args []string) error {
	switch {
	case o.PID != 0 && len(args) > 0:
		return usageError{"give either -p PID or -- CMD, not both"}
	case o.PID < 0:
		return usageError{"-p: not a process id"}
	case o.PID == 0 && len(args) == 0:
		return usageError{"nothing to trace: give -- CMD [ARGS...] or -p PID"}
	}
	types, err := parseEventTypes(o.Types)
	if err != nil {
		return err
	}
	src, err := userspace.New(userspace.Options{Types: types, EndWhenDone: true, Logger: g.logger})
	if err != nil {
		return err
	}
	defer src.Close()

	var wait func() (int, error)
	if o.PID != 0 {
		if err := src.Attach(o.PID); err != nil {
			return attachError(o.PID, err)
		}
	} else {
		c := exec.CommandContext(ctx, args[0], args[1:]...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
		if _, wait, err = src.Start(c); err != nil {
			return fmt.Errorf("trace %s: %w", args[0], err)
		}
	}

	filter := &eventFilter{types: types}
	printed, read, err := streamEvents(ctx, src, filter, g.stdout, g.JSON())
	if errors.Is(err, io.EOF) {
		err = nil // every traced process is gone
	}
	// Close first: an event the tracer was handing over when the stream
	// ended (an interrupt) is dropped by Close and must be in the count.
	src.Close()
	st, serr := src.Stats()
	printStats(g.stderr, read, printed, st, serr)
	if err != nil || wait == nil {
		return err
	}
	code, err := wait()
	if err != nil {
		return err
	}
	if code != 0 {
		return tracedExit{code}
	}
	return nil
}

// attachError maps a failed attach onto the exit codes: ptrace refused
// (privilege, Yama, a kernel thread) is the host refusing (4); no such
// process is a wrong -p (2).
func attachError(pid int, err error) error {
	switch {
	case errors.Is(err, userspace.ErrAttach):
		return fmt.Errorf("%w: %w", loader.ErrUnsupported, err)
	case errors.Is(err, fs.ErrNotExist):
		return usageError{fmt.Sprintf("-p %d: no such process", pid)}
	}
	return err
}
