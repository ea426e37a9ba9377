package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/internal/debtest"
	"github.com/kdriver/kdriver/builder/matrix"
)

// fakeBackend returns the job's name as the artifact; fail says how many
// times in a row a target fails first (-1: always).
type fakeBackend struct {
	mu       sync.Mutex
	calls    map[string]int
	scripts  []string // the scripts of every call
	fail     map[string]int
	err      error
	inflight atomic.Int32
	both     chan struct{} // closed when two builds overlap
	once     sync.Once
}

func (*fakeBackend) Name() string { return "fake" }

func (f *fakeBackend) Build(ctx context.Context, job Job) (Result, error) {
	if f.both != nil {
		if f.inflight.Add(1) == 2 {
			f.once.Do(func() { close(f.both) })
		}
		select {
		case <-f.both:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[job.Name]++
	f.scripts = append(f.scripts, job.Script)
	if n := f.fail[job.Name]; n < 0 || f.calls[job.Name] <= n {
		err := f.err
		if err == nil {
			err = fmt.Errorf("%s: %w", job.Name, ErrBuild)
		}
		return Result{Log: []byte("boom\n")}, err
	}
	if !strings.Contains(job.Script, "make") || job.Env["MODULE"] != "hello" {
		return Result{}, fmt.Errorf("bad job %+v", job)
	}
	return Result{Artifact: []byte("ko of " + job.Name), Log: []byte("ok\n")}, nil
}

// fakeTargets serves n tiny header trees and returns their targets.
func fakeTargets(t *testing.T, n int) []matrix.Target {
	t.Helper()
	debs := map[string][]byte{}
	var out []matrix.Target
	for i := 0; i < n; i++ {
		rel := fmt.Sprintf("6.1.0-%d-amd64", i)
		debs[rel] = debtest.Deb(
			debtest.Entry{Name: "./usr/src/linux-headers-" + rel + "/Makefile", Body: "all:\n"},
			debtest.Entry{Name: "./usr/src/linux-headers-" + rel + "/.config", Body: "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n"},
		)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(debs[strings.TrimPrefix(r.URL.Path, "/")])
	}))
	t.Cleanup(srv.Close)
	for i := 0; i < n; i++ {
		rel := fmt.Sprintf("6.1.0-%d-amd64", i)
		out = append(out, matrix.Target{
			Name: "debian-" + rel, Distro: "debian", TargetID: "debian", Arch: "x86_64", Suite: "bookworm",
			KernelRelease: rel, FixedKernelRelease: fmt.Sprintf("6.1.%d-1-amd64", i), FixedKernelVersion: "1",
			Packages: []matrix.Package{{Name: "h", Role: matrix.RoleHeaders, URL: srv.URL + "/" + rel, Size: int64(len(debs[rel])), SHA256: debtest.SHA256(debs[rel])}},
		})
	}
	return out
}

// fakeBuilder builds src's module with the backend be in work; each set
// changes the options before the builder is made.
func fakeBuilder(t *testing.T, work, src string, be Backend, jobs int, set ...func(*Options)) *Builder {
	t.Helper()
	dir := filepath.Join(work, "headers")
	o := Options{
		Headers: &headers.Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}},
		Choose:  func(context.Context, matrix.Target, Compiler) (Backend, error) { return be, nil },
		Mode:    "fake", Source: Source{Dir: src, Module: "hello"},
		OutDir: filepath.Join(work, "out"), CacheDir: filepath.Join(work, "builds"),
		Jobs: jobs, Retries: 1, DriverName: "kdriver", DriverVersion: "1.0.0+dev", HostArch: "x86_64",
		Verify: func(string, matrix.Target) error { return nil },
	}
	for _, f := range set {
		f(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func helloSource(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.c"), []byte("int x;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Makefile"), []byte("obj-m := hello.o\n"), 0o644)
	return dir
}

func TestRunReportAndCache(t *testing.T) {
	targets := fakeTargets(t, 3)
	work, src := t.TempDir(), helloSource(t)
	be := &fakeBackend{fail: map[string]int{"debian-6.1.0-1-amd64": 1, "debian-6.1.0-2-amd64": -1}}
	rep, err := fakeBuilder(t, work, src, be, 2).Run(context.Background(), targets)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	got := fmt.Sprintf("built %d cached %d failed %d", rep.Built, rep.Cached, rep.Failed)
	if got != "built 2 cached 0 failed 1" {
		t.Errorf("%s", got)
	}
	r0, r1, r2 := rep.Results[0], rep.Results[1], rep.Results[2]
	if r0.Status != StatusBuilt || r0.Attempts != 1 || r1.Status != StatusBuilt || r1.Attempts != 2 {
		t.Errorf("results %+v %+v", r0, r1)
	}
	if r2.Status != StatusFailed || r2.Attempts != 2 || !strings.Contains(r2.Error, "build failed") || r2.Log == "" {
		t.Errorf("failed target %+v", r2)
	}
	// Falco layout: <version>/<arch>/<driver>_<target>_<release>_<version>.ko
	want := filepath.Join(work, "out", "1.0.0+dev", "x86_64", "kdriver_debian_6.1.0-1-amd64_1.ko")
	if r0.Artifact != want {
		t.Errorf("artifact %s, want %s", r0.Artifact, want)
	}
	if b, _ := os.ReadFile(r0.Artifact); string(b) != "ko of debian-6.1.0-0-amd64" {
		t.Errorf("artifact holds %q", b)
	}
	// Next to it, the index entry `kdriver artifact push` reads.
	var e artifacts.Entry
	if b, err := os.ReadFile(r0.Artifact + ".json"); err != nil || json.Unmarshal(b, &e) != nil {
		t.Fatalf("entry: %v", err)
	}
	if e.File != filepath.Base(want) || e.KernelRelease != "6.1.0-1-amd64" || e.SHA256 != r0.SHA256 || e.Size != 26 ||
		e.Build["uname_r"] != "6.1.0-0-amd64" || e.Build["compiler"] != "gcc-12 (Debian 12.2.0-14) 12.2.0" || e.Build["builder"] != "fake" {
		t.Errorf("entry %+v", e)
	}

	// Rerun: the two built are cached (no backend call), the failed one is tried again.
	be2 := &fakeBackend{}
	rep, err = fakeBuilder(t, work, src, be2, 2).Run(context.Background(), targets)
	if err != nil || rep.Cached != 2 || rep.Built != 1 || len(be2.calls) != 1 {
		t.Fatalf("rerun: %+v calls %v err %v", rep, be2.calls, err)
	}

	// A removed output is put back from the cache; a source change rebuilds all.
	os.Remove(want)
	os.WriteFile(filepath.Join(src, "hello.c"), []byte("int y;\n"), 0o644)
	be3 := &fakeBackend{}
	rep, err = fakeBuilder(t, work, src, be3, 1).Run(context.Background(), targets)
	if err != nil || rep.Built != 3 || len(be3.calls) != 3 {
		t.Fatalf("after a source change: %+v err %v", rep, err)
	}
	if _, err := os.Stat(want); err != nil {
		t.Error(err)
	}
}

func TestRunParallel(t *testing.T) {
	targets := fakeTargets(t, 2)
	be := &fakeBackend{both: make(chan struct{})}
	rep, err := fakeBuilder(t, t.TempDir(), helloSource(t), be, 2).Run(context.Background(), targets)
	if err != nil || rep.Built != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestRunNoCompilerNotRetried(t *testing.T) {
	targets := fakeTargets(t, 1)
	be := &fakeBackend{fail: map[string]int{targets[0].Name: -1}, err: fmt.Errorf("x: %w", ErrNoCompiler)}
	rep, err := fakeBuilder(t, t.TempDir(), helloSource(t), be, 1).Run(context.Background(), targets)
	if !errors.Is(err, ErrFailed) || rep.Results[0].Attempts != 1 {
		t.Fatalf("%+v %v", rep.Results[0], err)
	}
}

func TestRunCanceled(t *testing.T) {
	targets := fakeTargets(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := fakeBuilder(t, t.TempDir(), helloSource(t), &fakeBackend{}, 1).Run(ctx, targets)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if rep.Built != 0 {
		t.Errorf("built %d after cancel", rep.Built)
	}
}

func TestPlan(t *testing.T) {
	targets := fakeTargets(t, 2)
	work, src := t.TempDir(), helloSource(t)
	b := fakeBuilder(t, work, src, &fakeBackend{}, 1)
	if p := b.Plan(targets); p.Cached != 0 || p.Results[0].Status != StatusToBuild {
		t.Fatalf("plan before any build: %+v", p)
	}
	if _, err := b.Run(context.Background(), targets[:1]); err != nil {
		t.Fatal(err)
	}
	p := fakeBuilder(t, work, src, &fakeBackend{}, 1).Plan(targets)
	if p.Cached != 1 || p.Results[0].Status != StatusCached || p.Results[1].Status != StatusToBuild {
		t.Fatalf("plan after one build: %+v", p.Results)
	}
}
