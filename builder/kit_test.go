package builder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/kit"
)

func openKit(t testing.TB, p string) *kit.Kit {
	t.Helper()
	k, err := kit.Open(context.Background(), p, kit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKitBuilder(t testing.TB, work string, k *kit.Kit, jobs int) *Builder {
	t.Helper()
	b, err := New(Options{
		Headers: nil, Kit: k, Mode: "local", OutDir: filepath.Join(work, "out"), CacheDir: filepath.Join(work, "builds"),
		Choose: func(context.Context, matrix.Target, Compiler) (Backend, error) { return &Local{}, nil },
		Jobs:   jobs, HostArch: "x86_64", Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A target outside the kit's BUILD_EXCLUSIVE_* range is skipped with the
// reason, without a download, and is not a failure.
func TestKitOutOfRangeSkipped(t *testing.T) {
	k := openKit(t, "../kit/testdata/hello-1.2") // BUILD_EXCLUSIVE_KERNEL_MIN 5.4, x86_64|aarch64
	old := matrix.Target{Name: "debian-buster-4.19.0-27-amd64", Distro: "debian", TargetID: "debian", Arch: "x86_64",
		KernelRelease: "4.19.0-27-amd64", FixedKernelRelease: "4.19.0-27-amd64", FixedKernelVersion: "1",
		Packages: []matrix.Package{{Name: "linux-headers-4.19.0-27-amd64", Role: matrix.RoleHeaders, URL: "http://127.0.0.1:1/none.deb",
			Size: 1, SHA256: strings.Repeat("0", 64)}}}
	b := newKitBuilder(t, t.TempDir(), k, 1)
	rep, err := b.Run(context.Background(), []matrix.Target{old})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	r := rep.Results[0]
	if rep.Skipped != 1 || rep.Failed != 0 || r.Status != StatusSkipped || !strings.Contains(r.Reason, "BUILD_EXCLUSIVE_KERNEL_MIN 5.4") {
		t.Fatalf("report %+v, result %+v: want skipped with the reason", rep, r)
	}
	if plan := b.Plan([]matrix.Target{old}); plan.Results[0].Status != StatusSkipped || plan.Skipped != 1 {
		t.Fatalf("plan %+v: want skipped", plan.Results[0])
	}
}

// The kit gives the driver's name, version and module: artifacts are named
// by the one naming function with the kit's name.
func TestKitIdentity(t *testing.T) {
	k := openKit(t, "../kit/testdata/hello-1.2")
	b := newKitBuilder(t, t.TempDir(), k, 1)
	tg := matrix.Target{Name: "x", TargetID: "debian", Arch: "x86_64", KernelRelease: "6.1.0-13-amd64", FixedKernelRelease: "6.1.0-13-amd64", FixedKernelVersion: "1"}
	if got := b.ID(tg).FileName(); got != "hello_debian_6.1.0-13-amd64_1.ko" {
		t.Errorf("artifact %s, want hello_debian_6.1.0-13-amd64_1.ko", got)
	}
	if b.ID(tg).DriverVersion != "1.2" || b.opts.Source.Module != "hello" {
		t.Errorf("identity %+v module %s", b.ID(tg), b.opts.Source.Module)
	}
	// The cache key follows the kit's source.
	k2 := openKit(t, "../kit/testdata/hello-1.2")
	changed := t.TempDir()
	if err := (Source{FS: k2.Source}).Prepare(changed); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(changed, "hello.c"), []byte("/* changed */\n"), 0o644)
	k3 := openKit(t, changed)
	if newKitBuilder(t, t.TempDir(), k3, 1).Key(tg) == b.Key(tg) {
		t.Error("a change to the kit's source keeps the cache key")
	}
}

func TestFirstError(t *testing.T) {
	log := "make: Entering directory '/usr/src/linux-headers-6.1.0-57-common'\n" +
		"  CC [M]  /tmp/w/main.o\n" +
		"/tmp/w/main.c:512:6: error: too many arguments to function 'access_ok'\n" +
		"/tmp/w/main.c:600:1: error: expected ';' before '}' token\n" +
		"make[2]: *** [scripts/Makefile.build:250: /tmp/w/main.o] Error 1\n"
	if got := FirstError([]byte(log)); got != "/tmp/w/main.c:512:6: error: too many arguments to function 'access_ok'" {
		t.Errorf("FirstError = %q", got)
	}
	if got := FirstError([]byte("one\ntwo\nmake: *** No rule to make target 'modules'.  Stop.\n")); !strings.Contains(got, "No rule") {
		t.Errorf("without a compiler error: %q, want the last lines", got)
	}
}
