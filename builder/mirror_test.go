package builder

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/internal/testenv"
)

// mirrorTargets reads the served mirror: every kernel of bookworm main for
// amd64 and arm64, as the amd64 host sees them.
func mirrorTargets(t testing.TB, url string) []matrix.Target {
	t.Helper()
	ctx := context.Background()
	a := &debian.Archive{URL: url, Client: &http.Client{}}
	ix, err := debian.LoadIndex(ctx, a, "bookworm", []string{"main"}, []string{"amd64", "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	var out []matrix.Target
	for _, arch := range []string{"amd64", "arm64"} {
		ks, err := ix.Kernels(arch, "amd64")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ks...)
	}
	return out
}

// newestSeries keeps the newest plain (not rt, not cloud) kernel of each
// series (6.1, 6.12) and arch: the mirror keeps older ABIs as they rotate.
func newestSeries(ts []matrix.Target) []matrix.Target {
	seen := map[string]bool{}
	var out []matrix.Target
	for _, k := range ts { // newest first per arch
		if strings.Contains(k.KernelRelease, "rt-") || strings.Contains(k.KernelRelease, "cloud-") {
			continue
		}
		parts := strings.SplitN(k.PackageVersion, ".", 3)
		key := k.Arch + " " + parts[0] + "." + parts[1]
		if !seen[key] {
			seen[key] = true
			out = append(out, k)
		}
	}
	return out
}

// kmodSource is the repository's kernel module with its event header.
func kmodSource(t testing.TB) Source {
	t.Helper()
	src := Source{Dir: "../kmod/src", Extra: []string{"../events/c/kd_event.h"}, Module: "kdriver"}
	if _, err := os.Stat(filepath.Join(src.Dir, "Makefile")); err != nil {
		t.Fatalf("kmod/src: %v", err)
	}
	return src
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func httpClient() *http.Client { return &http.Client{} }

func newTestBuilder(t testing.TB, work string, src Source, jobs int) *Builder {
	t.Helper()
	return newTestBuilderWith(t, work, src, jobs, "local", func(context.Context, matrix.Target, Compiler) (Backend, error) {
		return &Local{}, nil
	})
}

func newTestBuilderWith(t testing.TB, work string, src Source, jobs int, mode string, choose ChooseBackend) *Builder {
	t.Helper()
	client := httpClient()
	store := &headers.Store{Dir: filepath.Join(work, "headers"), Cache: &download.Cache{Dir: filepath.Join(work, "headers"), Client: client}, Logger: testLogger(t)}
	b, err := New(Options{
		Headers: store,
		Choose:  choose, Mode: mode, Source: src, OutDir: filepath.Join(work, "out"), CacheDir: filepath.Join(work, "builds"),
		Jobs: jobs, Retries: 1, DriverName: "kdriver", DriverVersion: "0.1.0", HostArch: "x86_64", Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildFromMirror builds the kernel module for the newest bookworm 6.1
// and 6.12 kernels, amd64 and arm64 (cross), from a mirror of real Debian
// packages; then a rerun builds nothing, and a source change rebuilds all.
func TestBuildFromMirror(t *testing.T) {
	url := testenv.ServeDir(t, testenv.BuilderMirror(t))
	src := kmodSource(t)
	targets := newestSeries(mirrorTargets(t, url))
	if len(targets) != 4 {
		t.Fatalf("want 4 targets (6.1 and 6.12, amd64 and arm64), got %d", len(targets))
	}
	work := t.TempDir()
	b := newTestBuilder(t, work, src, 2)
	ctx := context.Background()
	rep, err := b.Run(ctx, targets)
	if err != nil {
		for _, r := range rep.Results {
			t.Logf("%s: %s %s (log %s)", r.Target, r.Status, r.Error, r.Log)
		}
		t.Fatal(err)
	}
	if rep.Built != 4 {
		t.Fatalf("built %d, want 4", rep.Built)
	}
	for _, r := range rep.Results {
		t.Logf("%s: %s with %s: %s", r.Target, r.Status, r.Compiler, r.Artifact)
		if _, err := os.Stat(r.Artifact); err != nil {
			t.Error(err)
		}
	}

	// Same inputs: nothing is built, not even a download is needed.
	rep, err = newTestBuilder(t, work, src, 2).Run(ctx, targets)
	if err != nil || rep.Cached != 4 || rep.Built != 0 {
		t.Fatalf("rerun: cached %d built %d err %v, want all cached", rep.Cached, rep.Built, err)
	}

	// A change to the driver source rebuilds every target.
	changed := t.TempDir()
	if err := src.Prepare(changed); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(changed, "kd_main.c"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n/* changed */\n")
	f.Close()
	rep, err = newTestBuilder(t, work, Source{Dir: changed, Module: "kdriver"}, 2).Run(ctx, targets)
	if err != nil || rep.Built != 4 {
		t.Fatalf("after a source change: built %d err %v, want 4 rebuilt", rep.Built, err)
	}
}
