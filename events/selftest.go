package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SelfTestExitCode is the exit code of the self-test child.
const SelfTestExitCode = 42

// Errno values the self-test expects (same on x86_64 and aarch64).
const (
	econnrefused = 111
	oCloexec     = 0o2000000
	oAccmode     = 0o3
)

// RunSelfTestChild is the self-test child's body, run in a freshly exec'd
// process: it opens path read-only, connects a blocking TCP socket to
// 127.0.0.1:port (closed, so the connect is refused) and returns the exit
// code the caller must exit with. It uses raw syscalls so that the events
// are exactly the expected ones.
func RunSelfTestChild(path string, port int) int {
	if fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
		syscall.Close(fd)
	}
	if fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0); err == nil {
		_ = syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
		syscall.Close(fd)
	}
	return SelfTestExitCode
}

// ProcessStarter is implemented by a Source that must start the processes
// it observes itself (the userspace tracer): SelfTest then starts its child
// through Start instead of cmd.Start, and wait returns the child's exit code
// (cmd.Wait must not be called).
type ProcessStarter interface {
	Start(cmd *exec.Cmd) (pid int, wait func() (int, error), err error)
}

// SelfTestOptions configure SelfTest.
type SelfTestOptions struct {
	// Command returns the child to run: an exec of a program that calls
	// RunSelfTestChild(path, port) and exits with its result. Path and
	// Args[0] should be set; Args must include path so that the execve
	// event can be recognised.
	Command func(ctx context.Context, path string, port int) *exec.Cmd
	// Timeout bounds the whole test (default 10s).
	Timeout time.Duration
	// TempDir holds the nonce file (default os.TempDir()).
	TempDir string
	// Logger gets progress at debug level; nil: silent.
	Logger *slog.Logger
}

// Check is one expectation of the self-test.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// SelfTestResult is what the self-test saw.
type SelfTestResult struct {
	ChildPID int     `json:"child_pid"`
	Path     string  `json:"path"`
	Port     int     `json:"port"`
	Checks   []Check `json:"checks"`
	Stats    Stats   `json:"stats"`
	Passed   bool    `json:"passed"`
}

// Failed lists the names of the checks that did not pass.
func (r *SelfTestResult) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name+" ("+c.Detail+")")
		}
	}
	return out
}

// expectation is one event the child must produce.
type expectation struct {
	name  string
	types []Type
	// match reports whether ev is this expectation's event, and if so
	// whether its values are right (detail says what is wrong).
	match func(ev *Event) (mine bool, detail string)
	got   *Event
	bad   string
}

// SelfTest runs the child of opts.Command while reading src, and passes
// only if every expected event (execve enter and exit, open of the nonce
// path, refused connect, process exit with code 42) arrives with the right
// values and the driver reports no drops. Failures wrap ErrVerify.
func SelfTest(ctx context.Context, src Source, opts SelfTestOptions) (*SelfTestResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Command == nil {
		return nil, errors.New("self-test: no child command")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	f, err := os.CreateTemp(opts.TempDir, "kdriver-selftest-*")
	if err != nil {
		return nil, fmt.Errorf("self-test nonce file: %w", err)
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if path, err = filepath.Abs(path); err != nil {
		return nil, err
	}
	port, release, err := reserveClosedPort()
	if err != nil {
		return nil, err
	}
	defer release()
	res := &SelfTestResult{Path: path, Port: port}

	cmd := opts.Command(ctx, path, port)
	exe := cmd.Path
	comm := filepath.Base(exe)
	if len(comm) > CommLen-1 {
		comm = comm[:CommLen-1]
	}

	// Read concurrently so that the driver's buffers never fill while the
	// child runs; keep copies of the candidate events. The reader is
	// joined before SelfTest returns: the caller closes src next, and a
	// driver that always has an event (a busy host) never looks at ctx in
	// Next, so the loop checks it itself.
	found := make(chan *Event, 4096)
	readErr := make(chan error, 1)
	readCtx, stopRead := context.WithCancel(ctx)
	readDone := make(chan struct{})
	defer func() {
		stopRead()
		<-readDone
	}()
	go func() {
		defer close(readDone)
		for {
			if readCtx.Err() != nil {
				close(found)
				return
			}
			ev, err := src.Next(readCtx)
			if err != nil {
				if errors.Is(err, ErrMalformed) {
					readErr <- err
					return
				}
				close(found)
				return
			}
			switch ev.Type {
			case TypeExecveE, TypeExecveX, TypeExecveatE, TypeExecveatX, TypeOpenX, TypeOpenatX,
				TypeOpenat2X, TypeConnectX, TypeProcExit:
				select {
				case found <- ev.Clone():
				case <-readCtx.Done():
					close(found)
					return
				}
			}
		}
	}()

	log.Debug("self-test child", "path", exe, "nonce", path, "port", port)
	type exit struct {
		code int
		err  error
	}
	waited := make(chan exit, 1)
	var pid uint32
	if st, ok := src.(ProcessStarter); ok {
		p, wait, err := st.Start(cmd)
		if err != nil {
			return nil, fmt.Errorf("self-test child %s: %w", exe, err)
		}
		pid = uint32(p)
		go func() {
			code, err := wait()
			waited <- exit{code, err}
		}()
	} else {
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("self-test child %s: %w", exe, err)
		}
		pid = uint32(cmd.Process.Pid)
		go func() {
			err := cmd.Wait()
			waited <- exit{cmd.ProcessState.ExitCode(), err}
		}()
	}
	res.ChildPID = int(pid)

	// pid is the child's pid as the driver reports it. A driver in another
	// pid namespace than kdriver (the probe seen from a container without
	// --pid host) reports the host's pid: the exec entry that carries the
	// nonce path in its argv names it, and events read before that one are
	// replayed once it is known.
	adopted := false
	var early []*Event
	exps := expectations(&pid, exe, comm, path, port)
	pending := len(exps)
	childDone := false
	var childCheck Check
	var malformed error
loop:
	for pending > 0 || !childDone {
		select {
		case w := <-waited:
			childDone = true
			code, waitErr := w.code, w.err
			childCheck = Check{Name: "child", OK: code == SelfTestExitCode, Detail: fmt.Sprintf("exit code %d", code)}
			if code != SelfTestExitCode && waitErr != nil {
				childCheck.Detail += ": " + waitErr.Error()
			}
		case ev, ok := <-found:
			if !ok {
				break loop
			}
			batch := []*Event{ev}
			if ev.PID != pid {
				if adopted || !execCarries(ev, path) {
					if !adopted && len(early) < cap(found) {
						early = append(early, ev)
					}
					continue
				}
				log.Debug("self-test child seen under another pid", "pid", pid, "driver_pid", ev.PID)
				pid, adopted = ev.PID, true
				res.ChildPID = int(pid)
				batch = append(batch, early...)
				early = nil
			}
			for _, ev := range batch {
				if ev.PID != pid {
					continue
				}
				for _, e := range exps {
					if e.got != nil || !slices.Contains(e.types, ev.Type) {
						continue
					}
					mine, detail := e.match(ev)
					if !mine {
						continue
					}
					e.got, e.bad = ev, detail
					pending--
					break
				}
			}
		case err := <-readErr:
			malformed = err
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	if !childDone {
		childCheck = Check{Name: "child", Detail: "did not exit within " + timeout.String()}
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		<-waited
	}
	stopRead()
	<-readDone

	res.Checks = append(res.Checks, childCheck)
	for _, e := range exps {
		c := Check{Name: e.name, OK: e.got != nil && e.bad == ""}
		switch {
		case e.got == nil:
			c.Detail = "no event within " + timeout.String()
		case e.bad != "":
			c.Detail = e.bad
		default:
			c.Detail = describe(e.got)
		}
		res.Checks = append(res.Checks, c)
	}
	if malformed != nil {
		res.Checks = append(res.Checks, Check{Name: "decode", Detail: malformed.Error()})
	}
	st, err := src.Stats()
	if err != nil {
		res.Checks = append(res.Checks, Check{Name: "drops", Detail: "stats: " + err.Error()})
	} else {
		res.Stats = st
		res.Checks = append(res.Checks, Check{Name: "drops", OK: st.Drops == 0,
			Detail: fmt.Sprintf("%d drops, %d events", st.Drops, st.Events)})
	}
	res.Passed = len(res.Failed()) == 0
	if !res.Passed {
		return res, fmt.Errorf("%w: %s", ErrVerify, strings.Join(res.Failed(), "; "))
	}
	return res, nil
}

// execCarries reports whether ev is an exec entry whose argv holds path.
func execCarries(ev *Event, path string) bool {
	switch ev.Type {
	case TypeExecveE:
		return slices.Contains(ev.Args(1), path)
	case TypeExecveatE:
		return slices.Contains(ev.Args(2), path)
	}
	return false
}

// expectations are the child's events; *pid is its pid as the driver
// reports it (it may change once, see SelfTest).
func expectations(pid *uint32, exe, comm, path string, port int) []*expectation {
	wantAddr := "127.0.0.1:" + strconv.Itoa(port)
	return []*expectation{
		{name: "execve_e", types: []Type{TypeExecveE, TypeExecveatE}, match: func(ev *Event) (bool, string) {
			fi, ai := 0, 1
			if ev.Type == TypeExecveatE {
				fi, ai = 1, 2
			}
			if !slices.Contains(ev.Args(ai), path) {
				return false, ""
			}
			if got := ev.Str(fi); got != exe {
				return true, fmt.Sprintf("filename %q, want %q", got, exe)
			}
			return true, ""
		}},
		{name: "execve_x", types: []Type{TypeExecveX, TypeExecveatX}, match: func(ev *Event) (bool, string) {
			if ev.Comm != comm {
				// The exit of a failed exec keeps the parent's comm.
				return ev.Int(0) != 0, fmt.Sprintf("comm %q res %d, want %q and 0", ev.Comm, ev.Int(0), comm)
			}
			if ev.Int(0) != 0 {
				return true, fmt.Sprintf("res %d, want 0", ev.Int(0))
			}
			return true, ""
		}},
		{name: "open", types: []Type{TypeOpenX, TypeOpenatX, TypeOpenat2X}, match: func(ev *Event) (bool, string) {
			if ev.Str(2) != path {
				return false, ""
			}
			flags := uint64(ev.Int(3))
			switch {
			case ev.Int(0) < 0:
				return true, fmt.Sprintf("res %d, want a file descriptor", ev.Int(0))
			case flags&oAccmode != 0 || flags&oCloexec == 0:
				return true, fmt.Sprintf("flags %#o, want O_RDONLY|O_CLOEXEC", flags)
			case ev.Comm != comm:
				return true, fmt.Sprintf("comm %q, want %q", ev.Comm, comm)
			}
			return true, ""
		}},
		{name: "connect_x", types: []Type{TypeConnectX}, match: func(ev *Event) (bool, string) {
			addr := ""
			if len(ev.Params) > 2 && len(ev.Params[2]) > 0 {
				addr = FormatSockaddr(ev.Params[2])
			}
			if addr != wantAddr || restarted(ev.Int(0)) {
				return false, ""
			}
			if ev.Int(0) != -econnrefused {
				return true, fmt.Sprintf("res %d, want %d (ECONNREFUSED)", ev.Int(0), -econnrefused)
			}
			return true, ""
		}},
		{name: "procexit", types: []Type{TypeProcExit}, match: func(ev *Event) (bool, string) {
			if ev.TID != *pid {
				return false, ""
			}
			if ev.Int(1) != SelfTestExitCode {
				return true, fmt.Sprintf("exit_code %d (status %#x), want %d", ev.Int(1), ev.Int(0), SelfTestExitCode)
			}
			return true, ""
		}},
	}
}

// restarted reports a syscall exit that userspace never sees: a signal
// (the Go runtime's preemption SIGURG, in the child) interrupted a blocking
// call, and the kernel restarts it, so its real exit follows. Drivers see
// these codes (ERESTARTSYS 512 .. ERESTART_RESTARTBLOCK 516) at sys_exit.
func restarted(res int64) bool {
	return res <= -512 && res >= -516
}

func describe(ev *Event) string {
	return string(AppendText(nil, ev))
}

// reserveClosedPort returns a loopback TCP port that stays closed until
// release: a socket bound to it without SO_REUSEADDR and never listening.
// A connect to it is refused, and no other program can listen on it nor
// get it as an ephemeral port meanwhile (a port merely found free and let
// go could be taken by a parallel test's server before the child connects,
// and the refused connect would then succeed).
func reserveClosedPort() (port int, release func(), err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("self-test port: %w", err)
	}
	release = func() { syscall.Close(fd) }
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		release()
		return 0, nil, fmt.Errorf("self-test port: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		release()
		return 0, nil, fmt.Errorf("self-test port: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		release()
		return 0, nil, fmt.Errorf("self-test port: bound to %T", sa)
	}
	return in4.Port, release, nil
}

// Clone returns a deep copy of ev that does not alias any reader buffer.
func (e *Event) Clone() *Event {
	c := *e
	c.Params = make([][]byte, len(e.Params))
	n := 0
	for _, p := range e.Params {
		n += len(p)
	}
	buf := make([]byte, 0, n)
	for i, p := range e.Params {
		start := len(buf)
		buf = append(buf, p...)
		c.Params[i] = buf[start:len(buf):len(buf)]
	}
	return &c
}
