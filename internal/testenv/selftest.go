package testenv

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/kdriver/kdriver/events"
)

// childEnv marks the test binary's run as the self-test child.
const childEnv = "KDRIVER_TEST_SELFTEST_CHILD"

// SelfTestMain is a TestMain that lets the test binary double as the
// self-test child (see SelfTestChild); otherwise it runs the tests.
func SelfTestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		port, _ := strconv.Atoi(os.Args[2])
		os.Exit(events.RunSelfTestChild(os.Args[1], port))
	}
	os.Exit(m.Run())
}

// SelfTestChild is a SelfTestOptions.Command that re-runs the test binary
// as the child; the package's TestMain must be SelfTestMain.
func SelfTestChild(ctx context.Context, path string, port int) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := exec.CommandContext(ctx, exe, path, strconv.Itoa(port))
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}
