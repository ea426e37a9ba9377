package modern

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// sysnr is the number of a syscall on the running arch, from the same
// tables the probe's filter is filled from (a wrong number fails here).
func sysnr(t *testing.T, name string) uintptr {
	t.Helper()
	nr, ok := events.SyscallNumber(runningArch(), name)
	if !ok {
		t.Skipf("%s has no %s", runningArch(), name)
	}
	return uintptr(nr)
}

func cstr(s string) uintptr {
	b := append([]byte(s), 0)
	return uintptr(unsafe.Pointer(&b[0]))
}

const atFDCWD = -100

// fdcwd is AT_FDCWD as a register value (the int, zero-extended).
var fdcwd = uintptr(0xffffff9c)

// want is what one action must produce: an event of one of types from
// this process whose parameters satisfy check.
type want struct {
	types []events.Type
	check func(ev *events.Event) error
}

// TestSyscallEvents performs each captured syscall from this process and
// checks the event's parameters, read back by the probe at syscall exit.
func TestSyscallEvents(t *testing.T) {
	testenv.RequireBPF(t)
	src, err := Open(Options{BufSizePreset: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	pid := uint32(os.Getpid())

	// Collect this process's events while the actions run.
	got := make(chan *events.Event, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			ev, err := src.Next(ctx)
			if err != nil {
				close(got)
				return
			}
			// This process's events, and every process exit (rare;
			// the forked child's is among them).
			switch {
			case ev.PID == pid, ev.Type == events.TypeProcExit,
				ev.Type == events.TypeExecveatE, ev.Type == events.TypeExecveatX:
				got <- ev.Clone()
			}
		}
	}()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var wants []struct {
		name string
		w    want
	}
	add := func(name string, types []events.Type, check func(ev *events.Event) error) {
		wants = append(wants, struct {
			name string
			w    want
		}{name, want{types, check}})
	}

	// openat2 with struct open_how, then close of its fd.
	p2 := filepath.Join(dir, "openat2-file")
	if err := os.WriteFile(p2, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	how := struct{ flags, mode, resolve uint64 }{syscall.O_RDONLY | syscall.O_CLOEXEC, 0, 0}
	r, _, e := syscall.Syscall6(sysnr(t, "openat2"), fdcwd, cstr(p2), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	if e != 0 {
		t.Fatalf("openat2: %v", e)
	}
	fd := int64(r)
	add("openat2", []events.Type{events.TypeOpenat2X}, func(ev *events.Event) error {
		if ev.Str(2) != p2 {
			return errSkip
		}
		if ev.Int(0) != fd || ev.Int(1) != atFDCWD || uint64(ev.Int(3)) != how.flags || ev.Int(4) != 0 {
			return fmt.Errorf("res %d dirfd %d flags %#x mode %d; want %d -100 %#x 0", ev.Int(0), ev.Int(1), ev.Int(3), ev.Int(4), fd, how.flags)
		}
		return nil
	})
	syscall.Close(int(fd))
	add("close", []events.Type{events.TypeCloseX}, func(ev *events.Event) error {
		if ev.Int(1) != fd {
			return errSkip
		}
		if ev.Int(0) != 0 {
			return fmt.Errorf("res %d, want 0", ev.Int(0))
		}
		return nil
	})
	syscall.RawSyscall(sysnr(t, "close"), ^uintptr(0), 0, 0)
	add("close(-1)", []events.Type{events.TypeCloseX}, func(ev *events.Event) error {
		if ev.Int(1) != -1 {
			return errSkip
		}
		if ev.Int(0) != -int64(syscall.EBADF) {
			return fmt.Errorf("res %d, want -EBADF", ev.Int(0))
		}
		return nil
	})

	// renameat2 with RENAME_NOREPLACE, then unlinkat of the new name and
	// of a directory (AT_REMOVEDIR).
	newp := filepath.Join(dir, "renamed")
	if _, _, e := syscall.Syscall6(sysnr(t, "renameat2"), fdcwd, cstr(p2), fdcwd, cstr(newp), 1, 0); e != 0 {
		t.Fatalf("renameat2: %v", e)
	}
	add("renameat2", []events.Type{events.TypeRenameat2X}, func(ev *events.Event) error {
		if ev.Str(2) != p2 {
			return errSkip
		}
		if ev.Int(0) != 0 || ev.Int(1) != atFDCWD || ev.Int(3) != atFDCWD || ev.Str(4) != newp || ev.Int(5) != 1 {
			return fmt.Errorf("res %d olddirfd %d newdirfd %d newpath %q flags %d", ev.Int(0), ev.Int(1), ev.Int(3), ev.Str(4), ev.Int(5))
		}
		return nil
	})
	if err := syscall.Unlink(newp); err != nil {
		t.Fatal(err)
	}
	add("unlinkat", []events.Type{events.TypeUnlinkatX}, func(ev *events.Event) error {
		if ev.Str(2) != newp {
			return errSkip
		}
		if ev.Int(0) != 0 || ev.Int(1) != atFDCWD || ev.Int(3) != 0 {
			return fmt.Errorf("res %d dirfd %d flags %#x", ev.Int(0), ev.Int(1), ev.Int(3))
		}
		return nil
	})
	sub := filepath.Join(dir, "subdir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Rmdir(sub); err != nil {
		t.Fatal(err)
	}
	add("unlinkat(AT_REMOVEDIR)", []events.Type{events.TypeUnlinkatX}, func(ev *events.Event) error {
		if ev.Str(2) != sub {
			return errSkip
		}
		if ev.Int(0) != 0 || ev.Int(3) != 0x200 {
			return fmt.Errorf("res %d flags %#x, want 0 and AT_REMOVEDIR", ev.Int(0), ev.Int(3))
		}
		return nil
	})

	// accept4 and accept on a loopback listener: the peer address comes back.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File() // a blocking dup of the socket
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	lfd := int(lf.Fd())
	for i, name := range []string{"accept4", "accept"} {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		peer := c.LocalAddr().String()
		var sa [16]byte
		salen := uint32(len(sa))
		var r uintptr
		var e syscall.Errno
		if i == 0 {
			r, _, e = syscall.Syscall6(sysnr(t, name), uintptr(lfd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)), syscall.SOCK_CLOEXEC, 0, 0)
		} else {
			r, _, e = syscall.Syscall(sysnr(t, name), uintptr(lfd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
		}
		if e != 0 {
			t.Fatalf("%s: %v", name, e)
		}
		syscall.Close(int(r))
		typ, flags, res := events.TypeAccept4X, int64(syscall.SOCK_CLOEXEC), int64(r)
		if i == 1 {
			typ, flags = events.TypeAcceptX, 0
		}
		add(name, []events.Type{typ}, func(ev *events.Event) error {
			if ev.Int(0) != res {
				return errSkip
			}
			addr := ""
			if len(ev.Params[2]) > 0 {
				addr = events.FormatSockaddr(ev.Params[2])
			}
			if ev.Int(1) != int64(lfd) || addr != peer || ev.Int(3) != flags {
				return fmt.Errorf("fd %d addr %q flags %#x; want %d %q %#x", ev.Int(1), addr, ev.Int(3), lfd, peer, flags)
			}
			return nil
		})
	}

	// clone or clone3 (what os/exec uses): the parent's exit has the
	// child's pid and CLONE_VM|CLONE_VFORK.
	cmd := execTrue(t)
	child := int64(cmd.Process.Pid)
	add("clone", []events.Type{events.TypeCloneX, events.TypeClone3X}, func(ev *events.Event) error {
		if ev.Int(0) != child {
			return errSkip
		}
		const cloneVM, cloneVfork = 0x100, 0x4000
		if f := uint64(ev.Int(1)); f&(cloneVM|cloneVfork) != cloneVM|cloneVfork {
			return fmt.Errorf("%s flags %#x, want CLONE_VM|CLONE_VFORK", ev.Type, f)
		}
		return nil
	})

	// open (x86_64 only; aarch64 has none): dirfd is AT_FDCWD.
	if nr, ok := events.SyscallNumber(runningArch(), "open"); ok {
		r, _, e := syscall.Syscall(uintptr(nr), cstr(p2+"-missing"), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if e != syscall.ENOENT {
			t.Fatalf("open of a missing file: %d %v", r, e)
		}
		add("open", []events.Type{events.TypeOpenX}, func(ev *events.Event) error {
			if ev.Str(2) != p2+"-missing" {
				return errSkip
			}
			if ev.Int(0) != -int64(syscall.ENOENT) || ev.Int(1) != atFDCWD || ev.Int(3) != syscall.O_CLOEXEC {
				return fmt.Errorf("res %d dirfd %d flags %#x; want -ENOENT -100 O_CLOEXEC", ev.Int(0), ev.Int(1), ev.Int(3))
			}
			return nil
		})
	}

	// fork (x86_64 only): the parent's fork_x has the child's pid, the
	// child's procexit its exit code.
	if nr, ok := events.SyscallNumber(runningArch(), "fork"); ok {
		fchild := forkExit(t, uintptr(nr), 7)
		add("fork", []events.Type{events.TypeForkX}, func(ev *events.Event) error {
			if ev.Int(0) != int64(fchild) {
				return errSkip
			}
			return nil
		})
		add("procexit", []events.Type{events.TypeProcExit}, func(ev *events.Event) error {
			if ev.TID != uint32(fchild) {
				return errSkip
			}
			if ev.PID != uint32(fchild) || ev.Int(1) != 7 || ev.Int(2) != 0 {
				return fmt.Errorf("pid %d exit_code %d signal %d; want %d 7 0", ev.PID, ev.Int(1), ev.Int(2), fchild)
			}
			return nil
		})
	}

	// execveat from a child made with clone(SIGCHLD) (fork on every arch):
	// the entry has dirfd, filename, argv and flags, the exit res 0 and the
	// new program's comm.
	// The child runs this test binary again, with no test to run: it
	// exists on every machine and guest that runs this test.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	selfComm := filepath.Base(self)
	if len(selfComm) > events.CommLen-1 {
		selfComm = selfComm[:events.CommLen-1]
	}
	echild, cloneFlags := cloneExecveat(t, sysnr(t, "clone"), sysnr(t, "execveat"), self, []string{"modern.test", "-test.list=^$"})
	add("clone(SIGCHLD)", []events.Type{events.TypeCloneX}, func(ev *events.Event) error {
		if ev.Int(0) != int64(echild) {
			return errSkip
		}
		if uint64(ev.Int(1)) != cloneFlags {
			return fmt.Errorf("flags %#x, want %#x", ev.Int(1), cloneFlags)
		}
		return nil
	})
	add("execveat_e", []events.Type{events.TypeExecveatE}, func(ev *events.Event) error {
		if ev.PID != uint32(echild) {
			return errSkip
		}
		argv := ev.Args(2)
		if ev.Int(0) != atFDCWD || ev.Str(1) != self || len(argv) != 2 || argv[1] != "-test.list=^$" || ev.Int(3) != 0 {
			return fmt.Errorf("dirfd %d filename %q argv %q flags %d", ev.Int(0), ev.Str(1), argv, ev.Int(3))
		}
		return nil
	})
	add("execveat_x", []events.Type{events.TypeExecveatX}, func(ev *events.Event) error {
		if ev.PID != uint32(echild) {
			return errSkip
		}
		if ev.Int(0) != 0 || ev.Comm != selfComm {
			return fmt.Errorf("res %d comm %q, want 0 and %q", ev.Int(0), ev.Comm, selfComm)
		}
		return nil
	})

	// Wait for every expectation (events arrive within the reader's poll).
	deadline := time.After(10 * time.Second)
	done := make([]bool, len(wants))
	left := len(wants)
	for left > 0 {
		select {
		case ev, ok := <-got:
			if !ok {
				t.Fatal("source closed")
			}
			for i, w := range wants {
				if done[i] || !containsType(w.w.types, ev.Type) {
					continue
				}
				err := w.w.check(ev)
				if err == errSkip {
					continue
				}
				if err != nil {
					t.Errorf("%s: %v (%s)", w.name, err, events.AppendText(nil, ev))
				}
				done[i] = true
				left--
				break
			}
		case <-deadline:
			for i, w := range wants {
				if !done[i] {
					t.Errorf("%s: no event", w.name)
				}
			}
			return
		}
	}
	if st, err := src.Stats(); err != nil || st.Drops != 0 {
		t.Errorf("stats %+v, %v: want no drops", st, err)
	}
}

type skipErr struct{}

func (skipErr) Error() string { return "not this event" }

var errSkip error = skipErr{}

func containsType(ts []events.Type, t events.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// forkExit forks with the raw syscall; the child exits with code at once,
// touching nothing of the Go runtime. The parent reaps it.
func forkExit(t *testing.T, nr uintptr, code int) int {
	t.Helper()
	r, _, e := syscall.RawSyscall(nr, 0, 0, 0)
	if e != 0 {
		t.Fatalf("fork: %v", e)
	}
	if r == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, uintptr(code), 0, 0)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(int(r), &ws, 0, nil); err != nil || ws.ExitStatus() != code {
		t.Fatalf("fork child: %v, status %v", err, ws)
	}
	return int(r)
}

// cloneExecveat clones a child (SIGCHLD only, like fork) that execveats
// path with argv at once; everything it needs is prepared before. It
// returns the child's pid and the clone flags used.
func cloneExecveat(t *testing.T, cloneNr, execNr uintptr, path string, argv []string) (int, uint64) {
	t.Helper()
	p := cstr(path)
	ptrs := make([]uintptr, len(argv)+1)
	for i, a := range argv {
		ptrs[i] = cstr(a)
	}
	envp := []uintptr{0}
	const flags = uint64(syscall.SIGCHLD)
	r, _, e := syscall.RawSyscall6(cloneNr, uintptr(flags), 0, 0, 0, 0, 0)
	if e != 0 {
		t.Fatalf("clone: %v", e)
	}
	if r == 0 {
		syscall.RawSyscall6(execNr, fdcwd, p, uintptr(unsafe.Pointer(&ptrs[0])), uintptr(unsafe.Pointer(&envp[0])), 0, 0)
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(int(r), &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Fatalf("execveat child: %v, status %v", err, ws)
	}
	runtime.KeepAlive(ptrs)
	return int(r), flags
}

func execTrue(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
