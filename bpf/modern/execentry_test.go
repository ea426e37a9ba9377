package modern

import (
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// TestExecEntryPrograms: the exec entries come from fentry programs on
// the two syscalls' functions where the kernel can attach them, else from
// the kernel's syscall tracepoints, else from the sys_enter program (each
// also when forced), and every way gives the same execve_e and execveat_e.
func TestExecEntryPrograms(t *testing.T) {
	testenv.RequireBPF(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode AttachMode
		way  ExecEntry
	}{
		// The default mode: tp_btf, raw tracepoints before 5.11.
		{"", ""}, {"", ExecEntryTracepoint}, {"", ExecEntrySysEnter},
		{AttachRaw, ""}, {AttachRaw, ExecEntrySysEnter},
	} {
		name := cmp.Or(string(c.mode), "default") + "/" + cmp.Or(string(c.way), "preferred")
		t.Run(name, func(t *testing.T) {
			// One exec type: the probe takes all four (ExecTypes).
			src, err := Open(Options{BufSizePreset: 1, Attach: c.mode, ExecEntry: c.way, Types: []events.Type{events.TypeExecveE}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			p := src.Probe()
			t.Logf("mode %s, exec entries through %s", p.Mode, p.ExecEntry)
			want := c.way
			if want == "" {
				// Every kernel the suites cover has syscall tracepoints
				// (CONFIG_FTRACE_SYSCALLS); the VM suite says where it
				// has BPF trampolines.
				want = ExecEntryTracepoint
				if p.Mode == AttachBTF && os.Getenv("KDRIVER_EXPECT_FENTRY") == "1" {
					want = ExecEntryFentry
				}
			}
			if p.ExecEntry != want {
				t.Fatalf("exec entries through %s (mode %s), want %s", p.ExecEntry, p.Mode, want)
			}
			// Where no tracefs was mounted, the probe mounted one for the
			// event ids only: nothing of it may stay. (Other packages' tests
			// may be loading the probe meanwhile, their mount there for an
			// instant: only one that stays is this load's leak.)
			for try := 0; ; try++ {
				mi, err := os.ReadFile("/proc/self/mountinfo")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(mi), "kdriver-tracefs-") {
					break
				}
				if try == 20 {
					t.Fatalf("a tracefs mount of the probe stayed:\n%s", mi)
				}
				time.Sleep(100 * time.Millisecond)
			}
			cmd := exec.Command(self, "-test.list=^$")
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			child, _ := cloneExecveat(t, sysnr(t, "clone"), sysnr(t, "execveat"), self, []string{"modern.test", "-test.list=^$"})
			wantE := map[events.Type]uint32{events.TypeExecveE: uint32(cmd.Process.Pid), events.TypeExecveatE: uint32(child)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for len(wantE) > 0 {
				ev, err := src.Next(ctx)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("no entry event of types %v", wantE)
				}
				if err != nil {
					t.Fatal(err)
				}
				pid, ok := wantE[ev.Type]
				if !ok || ev.PID != pid {
					continue
				}
				var file string
				var argv []string
				if ev.Type == events.TypeExecveE {
					file, argv = ev.Str(0), ev.Args(1)
				} else {
					file, argv = ev.Str(1), ev.Args(2)
				}
				if file != self || len(argv) != 2 || argv[1] != "-test.list=^$" || ev.TID != pid || ev.Flags != 0 {
					t.Fatalf("%s: filename %q argv %q tid %d flags %#x; want %q, [... -test.list=^$], %d, 0",
						ev.Type, file, argv, ev.TID, ev.Flags, self, pid)
				}
				delete(wantE, ev.Type)
			}
		})
	}
}

// TestNoEntryProgramWithoutEntryTypes: without an entry event type asked
// for, nothing runs at syscall entry (a program there would cost every
// syscall of every process), and exits are still captured.
func TestNoEntryProgramWithoutEntryTypes(t *testing.T) {
	testenv.RequireBPF(t)
	src, err := Open(Options{BufSizePreset: 1, Types: []events.Type{events.TypeCloseX}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.Probe()
	if p.ExecEntry != ExecEntryNone {
		t.Fatalf("exec entries through %s, want none", p.ExecEntry)
	}
	// sys_exit and sched_process_exit (which keeps exec_pending clean).
	if len(p.links) != 2 {
		t.Fatalf("%d programs attached, want 2 (sys_exit, sched_process_exit)", len(p.links))
	}
	closeNamed(t, "kd-noentry", "kd-noentry", -4343)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("no close_x of fd -4343: %v", err)
		}
		if ev.Type == events.TypeCloseX && ev.Int(1) == -4343 {
			return
		}
	}
}

// TestWakeupThreshold: the probe counts the bytes each CPU writes, so the
// CPUs sharing a buffer share its threshold (1/wakeupFraction of it).
func TestWakeupThreshold(t *testing.T) {
	testenv.RequireBPF(t)
	for _, per := range []int{1, AllCPUs} {
		p, err := Load(Options{BufSizePreset: 1, CPUsPerBuffer: per, Types: []events.Type{events.TypeCloseX}})
		if err != nil {
			t.Fatal(err)
		}
		var got uint64
		err = p.coll.Variables["kd_wakeup_bytes"].Get(&got)
		cpus := 0
		for _, c := range p.cpusOf {
			cpus = max(cpus, len(c))
		}
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := uint64(p.BufSize / wakeupFraction / cpus); got != want {
			t.Errorf("CPUs per buffer %d: threshold %d bytes per CPU, want %d (%d CPUs share a buffer)", per, got, want, cpus)
		}
	}
}

func TestCPUsPerBuffer(t *testing.T) {
	for _, c := range []struct{ in, n, want int }{{0, 4, 1}, {1, 4, 1}, {2, 4, 2}, {AllCPUs, 4, 4}, {9, 4, 4}, {AllCPUs, 0, 1}} {
		if got := cpusPerBuffer(c.in, c.n); got != c.want {
			t.Errorf("cpusPerBuffer(%d, %d) = %d, want %d", c.in, c.n, got, c.want)
		}
	}
}

// TestExecEntryForcedRefused: a way of taking the exec entries that cannot
// be used fails the load with its reason, after the probe's other programs
// and maps were made: they are closed (a failed load used to close a nil
// probe and crash), and the next load works.
func TestExecEntryForcedRefused(t *testing.T) {
	testenv.RequireBPF(t)
	types := []events.Type{events.TypeExecveE}
	src, err := Open(Options{BufSizePreset: 1, Attach: AttachRaw, ExecEntry: ExecEntryFentry, Types: types})
	if err == nil {
		src.Close()
		t.Fatal("fentry exec entries forced in raw tracepoint mode: opened")
	}
	if !strings.Contains(err.Error(), "exec entries through fentry: not in raw_tracepoint mode") {
		t.Fatalf("refused without the reason: %v", err)
	}
	src, err = Open(Options{BufSizePreset: 1, Attach: AttachRaw, Types: types})
	if err != nil {
		t.Fatalf("the next load: %v", err)
	}
	src.Close()
}
