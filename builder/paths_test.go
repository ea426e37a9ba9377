package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/matrix"
)

// A target whose name (or release, or target ID) would climb out of the
// cache as a path component is refused, naming the target; nothing is
// written outside the cache.
func TestRunRefusesPathNames(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*matrix.Target)
	}{
		{"name", func(t *matrix.Target) { t.Name = "../../../escaped" }},
		{"fixed_kernel_release", func(t *matrix.Target) { t.FixedKernelRelease = "../../../../escaped" }},
		{"target_id", func(t *matrix.Target) { t.TargetID = "x/../../../../../escaped" }},
		{"kernel_release", func(t *matrix.Target) { t.KernelRelease = "../../../../../../escaped" }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			top := t.TempDir()
			work := filepath.Join(top, "a", "b")
			targets := fakeTargets(t, 1)
			tt.edit(&targets[0])
			be := &fakeBackend{}
			rep, err := fakeBuilder(t, work, helloSource(t), be, 1).Run(context.Background(), targets)
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("err = %v, want ErrFailed", err)
			}
			r := rep.Results[0]
			if r.Status != StatusFailed || !strings.Contains(r.Error, targets[0].Name) || !strings.Contains(r.Error, tt.field) || len(be.calls) != 0 {
				t.Errorf("result %+v, %d builds: want refused naming the target and %s", r, len(be.calls), tt.field)
			}
			filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
				if d != nil && strings.Contains(d.Name(), "escaped") {
					t.Errorf("wrote %s", p)
				}
				return nil
			})
		})
	}
}

// A symlink planted at a target's log path in the cache is replaced, not
// written through.
func TestLogNotWrittenThroughSymlink(t *testing.T) {
	work := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	targets := fakeTargets(t, 1)
	logs := filepath.Join(work, "builds", "logs")
	os.MkdirAll(logs, 0o755)
	if err := os.Symlink(victim, filepath.Join(logs, targets[0].Name+".log")); err != nil {
		t.Fatal(err)
	}
	rep, err := fakeBuilder(t, work, helloSource(t), &fakeBackend{}, 1).Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("log written through the planted symlink: %s holds %q", victim, b)
	}
	if b, _ := os.ReadFile(rep.Results[0].Log); string(b) != "ok\n" {
		t.Errorf("log %s holds %q", rep.Results[0].Log, b)
	}
}
