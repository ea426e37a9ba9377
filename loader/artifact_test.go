package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/internal/testenv"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/loader/host"
)

const testKo = "../kmod/testdata/kdriver-6.1.0-56-amd64.ko"

// kmodFacts is a Debian host running 6.1.0-56-amd64 (the release of the
// test module), read through root.
func kmodFacts(root string) host.Facts {
	return host.Facts{
		HostRoot: root,
		OS:       host.OS{OS: kernelrelease.OS{ID: "debian"}},
		Arch:     kernelrelease.ArchX86_64,
		Kernel:   host.Kernel{Release: "6.1.0-56-amd64", Version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2"},
		Target: kernelrelease.Target{ID: "debian", Arch: kernelrelease.ArchX86_64,
			FixedRelease: "6.1.0-56-amd64", FixedVersion: "1"},
	}
}

// fakeStore serves one artifact, misses, or fails.
type fakeStore struct {
	data  []byte // nil: miss
	fail  error  // returned instead, when set
	lie   bool   // publish a digest that does not match
	calls int
}

func (s *fakeStore) Name() string { return "fake://store" }

func (s *fakeStore) Fetch(_ context.Context, id artifacts.ID) (io.ReadCloser, artifacts.Descriptor, error) {
	s.calls++
	if s.fail != nil {
		return nil, artifacts.Descriptor{}, s.fail
	}
	if s.data == nil {
		return nil, artifacts.Descriptor{}, fmt.Errorf("%w: no %s", artifacts.ErrNotFound, id.FileName())
	}
	sum := sha256.Sum256(s.data)
	if s.lie {
		sum = sha256.Sum256([]byte("something else"))
	}
	return io.NopCloser(bytes.NewReader(s.data)), artifacts.Descriptor{
		Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(s.data)),
		Source: "fake://store/" + id.FileName(), Store: s.Name(),
	}, nil
}

// fakeCompiler builds data, or cannot (cannot), or fails (fail).
type fakeCompiler struct {
	data         []byte
	cannot, fail error
	plans, calls int
}

func (c *fakeCompiler) Plan(context.Context, host.Facts) (string, error) {
	c.plans++
	if c.cannot != nil {
		return "", c.cannot
	}
	return "cc-fake against /lib/modules/6.1.0-56-amd64/build", nil
}

func (c *fakeCompiler) Compile(context.Context, host.Facts) (Compiled, error) {
	c.calls++
	if c.fail != nil {
		return Compiled{}, c.fail
	}
	return Compiled{Module: c.data, Compiler: "cc-fake 12"}, nil
}

func readKo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testKo)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResolve covers every way to get (or not get) the module.
func TestResolve(t *testing.T) {
	ko := readKo(t)
	noHeaders := fmt.Errorf("no headers at /lib/modules/6.1.0-56-amd64/build (install linux-headers-6.1.0-56-amd64): %w", ErrCannotCompile)
	all := ArtifactPolicy{Download: true, Compile: true}
	for _, tc := range []struct {
		name     string
		store    *fakeStore // nil: no store configured
		cc       *fakeCompiler
		policy   ArtifactPolicy
		origin   string
		err      []error  // errors.Is must hold for each
		inErr    []string // the explanation
		compiles int
		inString string
	}{
		{name: "store hit", store: &fakeStore{data: ko}, cc: &fakeCompiler{}, policy: all,
			origin: OriginStore, inString: "downloaded from fake://store"},
		{name: "miss, compiled", store: &fakeStore{}, cc: &fakeCompiler{data: ko}, policy: all,
			origin: OriginCompiled, compiles: 1, inString: "compiled on this node with cc-fake 12"},
		{name: "miss, compile not allowed", store: &fakeStore{}, cc: &fakeCompiler{data: ko},
			policy: ArtifactPolicy{Download: true}, err: []error{ErrNoArtifact, artifacts.ErrNotFound},
			inErr: []string{"no kmod for debian 6.1.0-56-amd64: download: store fake://store: artifact not found", "compile: --compile=false"}},
		{name: "miss, no headers", store: &fakeStore{}, cc: &fakeCompiler{cannot: noHeaders}, policy: all,
			err: []error{ErrNoArtifact}, inErr: []string{"download: store fake://store: artifact not found",
				"compile: no headers at /lib/modules/6.1.0-56-amd64/build (install linux-headers-6.1.0-56-amd64)"}},
		{name: "integrity fault, compiled", store: &fakeStore{data: ko, lie: true}, cc: &fakeCompiler{data: ko}, policy: all,
			origin: OriginCompiled, compiles: 1},
		{name: "5xx fault, compile not allowed", store: &fakeStore{fail: errors.New("503 Service Unavailable after 3 retries")},
			cc: &fakeCompiler{}, policy: ArtifactPolicy{Download: true}, err: []error{ErrNoArtifact},
			inErr: []string{"download: store fake://store: 503 Service Unavailable after 3 retries", "compile: --compile=false"}},
		{name: "integrity fault, cannot compile", store: &fakeStore{data: ko, lie: true}, cc: &fakeCompiler{cannot: noHeaders}, policy: all,
			err: []error{ErrNoArtifact, artifacts.ErrIntegrity}, inErr: []string{"artifact failed verification", "compile: no headers"}},
		{name: "download=false", store: &fakeStore{data: ko}, cc: &fakeCompiler{data: ko}, policy: ArtifactPolicy{Compile: true},
			origin: OriginCompiled, compiles: 1},
		{name: "download=false, compile=false", store: &fakeStore{data: ko}, cc: &fakeCompiler{data: ko},
			err: []error{ErrNoArtifact}, inErr: []string{"download: --download=false; compile: --compile=false"}},
		{name: "no store, cannot compile", cc: &fakeCompiler{cannot: noHeaders}, policy: all,
			err: []error{ErrNoArtifact}, inErr: []string{"download: no store configured (give --repo URL)", "compile: no headers"}},
		{name: "no compiler in this program", store: &fakeStore{}, policy: all,
			err: []error{ErrNoArtifact}, inErr: []string{"compile: not possible"}},
		{name: "build failed", store: &fakeStore{}, cc: &fakeCompiler{fail: fmt.Errorf("x: %w: error: foo", builder.ErrBuild)}, policy: all,
			err: []error{builder.ErrBuild}, inErr: []string{"download: store fake://store: artifact not found", "compile: x: build failed"}, compiles: 1},
		{name: "dry run plans both", store: &fakeStore{data: ko}, cc: &fakeCompiler{data: ko}, policy: ArtifactPolicy{Download: true, Compile: true, DryRun: true},
			origin: OriginPlanned, inString: "would download from fake://store, else compile with cc-fake against"},
		{name: "dry run, cannot compile", store: &fakeStore{}, cc: &fakeCompiler{cannot: noHeaders}, policy: ArtifactPolicy{Download: true, Compile: true, DryRun: true},
			origin: OriginPlanned, inString: "would download from fake://store (compile: no headers at"},
		{name: "dry run, nothing possible", cc: &fakeCompiler{data: ko}, policy: ArtifactPolicy{Download: true, DryRun: true},
			err: []error{ErrNoArtifact}, inErr: []string{"download: no store configured", "compile: --compile=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()}}
			if tc.store != nil {
				src.Store = tc.store
			}
			if tc.cc != nil {
				src.Compiler = tc.cc
			}
			a, err := src.Resolve(context.Background(), kmodFacts("/"), tc.policy)
			for _, want := range tc.err {
				if !errors.Is(err, want) {
					t.Fatalf("error %v does not match %v", err, want)
				}
			}
			if tc.err != nil && errors.Is(err, ErrNoArtifact) != errors.Is(tc.err[0], ErrNoArtifact) {
				t.Fatalf("error %v: ErrNoArtifact mismatch", err)
			}
			for _, s := range tc.inErr {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Fatalf("error %v does not say %q", err, s)
				}
			}
			if tc.err == nil && err != nil {
				t.Fatal(err)
			}
			if tc.err != nil {
				return
			}
			if a.Origin != tc.origin {
				t.Fatalf("origin %q, want %q (%+v)", a.Origin, tc.origin, a)
			}
			if !strings.Contains(a.String(), tc.inString) {
				t.Fatalf("%q does not say %q", a.String(), tc.inString)
			}
			cc := tc.cc
			if cc.calls != tc.compiles {
				t.Fatalf("compiled %d times, want %d", cc.calls, tc.compiles)
			}
			if tc.policy.DryRun {
				if a.Path != "" || (tc.store != nil && tc.store.calls != 0) {
					t.Fatalf("dry run fetched: %+v, %d store calls", a, tc.store.calls)
				}
				return
			}
			if !tc.policy.Download && tc.store != nil && tc.store.calls != 0 {
				t.Fatalf("--download=false asked the store %d times", tc.store.calls)
			}
			// Whatever its origin, the module is now in the cache, verified:
			// the next install takes it from there.
			got, err := os.ReadFile(a.Path)
			if err != nil || !bytes.Equal(got, ko) {
				t.Fatalf("module at %s: %v", a.Path, err)
			}
			again, err := src.Resolve(context.Background(), kmodFacts("/"), ArtifactPolicy{})
			if err != nil || again.Origin != OriginCache || again.Path != a.Path {
				t.Fatalf("second resolve: %+v, %v", again, err)
			}
		})
	}
}

// TestKmodPreflightResolves: without --file the kmod driver resolves the
// module, preflights it and reports where it came from.
func TestKmodPreflightResolves(t *testing.T) {
	src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
		Store: &fakeStore{}, Compiler: &fakeCompiler{data: readKo(t)}}
	d, err := NewDriver(Kmod, DriverConfig{Kmod: KmodOptions{Artifacts: src, Policy: ArtifactPolicy{Download: true, Compile: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if d.(*kmodDriver).loaded(host.Facts{}) {
		testenv.Missing(t, "a kdriver module is loaded on this host: unload it (kdriver cleanup)")
	}
	lines, err := d.Preflight(context.Background(), kmodFacts("/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "compiled on this node with cc-fake 12") ||
		!strings.Contains(lines[1], "x86_64 module kdriver for kernel 6.1.0-56-amd64") {
		t.Fatalf("preflight said %q", lines)
	}
	a := d.(interface{ Artifact() *Artifact }).Artifact()
	if a == nil || a.Origin != OriginCompiled || a.Compiler != "cc-fake 12" {
		t.Fatalf("artifact %+v", a)
	}

	// A module for another kernel fails the preflight, naming the release.
	f := kmodFacts("/")
	f.Kernel.Release, f.Target.FixedRelease = "6.1.0-57-amd64", "6.1.0-57-amd64"
	if _, err := d.Preflight(context.Background(), f); err == nil || !strings.Contains(err.Error(), "6.1.0-57-amd64") {
		t.Fatalf("wrong kernel: %v", err)
	}
}

// TestLocalCompilerPlan: the reasons a node cannot compile name what to install.
func TestLocalCompilerPlan(t *testing.T) {
	root := t.TempDir()
	l := &builder.LocalCompiler{}
	_, err := l.Plan(context.Background(), kmodFacts(root))
	if !errors.Is(err, ErrCannotCompile) || !strings.Contains(err.Error(), "no headers at "+filepath.Join(root, "lib/modules/6.1.0-56-amd64/build")+" (install linux-headers-6.1.0-56-amd64)") {
		t.Fatalf("no headers: %v", err)
	}

	// The headers live in /usr/src and build is an absolute symlink: it is
	// followed inside the host root.
	kdir := filepath.Join(root, "usr/src/linux-headers-6.1.0-56-amd64")
	for name, body := range map[string]string{
		"Makefile":                 "include ../linux-headers-6.1.0-56-common/Makefile\n",
		"include/config/auto.conf": "CONFIG_CC_VERSION_TEXT=\"gcc-97 (Debian 97.1.0-1) 97.1.0\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(kdir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(kdir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "lib/modules/6.1.0-56-amd64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/src/linux-headers-6.1.0-56-amd64", filepath.Join(root, "lib/modules/6.1.0-56-amd64/build")); err != nil {
		t.Fatal(err)
	}
	_, err = l.Plan(context.Background(), kmodFacts(root))
	if !errors.Is(err, ErrCannotCompile) || !strings.Contains(err.Error(), "compiler gcc-97 not found") {
		t.Fatalf("no compiler: %v", err)
	}
	// The full explanation, as install prints it.
	src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()}, Compiler: l}
	_, err = src.Resolve(context.Background(), kmodFacts(root), ArtifactPolicy{Download: true, Compile: true})
	want := `no driver artifact available: no kmod for debian 6.1.0-56-amd64: download: no store configured (give --repo URL); compile: compiler gcc-97 not found (the headers want "gcc-97 (Debian 97.1.0-1) 97.1.0"; install gcc-97)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// signedStore publishes data as id in a file store with a signed index
// and returns that store opened with the index key, and the entry.
func signedStore(t *testing.T, id artifacts.ID, data []byte) (artifacts.Store, artifacts.Entry) {
	t.Helper()
	priv, pub, _ := artifacts.GenerateKey()
	signKey, _ := artifacts.ParsePrivateKey(priv)
	keys, _ := artifacts.ParsePublicKeys(pub)
	dir := t.TempDir()
	ps, _ := artifacts.NewFileStore(dir, artifacts.Options{SignKey: signKey})
	e := artifacts.EntryFor(id)
	sum := sha256.Sum256(data)
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(data))
	if _, err := ps.Push(context.Background(), e, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	keyed, err := artifacts.NewFileStore(dir, artifacts.Options{IndexKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return keyed, e
}

// TestResolveIndexKeyCache: a module cached without an index key is not
// reported "in the cache, verified" under --index-key when the signed
// index lists another digest: the signed module is downloaded.
func TestResolveIndexKeyCache(t *testing.T) {
	ko := readKo(t)
	other := bytes.Clone(ko)
	other[len(other)-1] ^= 0xff // same module, other bytes
	f := kmodFacts("/")
	id := f.Target.Artifact("kdriver", "0.1.0", artifacts.KindKmod)
	keyed, e := signedStore(t, id, ko)
	cache := &artifacts.Cache{Dir: t.TempDir()}
	if _, err := cache.Fetch(context.Background(), &fakeStore{data: other}, id, artifacts.FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: cache, Store: keyed}
	a, err := src.Resolve(context.Background(), f, ArtifactPolicy{Download: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Origin != OriginStore || a.SHA256 != e.SHA256 {
		t.Fatalf("resolved %s (sha256 %s), want the signed module %s downloaded", a, a.SHA256, e.SHA256)
	}
}

// TestResolveIndexKeyCompiledOnce: under --index-key a module built on
// the node is trusted from the cache the next time (it was never a
// download a signed index must vouch for), so a kernel the signed store
// lacks is compiled once, not on every install; a download the signed
// index does not list is still refused.
func TestResolveIndexKeyCompiledOnce(t *testing.T) {
	ko := readKo(t)
	f := kmodFacts("/")
	id := f.Target.Artifact("kdriver", "0.1.0", artifacts.KindKmod)
	// A signed store that has another kernel's module only.
	other := id
	other.KernelRelease = "6.1.0-99-amd64"
	keyed, _ := signedStore(t, other, ko)
	cc := &fakeCompiler{data: ko}
	src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
		Store: keyed, Compiler: cc}
	all := ArtifactPolicy{Download: true, Compile: true}
	for i, want := range []string{OriginCompiled, OriginCache} {
		a, err := src.Resolve(context.Background(), f, all)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		if a.Origin != want || cc.calls != 1 {
			t.Fatalf("install %d: %s after %d builds, want %s and 1 build", i+1, a, cc.calls, want)
		}
	}

	// The same bytes cached from a download without a key: refused under
	// the key (the signed index does not list them), so built here.
	cache := &artifacts.Cache{Dir: t.TempDir()}
	if _, err := cache.Fetch(context.Background(), &fakeStore{data: ko}, id, artifacts.FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	cc = &fakeCompiler{data: ko}
	src = &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: cache, Store: keyed, Compiler: cc}
	a, err := src.Resolve(context.Background(), f, all)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if a.Origin != OriginCompiled || cc.calls != 1 {
		t.Fatalf("an unsigned download in the cache: %s after %d builds, want it refused and compiled", a, cc.calls)
	}
}

// TestResolveWrongModulePassedOver: a store serving a module for another
// arch or kernel (with a matching digest) does not get it into the cache;
// the next store is tried, then a build on the node, and a later run is
// not stuck with it.
func TestResolveWrongModulePassedOver(t *testing.T) {
	ko := readKo(t)
	arm, err := os.ReadFile("../kmod/testdata/kdriver-6.1.0-56-arm64.ko")
	if err != nil {
		t.Fatal(err)
	}
	f := kmodFacts("/")
	otherKernel := kmodFacts("/")
	otherKernel.Kernel.Release = "6.1.0-57-amd64" // the cached name stays that of f's target
	all := ArtifactPolicy{Download: true, Compile: true}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	t.Run("next store", func(t *testing.T) {
		src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
			Store: artifacts.NewMultiStore(&fakeStore{data: arm}, &fakeStore{data: ko})}
		a, err := src.Resolve(context.Background(), f, all)
		if err != nil {
			t.Fatal(err)
		}
		if a.Origin != OriginStore || a.SHA256 != sum(ko) {
			t.Fatalf("resolved %s (sha256 %s), want the second store's module", a, a.SHA256)
		}
	})
	t.Run("then compile", func(t *testing.T) {
		cc := &fakeCompiler{data: ko}
		src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
			Store: &fakeStore{data: arm}, Compiler: cc}
		a, err := src.Resolve(context.Background(), f, all)
		if err != nil {
			t.Fatal(err)
		}
		if a.Origin != OriginCompiled || cc.calls != 1 || !strings.Contains(a.Download, "built for arch aarch64") {
			t.Fatalf("resolved %s after %d builds (download: %s), want it compiled after the arch mismatch", a, cc.calls, a.Download)
		}
	})
	t.Run("no fallback: the error says why", func(t *testing.T) {
		src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: &artifacts.Cache{Dir: t.TempDir()},
			Store: &fakeStore{data: ko}}
		_, err := src.Resolve(context.Background(), otherKernel, ArtifactPolicy{Download: true})
		if !errors.Is(err, ErrNoArtifact) || !strings.Contains(err.Error(), "6.1.0-57-amd64") {
			t.Fatalf("wrong kernel: %v", err)
		}
		// Nothing was cached: the same run again fails the same honest way,
		// and a run for the module's own kernel downloads it.
		if _, err := src.Cache.Cached(context.Background(), nil, f.Target.Artifact("kdriver", "0.1.0", artifacts.KindKmod),
			artifacts.FetchOptions{}); !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatalf("a module that failed preflight was cached: %v", err)
		}
	})
	t.Run("cached by an older kdriver", func(t *testing.T) {
		cache := &artifacts.Cache{Dir: t.TempDir()}
		id := f.Target.Artifact("kdriver", "0.1.0", artifacts.KindKmod)
		if _, err := cache.Fetch(context.Background(), &fakeStore{data: arm}, id, artifacts.FetchOptions{}); err != nil {
			t.Fatal(err)
		}
		src := &ArtifactSource{DriverName: "kdriver", DriverVersion: "0.1.0", Cache: cache, Store: &fakeStore{data: ko}}
		a, err := src.Resolve(context.Background(), f, ArtifactPolicy{Download: true})
		if err != nil || a.Origin != OriginStore || a.SHA256 != sum(ko) {
			t.Fatalf("resolved %v (%v), want the wrong cached module replaced by a download", a, err)
		}
	})
}

// scapKo is the test module renamed scap in its modinfo, as Falco's
// module registers (same length: the rest of the ELF stays valid).
func scapKo(t *testing.T) []byte {
	t.Helper()
	ko := readKo(t)
	out := bytes.Replace(ko, []byte("name=kdriver\x00"), []byte("name=scap\x00\x00\x00\x00"), 1)
	if bytes.Equal(out, ko) {
		t.Fatal("no name=kdriver in the test module")
	}
	return out
}

// TestResolveByModuleName: a kit's source (Falco's scap) takes a module
// only if it registers under the kit's name: kdriver's own module from a
// store is passed over, scap's is taken and cached.
func TestResolveByModuleName(t *testing.T) {
	f := kmodFacts("/")
	all := ArtifactPolicy{Download: true}
	src := &ArtifactSource{DriverName: "scap", DriverVersion: "0.23.2", Module: "scap",
		Cache: &artifacts.Cache{Dir: t.TempDir()}, Store: &fakeStore{data: readKo(t)}}
	if a, err := src.Resolve(context.Background(), f, all); !errors.Is(err, ErrNoArtifact) || !strings.Contains(err.Error(), "kdriver") {
		t.Fatalf("kdriver.ko for scap: %v, %v; want it refused by its module name", a, err)
	}
	src.Store = &fakeStore{data: scapKo(t)}
	a, err := src.Resolve(context.Background(), f, all)
	if err != nil || a.Origin != OriginStore {
		t.Fatalf("scap.ko for scap: %v, %v", a, err)
	}
	a.Close()
	if again, err := src.Resolve(context.Background(), f, all); err != nil || again.Origin != OriginCache {
		t.Fatalf("second resolve: %v, %v; want the verified copy in the cache", again, err)
	}
}

// fakeHeaders plans headers from "fake://archive"; KDIR is not reached in
// a plan.
type fakeHeaders struct{ cannot error }

func (h fakeHeaders) Plan(f host.Facts) (string, error) {
	if h.cannot != nil {
		return "", h.cannot
	}
	return "headers of " + f.Kernel.Release + " from fake://archive", nil
}

func (h fakeHeaders) KDIR(context.Context, host.Facts) (string, error) {
	return "", errors.New("fakeHeaders: KDIR called")
}

// TestLocalCompilerKit: another driver's module is compiled from its DKMS
// folder under <host root>/usr/src/<name>-<version>, within its
// BUILD_EXCLUSIVE range, and missing headers are planned from the
// HeadersSource; each reason names what is missing.
func TestLocalCompilerKit(t *testing.T) {
	root := t.TempDir()
	f := kmodFacts(root)
	l := &builder.LocalCompiler{DriverName: "hello", DriverVersion: "1.2", Headers: fakeHeaders{}}
	_, err := l.Plan(context.Background(), f)
	if !errors.Is(err, ErrCannotCompile) || !strings.Contains(err.Error(), "no source of driver hello 1.2 at "+filepath.Join(root, "usr/src/hello-1.2")) {
		t.Fatalf("no source: %v", err)
	}
	kitDir := filepath.Join(root, "usr/src/hello-1.2")
	if err := os.MkdirAll(kitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dkms.conf", "Makefile", "hello.c"} {
		b, err := os.ReadFile(filepath.Join("../kit/testdata/hello-1.2", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(kitDir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	how, err := l.Plan(context.Background(), f)
	if err != nil || !strings.Contains(how, kitDir) || !strings.Contains(how, "headers of 6.1.0-56-amd64 from fake://archive") {
		t.Fatalf("plan: %q, %v; want the kit's folder and the headers' source", how, err)
	}
	l.Headers = fakeHeaders{cannot: fmt.Errorf("no apt source under %s to fetch them from: %w", root, ErrCannotCompile)}
	if _, err := l.Plan(context.Background(), f); !errors.Is(err, ErrCannotCompile) ||
		!strings.Contains(err.Error(), "(install linux-headers-6.1.0-56-amd64); no apt source under") {
		t.Fatalf("no headers anywhere: %v", err)
	}
	old := f
	old.Kernel.Release = "4.19.0-27-amd64" // below the kit's BUILD_EXCLUSIVE_KERNEL_MIN 5.4
	if _, err := l.Plan(context.Background(), old); !errors.Is(err, ErrCannotCompile) || !strings.Contains(err.Error(), "BUILD_EXCLUSIVE_KERNEL_MIN") {
		t.Fatalf("kernel outside the kit's range: %v", err)
	}
	l.DriverName = "scap" // a folder of another driver is not taken for it
	if _, err := l.Plan(context.Background(), f); !errors.Is(err, ErrCannotCompile) || !strings.Contains(err.Error(), "usr/src/scap-1.2") {
		t.Fatalf("scap without its folder: %v", err)
	}
}
