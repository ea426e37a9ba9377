// Package userspace is the userspace driver: it traces a process tree with
// ptrace and emits the same events, in the same wire format, as the kernel
// drivers, so that the same reader, rendering and self-test apply.
//
// Every ptrace call is made from one goroutine locked to its OS thread (the
// tracer): the kernel ties a tracee to the thread that attached it.
package userspace

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrAttach is returned when a process cannot be traced (ptrace refused).
var ErrAttach = errors.New("ptrace attach")

// Options configure a Source.
type Options struct {
	// Arch selects the syscall table (default: runtime.GOARCH).
	Arch string
	// Types are the event types to emit (default: all).
	Types []events.Type
	// EndWhenDone makes Next return io.EOF once every traced process has
	// exited (after at least one was traced), as for `kdriver trace`.
	EndWhenDone bool
	// Logger receives debug messages; nil: silent.
	Logger *slog.Logger
}

// Source traces processes and streams their events. It implements
// events.Source.
//
// It drops no event while it runs: a tracee stays stopped until its event
// has been handed over, so a slow reader slows the traced processes down
// instead. Only Close drops: an event the tracer still has to hand over
// then (its buffer is full, nobody reads) is counted in Stats().Drops.
type Source struct {
	log    *slog.Logger
	reqs   chan request
	evs    chan []byte
	done   chan struct{} // closed by Close
	ended  chan struct{} // closed when the tracer goroutine returns
	nevent atomic.Uint64
	ndrop  atomic.Uint64
	once   sync.Once
	mu     sync.Mutex
	kill   map[int]bool // processes started by Start and still running
	ev     events.Event

	auditArch uint32 // syscalls of another ABI (32-bit x86) are not reported

	// owned by the tracer goroutine
	enter     map[int]events.FilterEntry
	exit      map[int]events.FilterEntry
	procexit  bool
	end       bool
	tracees   map[int]*tracee
	started   map[int]chan int // pid started by Start → its exit status
	traced    bool
	enc       events.Encoder
	closeSeen bool
}

type tracee struct {
	pid    int // thread group id
	inCall bool
	nr     int
	args   [6]uint64
	fresh  bool // attached by a fork/clone event; first SIGSTOP is ours
	// stopSent: Close sent this (not seized) thread a SIGSTOP to detach at.
	stopSent bool
	argv     []byte
	fname    string
	comm     string // read at the exit stop, for the procexit event
}

type request struct {
	cmd   *exec.Cmd
	pid   int
	reply chan reply
}

type reply struct {
	status chan int
	err    error
}

// New starts the tracer. It traces nothing until Start or Attach.
func New(opts Options) (*Source, error) {
	arch := opts.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	a, err := kernelrelease.ParseArch(arch)
	if err != nil {
		return nil, err
	}
	filter, err := events.Filter(a, opts.Types)
	if err != nil {
		return nil, err
	}
	s := &Source{
		auditArch: map[kernelrelease.Arch]uint32{kernelrelease.ArchX86_64: unix.AUDIT_ARCH_X86_64, kernelrelease.ArchAarch64: unix.AUDIT_ARCH_AARCH64}[a],
		log:       opts.Logger,
		reqs:      make(chan request),
		evs:       make(chan []byte, 256),
		done:      make(chan struct{}),
		ended:     make(chan struct{}),
		enter:     map[int]events.FilterEntry{},
		exit:      map[int]events.FilterEntry{},
		tracees:   map[int]*tracee{},
		started:   map[int]chan int{},
		kill:      map[int]bool{},
		end:       opts.EndWhenDone,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, e := range filter {
		if e.Enter != events.TypeUnknown {
			s.enter[e.Nr] = e
		}
		if e.Exit != events.TypeUnknown {
			s.exit[e.Nr] = e
		}
	}
	s.procexit = len(opts.Types) == 0
	for _, t := range opts.Types {
		if t == events.TypeProcExit {
			s.procexit = true
		}
	}
	go s.run()
	return s, nil
}

// Start starts cmd traced from its first instruction (its Path and Args are
// reported as the execve enter event, since the exec happens before the
// tracer can stop it). Do not call cmd.Wait: the tracer reaps the process;
// wait returns its exit code (128+signal when killed by a signal).
func (s *Source) Start(cmd *exec.Cmd) (pid int, wait func() (int, error), err error) {
	r, err := s.request(request{cmd: cmd})
	if err != nil {
		return 0, nil, err
	}
	pid = cmd.Process.Pid
	wait = func() (int, error) {
		select {
		case st := <-r.status:
			_ = cmd.Process.Release()
			return st, nil
		case <-s.ended:
		}
		select { // the tracer may have ended right after the exit
		case st := <-r.status:
			_ = cmd.Process.Release()
			return st, nil
		default:
			return -1, events.ErrClosed
		}
	}
	return pid, wait, nil
}

// Attach traces the running process pid (every thread) and its future
// children. A process that is a child of the calling process is reaped by
// the tracer when it exits (its own Wait then fails).
func (s *Source) Attach(pid int) error {
	_, err := s.request(request{pid: pid})
	return err
}

func (s *Source) request(r request) (reply, error) {
	r.reply = make(chan reply, 1)
	select {
	case s.reqs <- r:
	case <-s.ended:
		return reply{}, events.ErrClosed
	}
	rep := <-r.reply
	return rep, rep.err
}

// Next returns the next event of the traced processes.
func (s *Source) Next(ctx context.Context) (*events.Event, error) {
	if s.closed() {
		return nil, events.ErrClosed
	}
	select {
	case b, ok := <-s.evs:
		if !ok {
			select {
			case <-s.done:
				return nil, events.ErrClosed
			default:
				return nil, io.EOF
			}
		}
		if _, err := events.DecodeInto(&s.ev, b); err != nil {
			return nil, err
		}
		return &s.ev, nil
	case <-s.done:
		return nil, events.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stats counts the events emitted and those dropped at Close (see Source).
func (s *Source) Stats() (events.Stats, error) {
	return events.Stats{Events: s.nevent.Load(), Drops: s.ndrop.Load()}, nil
}

// closeWait bounds how long Close waits for the tracer to let go of its
// tracees (a tracee in uninterruptible sleep stops only when it wakes).
const closeWait = 5 * time.Second

// Close stops tracing: processes started by Start are killed, attached
// ones are detached at their next stop, with no stop left pending, and run
// on. It waits (up to closeWait) until the tracer has let go of them all.
func (s *Source) Close() error {
	s.once.Do(func() {
		close(s.done)
		// Kill now: the tracer may be blocked waiting for them.
		s.mu.Lock()
		for pid := range s.kill {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		s.mu.Unlock()
	})
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-s.ended:
	case <-t.C:
		s.log.Debug("tracer still detaching after Close", "wait", closeWait)
	}
	return nil
}

func (s *Source) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// emit hands an event to Next; the tracee waits meanwhile.
func (s *Source) emit(b []byte) {
	cp := append([]byte(nil), b...)
	select {
	case s.evs <- cp:
		s.nevent.Add(1)
	case <-s.done:
		s.ndrop.Add(1)
	}
}

const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACEEXIT

func (s *Source) run() {
	runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
	defer close(s.ended)
	defer close(s.evs)
	for {
		if s.closed() && !s.closeSeen {
			s.closeSeen = true
			for pid := range s.started {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			for tid := range s.tracees {
				// Attached (seized) tracees: a ptrace-only stop to detach
				// at. Never a real SIGSTOP: one still pending at the detach
				// would stop the process for good.
				if _, mine := s.started[s.tgid(tid)]; mine {
					continue
				}
				if err := unix.PtraceInterrupt(tid); err != nil {
					// Not seized (a child of a started command): a
					// thread-directed SIGSTOP, swallowed at its delivery
					// stop, where the detach happens (see resume).
					t := s.tracees[tid]
					if unix.Tgkill(t.pid, tid, unix.SIGSTOP) == nil {
						t.stopSent = true
					}
				}
			}
		}
		if len(s.tracees) == 0 {
			if s.closed() || (s.end && s.traced) {
				return
			}
			select {
			case r := <-s.reqs:
				s.serve(r)
			case <-s.done:
			}
			continue
		}
		select {
		case r := <-s.reqs:
			s.serve(r)
			continue
		default:
		}
		var ws unix.WaitStatus
		// __WNOTHREAD: only this thread's tracees and children, never a
		// child another goroutine started and waits for.
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			s.log.Debug("wait4", "err", err)
			clear(s.tracees)
			continue
		}
		s.handle(tid, ws)
	}
}

func (s *Source) serve(r request) {
	if r.cmd != nil {
		if r.cmd.SysProcAttr == nil {
			r.cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		r.cmd.SysProcAttr.Ptrace = true
		if err := r.cmd.Start(); err != nil {
			r.reply <- reply{err: err}
			return
		}
		pid := r.cmd.Process.Pid
		st := make(chan int, 1)
		s.started[pid] = st
		s.mu.Lock()
		s.kill[pid] = true
		s.mu.Unlock()
		s.tracees[pid] = &tracee{pid: pid, fname: r.cmd.Path, argv: joinArgs(r.cmd.Args), fresh: false}
		s.traced = true
		r.reply <- reply{status: st}
		return
	}
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(r.pid) + "/task")
	if err != nil {
		r.reply <- reply{err: fmt.Errorf("process %d: %w", r.pid, err)}
		return
	}
	n := 0
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// Options go with the seize: PTRACE_SETOPTIONS needs a stopped tracee.
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, ptraceOptions, 0, 0); e != 0 {
			err := error(e)
			if n == 0 {
				r.reply <- reply{err: fmt.Errorf("process %d: %w: %w (ptrace refused: another user's process needs root or CAP_SYS_PTRACE, Yama ptrace_scope 3 forbids it, kernel threads cannot be traced)", r.pid, ErrAttach, err)}
				return
			}
			continue
		}
		_ = unix.PtraceInterrupt(tid)
		s.tracees[tid] = &tracee{pid: r.pid, fresh: true}
		n++
	}
	s.traced = true
	r.reply <- reply{}
}

func joinArgs(args []string) []byte {
	var b []byte
	for _, a := range args {
		b = append(b, a...)
		b = append(b, 0)
	}
	return b
}

func (s *Source) resume(tid, sig int) {
	if s.closeSeen {
		if _, mine := s.started[s.tgid(tid)]; !mine {
			if t := s.tracees[tid]; t != nil && t.stopSent {
				if sig != int(unix.SIGSTOP) {
					_ = unix.PtraceSyscall(tid, sig) // on to our SIGSTOP
					return
				}
				sig = 0 // ours: the detach swallows it
			}
			// A signal being delivered goes along with the detach, so
			// that closing never swallows one.
			_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tid), 0, uintptr(sig), 0, 0)
			delete(s.tracees, tid)
			return
		}
	}
	_ = unix.PtraceSyscall(tid, sig)
}

func (s *Source) tgid(tid int) int {
	if t := s.tracees[tid]; t != nil {
		return t.pid
	}
	return tid
}

func (s *Source) handle(tid int, ws unix.WaitStatus) {
	t := s.tracees[tid]
	if ws.Exited() || ws.Signaled() {
		if t == nil {
			return
		}
		delete(s.tracees, tid)
		code := ws.ExitStatus()
		sig := 0
		if ws.Signaled() {
			sig = int(ws.Signal())
			code = 128 + sig
		}
		if s.procexit {
			// The kernel drivers' definition (docs/events.md), from the
			// same status word: exit_code is 0, not -1, after a signal.
			s.begin(tid, t.pid, events.TypeProcExit, t.comm)
			s.enc.Params().Int(int64(ws)).Int(int64(ws>>8) & 0xff).Int(int64(ws) & 0x7f)
			s.emit(s.enc.End())
		}
		if ch, ok := s.started[tid]; ok {
			ch <- code
			delete(s.started, tid)
			s.mu.Lock()
			delete(s.kill, tid)
			s.mu.Unlock()
		}
		return
	}
	if !ws.Stopped() {
		return
	}
	if t == nil {
		// A new thread or child reported before its parent's event.
		t = &tracee{pid: tid, fresh: true}
		if pid, err := tgidOf(tid); err == nil {
			t.pid = pid
		}
		s.tracees[tid] = t
	}
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP|0x80:
		s.syscallStop(tid, t)
		s.resume(tid, 0)
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		switch ws.TrapCause() {
		case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
			msg, err := unix.PtraceGetEventMsg(tid)
			if err == nil {
				child := int(msg)
				if _, ok := s.tracees[child]; !ok {
					pid := child
					if ws.TrapCause() == unix.PTRACE_EVENT_CLONE {
						if p, err := tgidOf(child); err == nil {
							pid = p
						}
					}
					s.tracees[child] = &tracee{pid: pid, fresh: true}
				}
			}
		case unix.PTRACE_EVENT_EXEC:
			// A non-leader thread's exec takes over the leader's id.
			if old, err := unix.PtraceGetEventMsg(tid); err == nil && int(old) != tid {
				delete(s.tracees, int(old))
			}
			t.pid = tid
		case unix.PTRACE_EVENT_STOP:
			t.fresh = false
		case unix.PTRACE_EVENT_EXIT:
			t.comm = commOf(tid) // gone once the exit is reported
		}
		s.resume(tid, 0)
	case sig == unix.SIGTRAP && t.argv != nil:
		// First stop of a process started by Start: right after its exec.
		_ = unix.PtraceSetOptions(tid, ptraceOptions)
		s.initialExec(tid, t)
		t.argv = nil
		s.resume(tid, 0)
	case int(ws)>>16 == unix.PTRACE_EVENT_STOP:
		// A group-stop of an attached (seized) process: let it run on
		// rather than re-inject the stop signal (job control is not kept).
		s.resume(tid, 0)
	case sig == unix.SIGSTOP && t.fresh:
		t.fresh = false
		s.resume(tid, 0)
	default:
		// Signal delivery: pass it on. A group-stop has no siginfo.
		var info [128]byte
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0,
			uintptr(unsafe.Pointer(&info[0])), 0, 0); e != 0 {
			s.resume(tid, 0)
			return
		}
		s.resume(tid, int(sig))
	}
}

func (s *Source) initialExec(tid int, t *tracee) {
	comm := commOf(tid)
	if s.wants(events.TypeExecveE) {
		s.begin(tid, t.pid, events.TypeExecveE, comm)
		s.enc.Params().Str(t.fname, 4096).Raw(t.argv)
		s.emit(s.enc.End())
	}
	if s.wants(events.TypeExecveX) {
		s.begin(tid, t.pid, events.TypeExecveX, comm)
		s.enc.Params().Int(0)
		s.emit(s.enc.End())
	}
}

func (s *Source) wants(typ events.Type) bool {
	for _, e := range s.enter {
		if e.Enter == typ {
			return true
		}
	}
	for _, e := range s.exit {
		if e.Exit == typ {
			return true
		}
	}
	return false
}

func (s *Source) begin(tid, pid int, typ events.Type, comm string) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	s.enc.Begin(uint64(ts.Nano()), uint32(tid), uint32(pid), typ, 0, comm)
}

func commOf(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func tgidOf(tid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no Tgid")
}

// syscallInfo is struct ptrace_syscall_info (linux/ptrace.h).
type syscallInfo struct {
	Op   uint8
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	// entry: nr, args[6]; exit: rval (s64), is_error (u8)
	Data [7]uint64
	_    uint64
}

const (
	ptraceGetSyscallInfo = 0x420e
	syscallInfoEntry     = 1
	syscallInfoExit      = 2
)

func getSyscallInfo(tid int) (syscallInfo, error) {
	var si syscallInfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, ptraceGetSyscallInfo, uintptr(tid),
		unsafe.Sizeof(si), uintptr(unsafe.Pointer(&si)), 0, 0)
	if e != 0 {
		return si, e
	}
	return si, nil
}

func (s *Source) syscallStop(tid int, t *tracee) {
	si, err := getSyscallInfo(tid)
	if err != nil {
		s.log.Debug("PTRACE_GET_SYSCALL_INFO", "tid", tid, "err", err)
		return
	}
	if si.Arch != s.auditArch {
		t.inCall = false // a compat syscall: its numbers are another table's
		return
	}
	switch si.Op {
	case syscallInfoEntry:
		t.inCall = true
		t.nr = int(si.Data[0])
		copy(t.args[:], si.Data[1:7])
		if e, ok := s.enter[t.nr]; ok {
			s.enterEvent(tid, t, e.Enter)
		}
	case syscallInfoExit:
		if !t.inCall {
			return
		}
		t.inCall = false
		if e, ok := s.exit[t.nr]; ok {
			s.exitEvent(tid, t, e.Exit, int64(si.Data[0]))
		}
	}
}

const maxPath = 4096

func (s *Source) enterEvent(tid int, t *tracee, typ events.Type) {
	a := t.args
	s.begin(tid, t.pid, typ, commOf(tid))
	p := s.enc.Params()
	switch typ {
	case events.TypeExecveE:
		p.Raw(readStr(tid, a[0])).Raw(readArgv(tid, a[1]))
	case events.TypeExecveatE:
		p.Int(int64(int32(a[0]))).Raw(readStr(tid, a[1])).Raw(readArgv(tid, a[2])).Int(int64(a[4]))
	default:
		return
	}
	s.emit(s.enc.End())
}

func (s *Source) exitEvent(tid int, t *tracee, typ events.Type, res int64) {
	a := t.args
	s.begin(tid, t.pid, typ, commOf(tid))
	p := s.enc.Params()
	switch typ {
	case events.TypeExecveX, events.TypeExecveatX:
		p.Int(res)
	case events.TypeOpenX:
		p.Int(res).Int(-100).Raw(readStr(tid, a[0])).Int(int64(a[1])).Int(int64(a[2]))
	case events.TypeOpenatX:
		p.Int(res).Int(int64(int32(a[0]))).Raw(readStr(tid, a[1])).Int(int64(a[2])).Int(int64(a[3]))
	case events.TypeOpenat2X:
		// struct open_how { u64 flags; u64 mode; u64 resolve; }
		how := readMem(tid, a[2], 16)
		var flags, mode uint64
		if len(how) == 16 {
			flags, mode = binary.LittleEndian.Uint64(how), binary.LittleEndian.Uint64(how[8:])
		}
		p.Int(res).Int(int64(int32(a[0]))).Raw(readStr(tid, a[1])).Int(int64(flags)).Int(int64(mode))
	case events.TypeConnectX:
		p.Int(res).Int(int64(int32(a[0]))).Raw(readMem(tid, a[1], min(int(a[2]), 128)))
	case events.TypeAcceptX, events.TypeAccept4X:
		var addr []byte
		if res >= 0 && a[1] != 0 && a[2] != 0 {
			if l := readMem(tid, a[2], 4); len(l) == 4 {
				addr = readMem(tid, a[1], min(int(binary.LittleEndian.Uint32(l)), 128))
			}
		}
		flags := int64(0)
		if typ == events.TypeAccept4X {
			flags = int64(a[3])
		}
		p.Int(res).Int(int64(int32(a[0]))).Raw(addr).Int(flags)
	case events.TypeCloneX:
		p.Int(res).Int(int64(a[0]))
	case events.TypeForkX, events.TypeVforkX:
		p.Int(res).Int(0) // no flags argument
	case events.TypeClone3X:
		// struct clone_args starts with u64 flags.
		var flags uint64
		if b := readMem(tid, a[0], 8); len(b) == 8 {
			flags = binary.LittleEndian.Uint64(b)
		}
		p.Int(res).Int(int64(flags))
	case events.TypeCloseX:
		p.Int(res).Int(int64(int32(a[0])))
	case events.TypeUnlinkatX:
		p.Int(res).Int(int64(int32(a[0]))).Raw(readStr(tid, a[1])).Int(int64(a[2]))
	case events.TypeRenameat2X:
		p.Int(res).Int(int64(int32(a[0]))).Raw(readStr(tid, a[1])).Int(int64(int32(a[2]))).Raw(readStr(tid, a[3])).Int(int64(a[4]))
	default:
		return
	}
	s.emit(s.enc.End())
}

// readMem reads n bytes of the tracee at addr; nil when unreadable.
func readMem(tid int, addr uint64, n int) []byte {
	if addr == 0 || n <= 0 {
		return nil
	}
	b := make([]byte, n)
	got, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &b[0], Len: uint64(n)}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: n}}, 0)
	if err != nil || got <= 0 {
		// Fallback for a process_vm_readv refused (e.g. by an LSM).
		got, err = unix.PtracePeekData(tid, uintptr(addr), b)
		if err != nil || got <= 0 {
			return nil
		}
	}
	return b[:got]
}

// readStr reads a NUL-terminated string (up to maxPath bytes, NUL kept);
// nil (the "unavailable" encoding) when unreadable.
func readStr(tid int, addr uint64) []byte {
	if addr == 0 {
		return nil
	}
	var out []byte
	for len(out) < maxPath {
		// Read up to the end of the page so as not to cross into an
		// unmapped one.
		n := 4096 - int(addr%4096)
		chunk := readMem(tid, addr, n)
		if len(chunk) == 0 {
			return nil
		}
		if i := indexZero(chunk); i >= 0 {
			return append(out, chunk[:i+1]...)
		}
		out = append(out, chunk...)
		addr += uint64(len(chunk))
	}
	out = append(out[:maxPath-1], 0)
	return out
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// readArgv reads a NULL-terminated array of string pointers as
// NUL-separated strings (the KindArgs encoding), at most 64 args, 4 KiB.
func readArgv(tid int, addr uint64) []byte {
	var out []byte
	for i := 0; i < 64 && addr != 0; i++ {
		pb := readMem(tid, addr+uint64(8*i), 8)
		if len(pb) != 8 {
			break
		}
		p := binary.LittleEndian.Uint64(pb)
		if p == 0 {
			break
		}
		str := readStr(tid, p)
		if str == nil || len(out)+len(str) > maxPath {
			break
		}
		out = append(out, str...)
	}
	return out
}
