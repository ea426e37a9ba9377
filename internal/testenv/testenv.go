// Package testenv holds the test helpers that decide between skipping and
// failing: a test may skip for a missing capability only outside CI; with
// CI=true the capability is there, so its absence is a failure.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// CI reports whether the tests run in CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Missing stops the test because something it needs is missing: a skip
// outside CI, a failure in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skip(msg)
}

// RequireBPF stops the test unless it runs as root on a kernel with BTF,
// what the eBPF drivers need.
func RequireBPF(t testing.TB) {
	t.Helper()
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	Missing(t, "this test needs root and BTF (euid %d, btf: %v)", os.Geteuid(), err)
}
