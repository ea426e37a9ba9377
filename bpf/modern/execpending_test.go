package modern

import (
	"context"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// execEvents opens the probe and streams the exec exits and entries of
// every process (clones) until the test ends.
func execEvents(t *testing.T) (*Source, <-chan *events.Event) {
	t.Helper()
	src, err := Open(Options{BufSizePreset: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *events.Event, 1<<14)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
		src.Close()
	})
	go func() {
		defer close(done)
		for {
			ev, err := src.Next(ctx)
			if err != nil {
				return
			}
			switch ev.Type {
			case events.TypeExecveX, events.TypeExecveatX:
				select {
				case got <- ev.Clone():
				default:
				}
			}
		}
	}()
	return src, got
}

// execExit waits for the exec exit of pid.
func execExit(t *testing.T, got <-chan *events.Event, pid uint32) *events.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.PID == pid || ev.TID == pid {
				return ev
			}
		case <-deadline:
			t.Fatalf("no exec exit of %d", pid)
		}
	}
}

// TestExecPendingStaleEntries: entries whose exit never came (as a process
// killed in exec, or an exec that returns under another number, leaves
// them) cannot fill exec_pending; many failing execs leave nothing behind
// and a later execveat is still typed execveat_x by its entry.
func TestExecPendingStaleEntries(t *testing.T) {
	testenv.RequireBPF(t)
	src, got := execEvents(t)
	m := src.probe.maps.ExecPending
	// Stale entries for tgids no process has (pid_max is at most 1<<22).
	for i := range m.MaxEntries() {
		if err := m.Put(uint32(1<<30)+i, uint16(events.TypeExecveE)); err != nil {
			t.Fatalf("filling exec_pending: %v", err)
		}
	}
	// Failing execs of this process: each entry goes at its exit.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	path := cstr("/nonexistent/kd-exec-pending")
	argv := []uintptr{path, 0}
	for range 200 {
		_, _, e := syscall.RawSyscall(sysnr(t, "execve"), path, uintptr(unsafe.Pointer(&argv[0])), 0)
		if e != syscall.ENOENT {
			t.Fatalf("execve of a missing file: %v", e)
		}
	}
	self := uint32(os.Getpid())
	var v uint16
	if err := m.Lookup(self, &v); err == nil {
		t.Errorf("exec_pending keeps an entry of this process after its failed execs")
	}
	if ev := execExit(t, got, self); ev.Type != events.TypeExecveX || ev.Int(0) != -int64(syscall.ENOENT) {
		t.Errorf("failed execve: %s, want execve_x res -ENOENT", events.AppendText(nil, ev))
	}

	pid, _ := cloneExecveat(t, sysnr(t, "clone"), sysnr(t, "execveat"), "/bin/true", []string{"true"})
	ev := execExit(t, got, uint32(pid))
	if ev.Type != events.TypeExecveatX || ev.Int(0) != 0 {
		t.Errorf("execveat after stale entries: %s, want execveat_x res 0", events.AppendText(nil, ev))
	}
	if err := m.Lookup(uint32(pid), &v); err == nil {
		t.Errorf("exec_pending keeps an entry for %d after its exec and exit", pid)
	}
}

// UFFDIO ioctls (linux/userfaultfd.h) and their arguments.
const (
	uffdAPI           = 0xaa
	uffdioAPI         = 0xc018aa3f
	uffdioRegister    = 0xc020aa00
	uffdioCopy        = 0xc028aa03
	uffdRegisterModeM = 1 // UFFDIO_REGISTER_MODE_MISSING
)

// TestExecLostEntryCounted: an exec whose entry is gone by its exit (here
// deleted while the exec waits on a page fault of its path) is typed by
// its syscall number and counted in Stats().Lost.
func TestExecLostEntryCounted(t *testing.T) {
	testenv.RequireBPF(t)
	src, got := execEvents(t)
	m := src.probe.maps.ExecPending

	// The exec's path lies on a page that faults into a userfaultfd: the
	// exec blocks there, after its entry was recorded, until the page is
	// filled.
	uffd, _, e := syscall.Syscall(unix.SYS_USERFAULTFD, syscall.O_CLOEXEC, 0, 0)
	if e != 0 {
		testenv.Missing(t, "userfaultfd: %v", e)
	}
	defer syscall.Close(int(uffd))
	api := struct{ api, features, ioctls uint64 }{api: uffdAPI}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uffd, uffdioAPI, uintptr(unsafe.Pointer(&api))); e != 0 {
		t.Fatalf("UFFDIO_API: %v", e)
	}
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	addr := uintptr(unsafe.Pointer(&mem[0]))
	reg := struct{ start, len, mode, ioctls uint64 }{uint64(addr), uint64(page), uffdRegisterModeM, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uffd, uffdioRegister, uintptr(unsafe.Pointer(&reg))); e != 0 {
		t.Fatalf("UFFDIO_REGISTER: %v", e)
	}
	before, err := src.Stats()
	if err != nil {
		t.Fatal(err)
	}

	execNr := sysnr(t, "execve")
	res := make(chan syscall.Errno, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, _, e := syscall.Syscall(execNr, addr, 0, 0) // not Raw: the GC must not wait for this thread
		res <- e
	}()
	self := uint32(os.Getpid())
	var v uint16
	for deadline := time.Now().Add(10 * time.Second); m.Lookup(self, &v) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the blocked exec's entry never showed in exec_pending")
		}
	}
	if err := m.Delete(self); err != nil {
		t.Fatal(err)
	}
	fill := make([]byte, page)
	copy(fill, "/nonexistent/kd-exec-lost\x00")
	cp := struct {
		dst, src, len, mode uint64
		copied              int64
	}{uint64(addr), uint64(uintptr(unsafe.Pointer(&fill[0]))), uint64(page), 0, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uffd, uffdioCopy, uintptr(unsafe.Pointer(&cp))); e != 0 {
		t.Fatalf("UFFDIO_COPY: %v", e)
	}
	runtime.KeepAlive(fill)
	if e := <-res; e != syscall.ENOENT {
		t.Fatalf("execve of a missing file: %v", e)
	}
	if ev := execExit(t, got, self); ev.Type != events.TypeExecveX {
		t.Errorf("exec exit without its entry: %s, want execve_x (typed by number)", events.AppendText(nil, ev))
	}
	after, err := src.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Lost <= before.Lost {
		t.Errorf("Stats().Lost %d before, %d after an exec exit without its entry: not counted", before.Lost, after.Lost)
	}
}
