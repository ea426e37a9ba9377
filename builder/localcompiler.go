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
// -r>/build, using the module source carried in the binary. It is the
// loader's ModuleCompiler (loader keeps the interface; cmd wires them).
type LocalCompiler struct {
	// DriverVersion is built into the module (its version string).
	DriverVersion string
	// TmpDir holds the build folders (default os.TempDir()).
	TmpDir string
	Logger *slog.Logger
}

// plan is what a build needs: the headers tree and its compiler.
type plan struct {
	kdir string
	cc   Compiler
	bin  string
}

func (l *LocalCompiler) plan(ctx context.Context, f host.Facts) (plan, error) {
	rel := filepath.Join("/lib/modules", f.Kernel.Release, "build")
	kdir := hostPath(f.HostRoot, rel)
	if _, err := os.Stat(filepath.Join(kdir, "Makefile")); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return plan{}, fmt.Errorf("headers at %s: %w", kdir, err)
		}
		return plan{}, fmt.Errorf("no headers at %s (install %s): %w", kdir, headersPackage(f), ErrCannotCompile)
	}
	cc, err := ReadCompiler(kdir)
	if err != nil {
		return plan{}, fmt.Errorf("%w: %w", err, ErrCannotCompile)
	}
	bin, err := HostCompiler(ctx, cc, l.crossPrefix(f))
	if err != nil {
		if errors.Is(err, ErrNoCompiler) {
			return plan{}, fmt.Errorf("compiler %s not found (the headers want %q; install %s): %w",
				cc.Command, cc.Text, cc.Command, ErrCannotCompile)
		}
		return plan{}, err
	}
	return plan{kdir: kdir, cc: cc, bin: bin}, nil
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
	p, err := l.plan(ctx, f)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s against %s", p.bin, p.kdir), nil
}

// Compile implements ModuleCompiler.
func (l *LocalCompiler) Compile(ctx context.Context, f host.Facts) (Compiled, error) {
	p, err := l.plan(ctx, f)
	if err != nil {
		return Compiled{}, err
	}
	sub, err := fs.Sub(kmod.Source, "src")
	if err != nil {
		return Compiled{}, err
	}
	src := Source{FS: sub, Module: kmod.ModuleName, ExtraData: map[string]string{"kd_event.h": events.CHeader}}
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
	env := map[string]string{"MODULE": kmod.ModuleName, "KARCH": f.Arch.Kbuild(), "JOBS": "2"}
	if l.DriverVersion != "" {
		env["DRIVER_VERSION"] = l.DriverVersion
	}
	if cross != "" {
		env["CROSS_COMPILE"] = cross
	}
	r, err := (&Local{TmpDir: l.TmpDir}).Build(ctx, Job{
		Name: f.Kernel.Release, Script: script, Root: p.kdir, KDIR: ".", Source: dir,
		Artifact: kmod.ModuleName + ".ko", Compiler: p.cc, Env: env,
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
