package legacy

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
)

// hasExecTracepoints says whether the probe object has the syscall
// tracepoint programs (probes built before them do not).
func hasExecTracepoints(t *testing.T, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range syms {
		if _, ok := ExecEntryPrograms[s.Name]; ok {
			n++
		}
	}
	return n == len(ExecEntryPrograms)
}

// TestExecEntryWays: the exec entries come from the syscall tracepoint
// programs where the probe has them (every probe this kdriver builds: the
// guests' are built for their kernel) and from kd_sys_enter otherwise or
// when asked, and both give the same execve_e.
func TestExecEntryWays(t *testing.T) {
	file := probeFile(t)
	hasTP := hasExecTracepoints(t, file)
	if os.Getenv("KDRIVER_EBPF_GUEST") != "" && !hasTP {
		t.Fatalf("%s: built without the syscall tracepoint programs", file)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sysEnter := range []bool{false, true} {
		want := modern.ExecEntrySysEnter
		if hasTP && !sysEnter {
			want = modern.ExecEntryTracepoint
		}
		name := "preferred"
		if sysEnter {
			name = "sys_enter_asked"
		}
		t.Run(name, func(t *testing.T) {
			p := loadProbe(t, Options{BufSizePreset: 1, SysEnterExec: sysEnter, Types: []events.Type{events.TypeExecveE}})
			src := NewSource(p)
			defer src.Close()
			if p.ExecEntry != want {
				t.Fatalf("exec entries through %s, want %s", p.ExecEntry, want)
			}
			cmd := exec.Command(self, "-test.list=^$")
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for {
				ev, err := src.Next(ctx)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("no execve_e of pid %d", cmd.Process.Pid)
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Type != events.TypeExecveE || ev.PID != uint32(cmd.Process.Pid) {
					continue
				}
				if argv := ev.Args(1); ev.Str(0) != self || len(argv) != 2 || argv[1] != "-test.list=^$" || ev.Flags != 0 {
					t.Fatalf("execve_e: filename %q argv %q flags %#x; want %q, [... -test.list=^$], 0", ev.Str(0), argv, ev.Flags, self)
				}
				return
			}
		})
	}
}
