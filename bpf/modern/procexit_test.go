package modern

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// TestProcExitSignal: a process killed by a signal has exit_code 0 and
// signal N, as every driver writes procexit (docs/events.md; the tracer's
// TestTraceSignalExit checks the same).
func TestProcExitSignal(t *testing.T) {
	testenv.RequireBPF(t)
	src, err := Open(Options{BufSizePreset: 2, Types: []events.Type{events.TypeProcExit}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := make(chan *events.Event, 1<<12)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		for {
			ev, err := src.Next(ctx)
			if err != nil {
				return
			}
			select {
			case got <- ev.Clone():
			default:
			}
		}
	}()
	r, _, e := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
	if e != 0 {
		t.Fatalf("clone: %v", e)
	}
	if r == 0 {
		pid, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		syscall.RawSyscall(syscall.SYS_KILL, pid, uintptr(syscall.SIGKILL), 0)
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 3, 0, 0)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(int(r), &ws, 0, nil); err != nil || !ws.Signaled() {
		t.Fatalf("child: %v, status %v", err, ws)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.TID != uint32(r) {
				continue
			}
			if ev.Int(0)&0x7f != 9 || ev.Int(1) != 0 || ev.Int(2) != 9 {
				t.Errorf("procexit status %#x exit_code %d signal %d, want 0x9, 0, 9", ev.Int(0), ev.Int(1), ev.Int(2))
			}
			return
		case <-deadline:
			t.Fatalf("no procexit of %d", r)
		}
	}
}
