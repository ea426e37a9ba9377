package userspace_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/userspace"
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

func TestSelfTest(t *testing.T) {
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := events.SelfTest(context.Background(), src, events.SelfTestOptions{
		Command: func(ctx context.Context, path string, port int) *exec.Cmd {
			exe, _ := os.Executable()
			cmd := exec.CommandContext(ctx, exe, path, strconv.Itoa(port))
			cmd.Env = append(os.Environ(), "KDRIVER_TEST_CHILD=1")
			return cmd
		},
	})
	if err != nil {
		t.Fatalf("self-test: %v", err)
	}
	for _, c := range res.Checks {
		t.Logf("%s ok=%v %s", c.Name, c.OK, c.Detail)
	}
	if res.Stats.Drops != 0 || res.Stats.Events == 0 {
		t.Errorf("stats = %+v, want events and no drops", res.Stats)
	}
}
