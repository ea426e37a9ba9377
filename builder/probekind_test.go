package builder

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"context"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
)

func probeBuilder(t *testing.T, work string, kind artifacts.Kind, clang Clang) (*Builder, error) {
	t.Helper()
	dir := filepath.Join(work, "headers")
	return New(Options{
		Headers: &headers.Store{Dir: dir, Cache: &download.Cache{Dir: dir, Client: &http.Client{}}},
		Choose:  func(context.Context, matrix.Target, Compiler) (Backend, error) { return nil, nil },
		Mode:    "local", Source: Source{Dir: helloSource(t), Module: "kdriver"},
		OutDir: filepath.Join(work, "out"), CacheDir: filepath.Join(work, "builds"),
		DriverName: "kdriver", DriverVersion: "1.0.0", HostArch: "x86_64",
		Kind: kind, Clang: clang,
	})
}

// fakeProbeRun builds kdriver's probe (the ebpf kind, the host's clang 16)
// for targets with the backend be, in work.
func fakeProbeRun(t *testing.T, work, src string, be Backend, targets []matrix.Target) *Report {
	t.Helper()
	b := fakeBuilder(t, work, src, be, 1, func(o *Options) {
		o.Kind, o.Clang = artifacts.KindEBPF, Clang{Clang: "/usr/bin/clang-16", LLC: "/usr/bin/llc-16", Version: "16.0.6"}
	})
	rep, err := b.Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The ebpf kind names .o artifacts, and its cache key names the kind and
// the clang version: a probe is never taken for a module, nor a probe of
// another clang for this one.
func TestEBPFKindKeyAndName(t *testing.T) {
	work := t.TempDir()
	tg := matrix.Target{Name: "debian-6.1.0-13-amd64", TargetID: "debian", Arch: "x86_64",
		KernelRelease: "6.1.0-13-amd64", FixedKernelRelease: "6.1.55-1-amd64", FixedKernelVersion: "1"}
	if _, err := probeBuilder(t, work, artifacts.KindEBPF, Clang{}); !errors.Is(err, ErrNoClang) {
		t.Fatalf("ebpf without clang: %v, want ErrNoClang", err)
	}
	c16 := Clang{Clang: "/usr/bin/clang-16", LLC: "/usr/bin/llc-16", Version: "16.0.6"}
	c19 := Clang{Clang: "/usr/bin/clang-19", LLC: "/usr/bin/llc-19", Version: "19.1.7"}
	kmod, err := probeBuilder(t, work, "", Clang{})
	if err != nil {
		t.Fatal(err)
	}
	p16, err := probeBuilder(t, work, artifacts.KindEBPF, c16)
	if err != nil {
		t.Fatal(err)
	}
	p19, err := probeBuilder(t, work, artifacts.KindEBPF, c19)
	if err != nil {
		t.Fatal(err)
	}
	if name := p16.ID(tg).FileName(); name != "kdriver_debian_6.1.55-1-amd64_1.o" {
		t.Errorf("probe file %s", name)
	}
	if name := kmod.ID(tg).FileName(); !strings.HasSuffix(name, ".ko") {
		t.Errorf("module file %s", name)
	}
	if k := p16.Key(tg); k == kmod.Key(tg) || k == p19.Key(tg) {
		t.Errorf("cache keys of kmod, ebpf clang 16, ebpf clang 19 not all different")
	}
	if c16.String() != "clang 16.0.6" {
		t.Errorf("clang names itself %q", c16.String())
	}
}

// A probe's report names clang and the kernel's gcc (which only runs
// kbuild's checks) when it is built, when it is served from the cache, and
// in the index entry `kdriver artifact push` publishes: the clang is what
// made the object.
func TestEBPFCompilerRecorded(t *testing.T) {
	targets := fakeTargets(t, 1)
	work, src := t.TempDir(), helloSource(t)
	build := func() *Report {
		t.Helper()
		return fakeProbeRun(t, work, src, &fakeBackend{}, targets)
	}
	const want = "clang 16.0.6, kbuild with gcc-12 (Debian 12.2.0-14) 12.2.0"
	for _, status := range []string{StatusBuilt, StatusCached} {
		r := build().Results[0]
		if r.Status != status || r.Compiler != want {
			t.Errorf("%s: status %s, compiler %q, want %q", status, r.Status, r.Compiler, want)
		}
		var e artifacts.Entry
		if b, err := os.ReadFile(r.Artifact + ".json"); err != nil || json.Unmarshal(b, &e) != nil {
			t.Fatalf("entry of %s: %v", r.Artifact, err)
		}
		if e.Build["compiler"] != want {
			t.Errorf("%s: index entry compiler %q, want %q", status, e.Build["compiler"], want)
		}
	}
}

// imageBackend is a fake backend whose jobs run in builder images, as
// Docker's do: it records the job and prints a clang version as the
// image's clang would.
type imageBackend struct {
	fakeBackend
	job Job
}

func (*imageBackend) imageJobs() {}

func (f *imageBackend) Build(ctx context.Context, job Job) (Result, error) {
	f.job = job
	r, err := f.fakeBackend.Build(ctx, job)
	r.Log = append([]byte("Debian clang version 19.1.7 (3+b1)\n"), r.Log...)
	return r, err
}

// A probe built in a builder image (a kernel whose compiler the host lacks,
// such as trixie's gcc-14) is made by the image's own clang: the image gets
// clang and llvm, the job calls them by name (never the host's
// /usr/bin/clang-16, which is not in the container), and the report names
// the clang the build printed, not the host's.
func TestEBPFInImageUsesImageClang(t *testing.T) {
	targets := fakeTargets(t, 1)
	targets[0].Suite = "trixie"
	be := &imageBackend{}
	rep := fakeProbeRun(t, t.TempDir(), helloSource(t), be, targets)
	if be.job.Env["CLANG"] != "clang" || be.job.Env["LLC"] != "llc" {
		t.Errorf("job calls CLANG=%q LLC=%q, want the image's clang and llc", be.job.Env["CLANG"], be.job.Env["LLC"])
	}
	pk := ImagePackages(be.job)
	if !slices.Contains(pk, "clang") || !slices.Contains(pk, "llvm") {
		t.Errorf("image packages %v lack clang or llvm", pk)
	}
	const want = "clang 19.1.7 (trixie builder image), kbuild with gcc-12 (Debian 12.2.0-14) 12.2.0"
	if r := rep.Results[0]; r.Status != StatusBuilt || r.Compiler != want {
		t.Errorf("status %s, compiler %q, want %q", r.Status, r.Compiler, want)
	}
	// A module's image stays without them.
	if pk := ImagePackages(Job{Compiler: Compiler{Family: "gcc", Major: 14}}); slices.Contains(pk, "clang") {
		t.Errorf("a module's image packages %v have clang", pk)
	}
}
