package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/kit"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader/host"
	"github.com/kdriver/kdriver/templates"
)

// ErrCannotCompile is returned by a LocalCompiler that cannot build on
// this node (no headers, no matching compiler), unlike a build that ran
// and failed.
var ErrCannotCompile = errors.New("cannot compile on this node")

// Compiled is a module built on the node.
type Compiled struct {
	Module   []byte
	Compiler string // CONFIG_CC_VERSION_TEXT of the headers, and the binary used
	KDIR     string
	Log      []byte
}

// LocalCompiler builds the kernel module on the node with the host's
// compiler against the host's headers at <host root>/lib/modules/<uname
// -r>/build, or, when they are not installed, the headers Headers fetches.
// kdriver's own module is built from the source carried in the binary;
// another driver's (Falco's scap) from its DKMS folder under <host
// root>/usr/src/<name>-<version>, where Falco's and Debian's packages
// install it (no dkms binary needed). It is the loader's ModuleCompiler
// (loader keeps the interface; cmd wires them).
type LocalCompiler struct {
	// DriverName and DriverVersion select the source: kdriver's own
	// (DriverName empty or kdriver; the version is built into the module)
	// or /usr/src/<DriverName>-<DriverVersion>.
	DriverName    string
	DriverVersion string
	// Headers fetches the headers when the host has none; nil: the host's
	// installed headers only.
	Headers HeadersSource
	// TmpDir holds the build folders (default os.TempDir()).
	TmpDir string
	Logger *slog.Logger
}

// HeadersSource gives the kernel build tree of a host whose headers are
// not installed (no <host root>/lib/modules/<uname -r>/build).
type HeadersSource interface {
	// Plan says, without downloading, where the headers would come from;
	// an error wrapping ErrCannotCompile means they cannot.
	Plan(f host.Facts) (string, error)
	// KDIR downloads and assembles the headers and returns the tree to
	// pass to make -C.
	KDIR(ctx context.Context, f host.Facts) (string, error)
}

// plan is what a build needs: the source, the headers tree and its
// compiler. Before the headers are fetched (kdir empty, fetch says from
// where) the compiler is not known yet.
type plan struct {
	kit   *kit.Kit // nil: kdriver's own source
	kdir  string
	fetch string
	cc    Compiler
	bin   string
}

// own reports whether the driver is kdriver's own.
func (l *LocalCompiler) own() bool {
	return l.DriverName == "" || l.DriverName == kmod.ModuleName
}

// source reads another driver's DKMS folder from the host.
func (l *LocalCompiler) source(ctx context.Context, f host.Facts) (*kit.Kit, error) {
	if l.own() {
		return nil, nil
	}
	if l.DriverVersion == "" {
		return nil, fmt.Errorf("driver %s: no driver version to find its source by (/usr/src/%s-<version>): %w",
			l.DriverName, l.DriverName, ErrCannotCompile)
	}
	dir := hostPath(f.HostRoot, filepath.Join("/usr/src", l.DriverName+"-"+l.DriverVersion))
	if _, err := os.Stat(filepath.Join(dir, "dkms.conf")); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("driver source %s: %w", dir, err)
		}
		return nil, fmt.Errorf("no source of driver %s %s at %s (a DKMS folder, as Falco's and Debian's packages install): %w",
			l.DriverName, l.DriverVersion, dir, ErrCannotCompile)
	}
	k, err := kit.Open(ctx, dir, kit.Options{TmpDir: l.TmpDir})
	if err != nil {
		return nil, fmt.Errorf("driver source: %w", err)
	}
	if k.Module != l.DriverName {
		return nil, fmt.Errorf("driver source %s builds module %s, not %s: %w", dir, k.Module, l.DriverName, ErrCannotCompile)
	}
	if ok, why := k.Exclusive.Allows(f.Kernel.Release, string(f.Arch)); !ok {
		return nil, fmt.Errorf("driver source %s: %s: %w", dir, why, ErrCannotCompile)
	}
	return k, nil
}

// plan finds the source, the headers and the compiler; with fetch it
// downloads missing headers, without it only says where they would come from.
func (l *LocalCompiler) plan(ctx context.Context, f host.Facts, fetch bool) (plan, error) {
	k, err := l.source(ctx, f)
	if err != nil {
		return plan{}, err
	}
	p := plan{kit: k}
	p.kdir = hostPath(f.HostRoot, filepath.Join("/lib/modules", f.Kernel.Release, "build"))
	if _, err := os.Stat(filepath.Join(p.kdir, "Makefile")); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return plan{}, fmt.Errorf("headers at %s: %w", p.kdir, err)
		}
		missing := fmt.Sprintf("no headers at %s (install %s)", p.kdir, headersPackage(f))
		if l.Headers == nil {
			return plan{}, fmt.Errorf("%s: %w", missing, ErrCannotCompile)
		}
		if p.fetch, err = l.Headers.Plan(f); err != nil {
			return plan{}, fmt.Errorf("%s; %w", missing, err)
		}
		if !fetch {
			p.kdir = ""
			return p, nil
		}
		if p.kdir, err = l.Headers.KDIR(ctx, f); err != nil {
			return plan{}, fmt.Errorf("%s; %w", missing, err)
		}
	}
	if p.cc, err = ReadCompiler(p.kdir); err != nil {
		return plan{}, fmt.Errorf("%w: %w", err, ErrCannotCompile)
	}
	if p.bin, err = HostCompiler(ctx, p.cc, l.crossPrefix(f)); err != nil {
		if errors.Is(err, ErrNoCompiler) {
			return plan{}, fmt.Errorf("compiler %s not found (the headers want %q; install %s): %w",
				p.cc.Command, p.cc.Text, p.cc.Command, ErrCannotCompile)
		}
		return plan{}, err
	}
	return p, nil
}

func (l *LocalCompiler) crossPrefix(f host.Facts) string {
	self, err := kernelrelease.ParseArch(runtime.GOARCH)
	if f.Arch == "" || err != nil {
		return ""
	}
	return CrossPrefix(string(f.Arch), string(self))
}

// Plan implements ModuleCompiler.
func (l *LocalCompiler) Plan(ctx context.Context, f host.Facts) (string, error) {
	p, err := l.plan(ctx, f, false)
	if err != nil {
		return "", err
	}
	what := ""
	if p.kit != nil {
		what = p.kit.Origin + " "
	}
	if p.kdir == "" {
		return what + p.fetch, nil
	}
	return fmt.Sprintf("%s%s against %s", what, p.bin, p.kdir), nil
}

// Compile implements ModuleCompiler.
func (l *LocalCompiler) Compile(ctx context.Context, f host.Facts) (Compiled, error) {
	p, err := l.plan(ctx, f, true)
	if err != nil {
		return Compiled{}, err
	}
	module := kmod.ModuleName
	env := map[string]string{"KARCH": f.Arch.Kbuild(), "JOBS": "2"}
	var src Source
	if p.kit == nil {
		sub, err := fs.Sub(kmod.Source, "src")
		if err != nil {
			return Compiled{}, err
		}
		src = Source{FS: sub, Module: module, ExtraData: map[string]string{"kd_event.h": events.CHeader}}
		if l.DriverVersion != "" {
			env["DRIVER_VERSION"] = l.DriverVersion
		}
	} else {
		module = p.kit.Module
		src = Source{FS: p.kit.Source, Module: module}
	}
	env["MODULE"] = module
	dir, err := os.MkdirTemp(l.TmpDir, "kdriver-src-")
	if err != nil {
		return Compiled{}, err
	}
	defer os.RemoveAll(dir)
	if err := src.Prepare(dir); err != nil {
		return Compiled{}, err
	}
	cross := l.crossPrefix(f)
	script, err := templates.Render(templates.Data{Family: "debian", Kind: "kmod", Target: f.Target.ID + " " + f.Kernel.Release, Cross: cross != ""})
	if err != nil {
		return Compiled{}, err
	}
	if cross != "" {
		env["CROSS_COMPILE"] = cross
	}
	r, err := (&Local{TmpDir: l.TmpDir}).Build(ctx, Job{
		Name: f.Kernel.Release, Script: script, Root: p.kdir, KDIR: ".", Source: dir,
		Artifact: module + ".ko", Compiler: p.cc, Env: env,
	})
	if err != nil {
		return Compiled{Log: r.Log}, err
	}
	return Compiled{Module: r.Artifact, Compiler: fmt.Sprintf("%s (%s)", p.cc.Text, p.bin), KDIR: p.kdir, Log: r.Log}, nil
}

// hostPath is p inside the host root, following a symlink whose absolute
// target means the host's path (/lib/modules/R/build → /usr/src/…).
func hostPath(root, p string) string {
	if root == "" {
		root = "/"
	}
	full := filepath.Join(root, p)
	if t, err := os.Readlink(full); err == nil && filepath.IsAbs(t) && root != "/" {
		return filepath.Join(root, t)
	}
	return full
}

// headersPackage names the package with the headers for the host's kernel.
func headersPackage(f host.Facts) string {
	switch f.OS.ID {
	case "debian", "ubuntu":
		return "linux-headers-" + f.Kernel.Release
	case "fedora", "rhel", "centos", "rocky", "almalinux", "amzn", "ol":
		return "kernel-devel-" + f.Kernel.Release
	}
	return "the headers of kernel " + f.Kernel.Release
}
