package userspace_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/userspace"
)

// collect starts cmd under a fresh source and returns every event and the
// command's exit code.
func collect(t *testing.T, cmd *exec.Cmd) ([]*events.Event, int, uint32) {
	t.Helper()
	src, err := userspace.New(userspace.Options{EndWhenDone: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pid, wait, err := src.Start(cmd)
	if err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var evs []*events.Event
	for {
		ev, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		evs = append(evs, ev.Clone())
	}
	code, err := wait()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	st, _ := src.Stats()
	if st.Drops != 0 || st.Events != uint64(len(evs)) {
		t.Errorf("stats = %+v, want %d events and no drops", st, len(evs))
	}
	return evs, code, uint32(pid)
}

func TestTraceShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", "cat /etc/hostname >/dev/null; exit 3")
	evs, code, shPID := collect(t, cmd)
	if code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	for _, ev := range evs {
		t.Log(string(events.AppendText(nil, ev)))
	}

	find := func(t *testing.T, name string, ok func(*events.Event) bool) *events.Event {
		t.Helper()
		for _, ev := range evs {
			if ok(ev) {
				return ev
			}
		}
		t.Errorf("no %s event", name)
		return nil
	}
	tests := []struct {
		name string
		ok   func(*events.Event) bool
	}{
		{"execve_e of sh with argv", func(ev *events.Event) bool {
			return ev.Type == events.TypeExecveE && ev.PID == shPID && ev.Str(0) == sh &&
				slices.Equal(ev.Args(1), []string{sh, "-c", "cat /etc/hostname >/dev/null; exit 3"})
		}},
		{"execve_e of cat", func(ev *events.Event) bool {
			return ev.Type == events.TypeExecveE && ev.PID != shPID && slices.Equal(ev.Args(1), []string{"cat", "/etc/hostname"})
		}},
		{"execve_x of cat", func(ev *events.Event) bool {
			return ev.Type == events.TypeExecveX && ev.Comm == "cat" && ev.Int(0) == 0
		}},
		{"fork or clone of sh", func(ev *events.Event) bool {
			switch ev.Type {
			case events.TypeCloneX, events.TypeClone3X, events.TypeForkX, events.TypeVforkX:
				return ev.PID == shPID && ev.Int(0) > 0
			}
			return false
		}},
		{"openat of /etc/hostname", func(ev *events.Event) bool {
			return ev.Type == events.TypeOpenatX && ev.Comm == "cat" && ev.Str(2) == "/etc/hostname" &&
				ev.Int(0) >= 0 && ev.Int(3)&0o3 == int64(os.O_RDONLY)
		}},
		{"procexit of sh with code 3", func(ev *events.Event) bool {
			return ev.Type == events.TypeProcExit && ev.TID == shPID && ev.Comm == "sh" && ev.Int(1) == 3 && ev.Int(2) == 0
		}},
		{"procexit of cat with code 0", func(ev *events.Event) bool {
			return ev.Type == events.TypeProcExit && ev.PID != shPID && ev.Comm == "cat" && ev.Int(1) == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { find(t, tt.name, tt.ok) })
	}
}

func TestTraceSignalExit(t *testing.T) {
	evs, code, pid := collect(t, exec.Command("sh", "-c", "kill -9 $$"))
	if code != 128+9 {
		t.Errorf("exit code = %d, want 137", code)
	}
	// procexit as every driver writes it (docs/events.md): exit_code is
	// (status >> 8) & 0xff, 0 after a signal; signal is status & 0x7f.
	for _, ev := range evs {
		if ev.Type != events.TypeProcExit || ev.TID != pid {
			continue
		}
		if ev.Int(0)&0x7f != 9 || ev.Int(1) != 0 || ev.Int(2) != 9 {
			t.Errorf("procexit status %#x exit_code %d signal %d, want 0x9, 0, 9", ev.Int(0), ev.Int(1), ev.Int(2))
		}
		return
	}
	t.Errorf("no procexit of %d", pid)
}

// TestCloseCountsDrops: an event the tracer cannot hand over when the
// source is closed (nobody reads, its buffer is full) is a drop.
func TestCloseCountsDrops(t *testing.T) {
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Opens and closes without end; nobody reads, so the tracer fills its
	// buffer and waits with the next event.
	_, wait, err := src.Start(exec.Command("sh", "-c", "while :; do : </dev/null; done"))
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		st, _ := src.Stats()
		if st.Events > 16 && st.Events == last {
			break // the buffer is full: the tracer waits
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tracer never stopped emitting: %+v", st)
		}
		last = st.Events
	}
	src.Close()
	_, _ = wait() // the tracer has ended: no event is in flight any more
	st, _ := src.Stats()
	if st.Drops == 0 {
		t.Errorf("stats %+v after Close with an event in flight: the lost event is not counted", st)
	}
}

func TestAttach(t *testing.T) {
	cmd := exec.Command("sh", "-c", "read x; cat /etc/hostname >/dev/null; exit 4")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	src, err := userspace.New(userspace.Options{EndWhenDone: true, Types: []events.Type{events.TypeOpenatX, events.TypeProcExit}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Attach(cmd.Process.Pid); err != nil {
		t.Fatalf("attach: %v", err)
	}
	// sh reads its line only once it is traced.
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	var open, exit bool
	for {
		ev, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		switch {
		case ev.Type != events.TypeOpenatX && ev.Type != events.TypeProcExit:
			t.Errorf("event type %s, want only openat_x and procexit", ev.Type)
		case ev.Type == events.TypeOpenatX && ev.Str(2) == "/etc/hostname" && ev.Int(0) >= 0:
			open = true
		case ev.Type == events.TypeProcExit && ev.TID == uint32(cmd.Process.Pid) && ev.Int(1) == 4:
			exit = true
		}
	}
	if !open || !exit {
		t.Errorf("open of /etc/hostname seen: %v; procexit with code 4 seen: %v", open, exit)
	}
	_ = cmd.Wait() // reaped by the tracer: sh is our child
}

func TestAttachMissing(t *testing.T) {
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Attach(1 << 30); err == nil {
		t.Error("attach to a missing process succeeded")
	}
}

func TestTraceFileEvents(t *testing.T) {
	d := t.TempDir()
	a, b := d+"/a", d+"/b"
	cmd := exec.Command("sh", "-c", `touch "$1" && mv "$1" "$2" && rm "$2"`, "sh", a, b)
	evs, code, _ := collect(t, cmd)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	for _, tt := range []struct {
		name string
		ok   func(*events.Event) bool
	}{
		{"renameat2 a to b", func(ev *events.Event) bool {
			return ev.Type == events.TypeRenameat2X && ev.Comm == "mv" && ev.Int(0) == 0 && ev.Str(2) == a && ev.Str(4) == b
		}},
		{"unlinkat b", func(ev *events.Event) bool {
			return ev.Type == events.TypeUnlinkatX && ev.Comm == "rm" && ev.Int(0) == 0 && ev.Str(2) == b
		}},
		{"close", func(ev *events.Event) bool {
			return ev.Type == events.TypeCloseX && ev.Int(0) == 0 && ev.Int(1) >= 0
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.ContainsFunc(evs, tt.ok) {
				t.Errorf("no %s event", tt.name)
			}
		})
	}
}

// Close ends a traced command that would otherwise run on, and its wait
// reports the kill.
func TestCloseKillsStarted(t *testing.T) {
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, wait, err := src.Start(exec.Command("sleep", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	// The exec events arrive once the tracer has the child.
	if _, err := src.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.Close()
	code, err := wait()
	if err == nil && code != 128+9 {
		t.Errorf("wait = %d, want 137 (SIGKILL) or ErrClosed", code)
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, events.ErrClosed) {
		t.Errorf("next after close = %v, want ErrClosed", err)
	}
}
