package modern

import (
	"context"
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// TestModesWriteSameFixedEvents: tp_btf and raw tracepoint programs build
// the in-place (reserve/submit) events differently (plain loads against
// bpf_probe_read_kernel and bpf_get_current_comm), so each mode must give
// the same close_x: the thread's name, tid, pid, fd and result.
func TestModesWriteSameFixedEvents(t *testing.T) {
	testenv.RequireBPF(t)
	for _, mode := range []AttachMode{AttachBTF, AttachRaw} {
		t.Run(string(mode), func(t *testing.T) {
			src, err := Open(Options{BufSizePreset: 1, Attach: mode, Types: []events.Type{events.TypeCloseX}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			// A name that was longer before: bytes of the old one must
			// not show after the new one's end.
			tid, pid := closeNamed(t, "kd-modes-long1", "kd-m", -4242)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for {
				ev, err := src.Next(ctx)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("no close_x of fd -4242 (mode %s)", src.Probe().Mode)
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Type != events.TypeCloseX || ev.Int(1) != -4242 {
					continue
				}
				if ev.Comm != "kd-m" || ev.TID != uint32(tid) || ev.PID != uint32(pid) ||
					ev.Int(0) != -int64(syscall.EBADF) || ev.Flags != 0 || len(ev.Params) != 2 {
					t.Fatalf("close_x: comm %q tid %d pid %d res %d flags %#x params %d; want kd-m, %d, %d, -EBADF, 0, 2",
						ev.Comm, ev.TID, ev.PID, ev.Int(0), ev.Flags, len(ev.Params), tid, pid)
				}
				return
			}
		})
	}
}

// closeNamed names a locked thread first, then second, and closes fd on it.
func closeNamed(t *testing.T, first, second string, fd int) (tid, pid int) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread keeps its name: let it exit with the goroutine.
		tid = syscall.Gettid()
		for _, name := range []string{first, second} {
			b := append([]byte(name), 0)
			if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0); e != 0 {
				done <- e
				return
			}
		}
		syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("prctl: %v", err)
	}
	return tid, os.Getpid()
}
