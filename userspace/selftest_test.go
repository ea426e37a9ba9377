package userspace_test

import (
	"context"
	"testing"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/userspace"
)

func TestMain(m *testing.M) { testenv.SelfTestMain(m) }

func TestSelfTest(t *testing.T) {
	src, err := userspace.New(userspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := events.SelfTest(context.Background(), src, events.SelfTestOptions{
		Command: testenv.SelfTestChild,
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
