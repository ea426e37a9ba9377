package builder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/templates"
)

// A recorded module changed after its build is never served as a hit: the
// target is built again, and the report says why.
func TestCacheHitReverified(t *testing.T) {
	targets := fakeTargets(t, 1)
	work, src := t.TempDir(), helloSource(t)
	b := fakeBuilder(t, work, src, &fakeBackend{}, 1)
	if _, err := b.Run(context.Background(), targets); err != nil {
		t.Fatal(err)
	}
	cached := filepath.Join(work, "builds", b.Key(targets[0]), b.ID(targets[0]).FileName())
	if err := os.WriteFile(cached, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := fakeBuilder(t, work, src, &fakeBackend{}, 1).Plan(targets); p.Cached != 0 {
		t.Errorf("plan counts the changed record as cached: %+v", p.Results[0])
	}
	be := &fakeBackend{}
	rep, err := fakeBuilder(t, work, src, be, 1).Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Status != StatusBuilt || len(be.calls) != 1 {
		t.Errorf("status %s, %d builds: want built again", r.Status, len(be.calls))
	}
	if !strings.Contains(r.Warning, "recorded digest") {
		t.Errorf("warning %q does not say the cache was wrong", r.Warning)
	}
	if got, _ := os.ReadFile(r.Artifact); string(got) != "ko of "+targets[0].Name {
		t.Errorf("published %q", got)
	}
	if got, _ := os.ReadFile(cached); string(got) != "ko of "+targets[0].Name {
		t.Errorf("cache holds %q after the rebuild", got)
	}
}

// Two targets made of the same packages under different target IDs (a
// kernel both distros ship) are two artifacts, not one cache entry that
// only the first can be published from.
func TestCacheKeyHasTargetID(t *testing.T) {
	targets := fakeTargets(t, 1)
	other := targets[0]
	other.Name, other.TargetID = "ubuntu-"+other.Name, "ubuntu-generic"
	targets = append(targets, other)
	rep, err := fakeBuilder(t, t.TempDir(), helloSource(t), &fakeBackend{}, 1).Run(context.Background(), targets)
	if err != nil {
		t.Fatalf("%v: %+v", err, rep.Results)
	}
	for _, r := range rep.Results {
		if b, err := os.ReadFile(r.Artifact); err != nil || string(b) != "ko of "+r.Target {
			t.Errorf("%s: artifact %s holds %q (%v)", r.Target, r.Artifact, b, err)
		}
	}
}

// A build script that changed (a kdriver with a fixed script) builds the
// target again: what the old script made is not served as a hit.
func TestCacheKeyHasScript(t *testing.T) {
	targets := fakeTargets(t, 1)
	work, src := t.TempDir(), helloSource(t)
	if _, err := fakeBuilder(t, work, src, &fakeBackend{}, 1).Run(context.Background(), targets); err != nil {
		t.Fatal(err)
	}
	be := &fakeBackend{}
	if rep, err := fakeBuilder(t, work, src, be, 1).Run(context.Background(), targets); err != nil || rep.Results[0].Status != StatusCached || len(be.scripts) != 0 {
		t.Fatalf("same script: %v, %+v, %d builds; want a cache hit", err, rep.Results, len(be.scripts))
	}
	render := renderScript
	t.Cleanup(func() { renderScript = render })
	renderScript = func(d templates.Data) (string, error) {
		s, err := render(d)
		return s + "# fixed\n", err
	}
	be = &fakeBackend{}
	rep, err := fakeBuilder(t, work, src, be, 1).Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Results[0].Status != StatusBuilt || len(be.scripts) != 1 || !strings.HasSuffix(be.scripts[0], "# fixed\n") {
		t.Errorf("changed script: status %s, %d builds; want built again with the new script", rep.Results[0].Status, len(be.scripts))
	}
}
