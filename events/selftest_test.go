package events_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// The test binary doubles as the self-test child: KDRIVER_TEST_CHILD
// holds the exit code to use instead of 42 ("42": the real child).
func TestMain(m *testing.M) {
	if code := os.Getenv("KDRIVER_TEST_CHILD"); code != "" {
		want := events.RunSelfTestChild(os.Args[1], atoi(os.Args[2]))
		if code != "42" {
			want = atoi(code)
		}
		os.Exit(want)
	}
	os.Exit(m.Run())
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func childCommand(code int) func(ctx context.Context, path string, port int) *exec.Cmd {
	return func(ctx context.Context, path string, port int) *exec.Cmd {
		exe, _ := os.Executable()
		cmd := exec.CommandContext(ctx, exe, path, strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "KDRIVER_TEST_CHILD="+strconv.Itoa(code))
		return cmd
	}
}

func TestSelfTestModern(t *testing.T) {
	testenv.RequireBPF(t)
	for _, tc := range []struct {
		name    string
		code    int
		pass    bool
		failing []string
	}{
		{"passes", 42, true, nil},
		{"wrong-exit-code", 7, false, []string{"child (exit code 7", "procexit (exit_code 7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := modern.Open(modern.Options{BufSizePreset: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			res, err := events.SelfTest(context.Background(), src, events.SelfTestOptions{
				Command: childCommand(tc.code), TempDir: t.TempDir(),
			})
			if tc.pass {
				if err != nil {
					t.Fatalf("self-test: %v\n%+v", err, res)
				}
				if !res.Passed || res.Stats.Drops != 0 || len(res.Checks) != 7 {
					t.Fatalf("result %+v", res)
				}
				return
			}
			if !errors.Is(err, events.ErrVerify) {
				t.Fatalf("self-test: %v, want ErrVerify", err)
			}
			failed := strings.Join(res.Failed(), "; ")
			for _, f := range tc.failing {
				if !strings.Contains(failed, f) {
					t.Errorf("failed checks %q do not include %q", failed, f)
				}
			}
			if strings.Contains(failed, "open") || strings.Contains(failed, "connect") {
				t.Errorf("checks that should pass failed: %s", failed)
			}
		})
	}
}

// silentSource delivers nothing: a driver that is loaded but blind.
type silentSource struct{}

func (silentSource) Next(ctx context.Context) (*events.Event, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (silentSource) Stats() (events.Stats, error) { return events.Stats{}, nil }
func (silentSource) Close() error                 { return nil }

// TestSelfTestBlindDriver: a driver that delivers no events fails with
// ErrVerify and says which events are missing; no privileges needed.
func TestSelfTestBlindDriver(t *testing.T) {
	res, err := events.SelfTest(context.Background(), silentSource{}, events.SelfTestOptions{
		Command: childCommand(42), Timeout: 2 * time.Second, TempDir: t.TempDir(),
	})
	if !errors.Is(err, events.ErrVerify) {
		t.Fatalf("self-test of a blind driver: %v, want ErrVerify", err)
	}
	failed := strings.Join(res.Failed(), "; ")
	for _, name := range []string{"execve_e", "execve_x", "open", "connect_x", "procexit"} {
		if !strings.Contains(failed, name+" (no event") {
			t.Errorf("failed checks %q do not report %s missing", failed, name)
		}
	}
	if strings.Contains(failed, "child") {
		t.Errorf("the child itself ran fine: %s", failed)
	}
}

// TestSelfTestPortStaysClosed: the port the child must be refused on is
// held closed for the whole test, so a server another test starts at that
// moment cannot take it and turn the refused connect into a success.
func TestSelfTestPortStaysClosed(t *testing.T) {
	child := childCommand(42)
	var taken, accepted bool
	cmd := func(ctx context.Context, path string, port int) *exec.Cmd {
		// Here the child is about to start: the window of the race.
		if l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			taken = true
			l.Close()
		}
		if c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			accepted = true
			c.Close()
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("connect to the closed port: %v, want ECONNREFUSED", err)
		}
		return child(ctx, path, port)
	}
	events.SelfTest(context.Background(), silentSource{}, events.SelfTestOptions{
		Command: cmd, Timeout: time.Second, TempDir: t.TempDir(),
	})
	if taken {
		t.Error("another program could listen on the self-test's closed port before the child connected")
	}
	if accepted {
		t.Error("a connect to the self-test's closed port was accepted")
	}
}
