package loader

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
)

// The test binary doubles as the self-test child when KDRIVER_TEST_CHILD
// is set.
func TestMain(m *testing.M) {
	if os.Getenv("KDRIVER_TEST_CHILD") != "" {
		port, _ := strconv.Atoi(os.Args[2])
		os.Exit(events.RunSelfTestChild(os.Args[1], port))
	}
	os.Exit(m.Run())
}

func TestUserspaceDriver(t *testing.T) {
	ctx := context.Background()
	d, err := NewDriver(Userspace, DriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	allowed := host.Facts{Ptrace: host.Check{Present: true, Detail: "ptrace allowed (Yama ptrace_scope = 1)"}}
	ok, err := d.Preflight(ctx, allowed)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if !strings.Contains(strings.Join(ok, "; "), "traced a child") {
		t.Errorf("preflight = %q, want it to say a child was traced", ok)
	}
	disabled := host.Facts{Ptrace: host.Check{Detail: "ptrace disabled: /proc/sys/kernel/yama/ptrace_scope = 3"}}
	if _, err := d.Preflight(ctx, disabled); !errors.Is(err, ErrUnsupported) {
		t.Errorf("preflight with ptrace_scope 3 = %v, want ErrUnsupported", err)
	}
	msg, err := d.Install(ctx, allowed, InstallOptions{})
	if err != nil || !strings.Contains(msg, "nothing to install") {
		t.Errorf("install = %q, %v; want nothing to install", msg, err)
	}
	res, err := Verify(ctx, d, events.SelfTestOptions{
		Command: func(ctx context.Context, path string, port int) *exec.Cmd {
			exe, _ := os.Executable()
			cmd := exec.CommandContext(ctx, exe, path, strconv.Itoa(port))
			cmd.Env = append(os.Environ(), "KDRIVER_TEST_CHILD=1")
			return cmd
		},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.Passed {
		t.Errorf("self-test failed: %v", res.Failed())
	}
	if msg, err := d.Cleanup(ctx); err != nil || !strings.Contains(msg, "nothing to clean up") {
		t.Errorf("cleanup = %q, %v", msg, err)
	}
}
