package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader/host"
	"github.com/kdriver/kdriver/templates"
)

// ProbeCompiler builds kdriver's legacy eBPF probe on the node against the
// same headers as the module (LocalCompiler's), with the newest clang and
// llc on PATH; the kernel's gcc runs kbuild's own checks. It is the
// loader's ModuleCompiler for the ebpf kind.
type ProbeCompiler struct {
	LocalCompiler
}

func (p *ProbeCompiler) planProbe(ctx context.Context, f host.Facts) (plan, Clang, error) {
	pl, err := p.plan(ctx, f, true) // the probe: kdriver's own, installed headers (no Headers set)
	if err != nil {
		return pl, Clang{}, err
	}
	cl, err := HostClang(ctx)
	if err != nil {
		if errors.Is(err, ErrNoClang) {
			return pl, cl, fmt.Errorf("%w: %w", err, ErrCannotCompile)
		}
		return pl, cl, err
	}
	return pl, cl, nil
}

// Plan implements the loader's ModuleCompiler.
func (p *ProbeCompiler) Plan(ctx context.Context, f host.Facts) (string, error) {
	pl, cl, err := p.planProbe(ctx, f)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s and %s through kbuild (%s) against %s", cl.Clang, cl.LLC, pl.bin, pl.kdir), nil
}

// Compile implements the loader's ModuleCompiler: the object comes back in Module.
func (p *ProbeCompiler) Compile(ctx context.Context, f host.Facts) (Compiled, error) {
	pl, cl, err := p.planProbe(ctx, f)
	if err != nil {
		return Compiled{}, err
	}
	sub, err := fs.Sub(legacy.CSource, "c")
	if err != nil {
		return Compiled{}, err
	}
	src := Source{FS: sub, Module: "kdriver", ExtraData: map[string]string{
		"kd_event.h": events.CHeader, "kd_target.h": legacy.TargetHeader(f.Kernel.Version, p.DriverVersion)}}
	dir, err := os.MkdirTemp(p.TmpDir, "kdriver-probe-")
	if err != nil {
		return Compiled{}, err
	}
	defer os.RemoveAll(dir)
	if err := src.Prepare(dir); err != nil {
		return Compiled{}, err
	}
	cross := p.crossPrefix(f)
	script, err := templates.Render(templates.Data{Family: "debian", Kind: "ebpf", Target: f.Target.ID + " " + f.Kernel.Release, Cross: cross != ""})
	if err != nil {
		return Compiled{}, err
	}
	env := map[string]string{"MODULE": "kdriver", "KARCH": f.Arch.Kbuild(), "CLANG": cl.Clang, "LLC": cl.LLC}
	if cross != "" {
		env["CROSS_COMPILE"] = cross
	}
	r, err := (&Local{TmpDir: p.TmpDir}).Build(ctx, Job{
		Name: f.Kernel.Release, Script: script, Root: pl.kdir, KDIR: ".", Source: dir,
		Artifact: "kdriver.o", Compiler: pl.cc, Env: env,
	})
	if err != nil {
		return Compiled{Log: r.Log}, err
	}
	return Compiled{Module: r.Artifact, Compiler: fmt.Sprintf("%s, kbuild with %s (%s)", cl, pl.cc.Text, pl.bin), KDIR: pl.kdir, Log: r.Log}, nil
}

// verifyProbe is the ebpf kind's check before a probe is cached and
// published: kdriver's probe records the target's arch and release,
// a kit's (Falco's) its release in kernel_version.
func verifyProbe(kit bool) func(path string, t matrix.Target) error {
	return func(path string, t matrix.Target) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r := bytes.NewReader(b)
		if kit {
			info, err := legacy.InspectFalco(path, r, int64(len(b)))
			if err != nil {
				return err
			}
			return info.Check(path, t.KernelRelease)
		}
		info, err := legacy.Inspect(path, r, int64(len(b)))
		if err != nil {
			return err
		}
		return info.Check(path, legacy.Want{Arch: t.Arch, KernelRelease: t.KernelRelease})
	}
}
