package loader

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/loader/host"
)

func TestMain(m *testing.M) { testenv.SelfTestMain(m) }

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
		Command: testenv.SelfTestChild,
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
