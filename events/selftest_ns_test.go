package events

import (
	"context"
	"encoding/binary"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nsSource plays a driver that sees the self-test child in another pid
// namespace: kdriver knows the child as pid 7, the driver reports 4242 (the
// probe read from a container without --pid host). It delivers the open
// before the exec, as merged per-CPU buffers may.
type nsSource struct {
	mu     sync.Mutex
	queue  []*Event
	path   string
	port   int
	events uint64
	// restart: the connect is first interrupted by a signal and
	// restarted (an exit with -ERESTARTSYS, then the real one).
	restart bool
}

func (s *nsSource) Start(cmd *exec.Cmd) (int, func() (int, error), error) {
	const hostPID = 4242
	comm := filepath.Base(cmd.Path)
	var enc Encoder
	add := func(typ Type, fill func(*EventBuilder)) {
		enc.Begin(uint64(time.Now().UnixNano()), hostPID, hostPID, typ, 0, comm)
		fill(enc.Params())
		ev, _, err := Decode(append([]byte(nil), enc.End()...))
		if err != nil {
			panic(err)
		}
		s.queue = append(s.queue, ev)
	}
	sa := make([]byte, 16)
	binary.LittleEndian.PutUint16(sa, 2) // AF_INET
	binary.BigEndian.PutUint16(sa[2:], uint16(s.port))
	copy(sa[4:], []byte{127, 0, 0, 1})
	s.mu.Lock()
	defer s.mu.Unlock()
	add(TypeOpenatX, func(b *EventBuilder) {
		b.Int(3).Int(-100).Str(s.path, 4096).Int(oCloexec).Int(0)
	})
	add(TypeExecveE, func(b *EventBuilder) {
		b.Str(cmd.Path, 4096).Raw([]byte(strings.Join(cmd.Args, "\x00") + "\x00"))
	})
	add(TypeExecveX, func(b *EventBuilder) { b.Int(0) })
	if s.restart {
		add(TypeConnectX, func(b *EventBuilder) { b.Int(-512).Int(3).Raw(sa) })
	}
	add(TypeConnectX, func(b *EventBuilder) { b.Int(-econnrefused).Int(3).Raw(sa) })
	add(TypeProcExit, func(b *EventBuilder) { b.Int(SelfTestExitCode << 8).Int(SelfTestExitCode).Int(0) })
	return 7, func() (int, error) { return SelfTestExitCode, nil }, nil
}

func (s *nsSource) Next(ctx context.Context) (*Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue = s.queue[1:]
			s.events++
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *nsSource) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Events: s.events}, nil
}

func (s *nsSource) Close() error { return nil }

func TestSelfTestAcrossPIDNamespaces(t *testing.T) {
	src := &nsSource{}
	res, err := SelfTest(context.Background(), src, SelfTestOptions{
		Timeout: 5 * time.Second,
		Command: func(ctx context.Context, path string, port int) *exec.Cmd {
			src.path, src.port = path, port
			return exec.CommandContext(ctx, "/usr/bin/kdriver-child", "kdriver-child", path, "1")
		},
	})
	if err != nil {
		t.Fatalf("self-test with the child under another pid: %v (%+v)", err, res)
	}
	if res.ChildPID != 4242 {
		t.Errorf("child pid %d, want the driver's 4242", res.ChildPID)
	}

	// Without an exec that carries the nonce, nothing is adopted: a driver
	// that never saw the child fails the test.
	src = &nsSource{}
	_, err = SelfTest(context.Background(), src, SelfTestOptions{
		Timeout: time.Second,
		Command: func(ctx context.Context, path string, port int) *exec.Cmd {
			src.path, src.port = path, port
			return exec.CommandContext(ctx, "/usr/bin/kdriver-child", "kdriver-child", "no-nonce-here")
		},
	})
	if !errors.Is(err, ErrVerify) {
		t.Errorf("child never recognised: err = %v, want ErrVerify", err)
	}
}

// TestSelfTestRestartedConnect: a signal interrupting the child's blocking
// connect makes the driver report an exit with -ERESTARTSYS before the
// restarted call's real one (seen with the ptrace tracer under load); the
// self-test waits for the real exit instead of failing.
func TestSelfTestRestartedConnect(t *testing.T) {
	src := &nsSource{restart: true}
	res, err := SelfTest(context.Background(), src, SelfTestOptions{
		Timeout: 5 * time.Second,
		Command: func(ctx context.Context, path string, port int) *exec.Cmd {
			src.path, src.port = path, port
			return exec.CommandContext(ctx, "/usr/bin/kdriver-child", "kdriver-child", path, "1")
		},
	})
	if err != nil {
		t.Fatalf("self-test with a restarted connect: %v (%+v)", err, res)
	}
}
