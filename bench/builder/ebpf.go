package main

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/events"
)

// probeOne measures kdriver's legacy eBPF probe built for target t by the
// builder (kind ebpf: cache key with the clang version, compiler check,
// rendered script, local backend, inspection of the object's recorded
// arch and release, record) against the probe's kbuild invocation by hand,
// `make -C KDIR M= ARCH= CLANG= LLC= KD_EVENT_DIR=`, on the same assembled
// tree and with the same clang. Returns the fastest of each and the clang.
func probeOne(ctx context.Context, repeat int, work string, store *headers.Store, t matrix.Target) (viaBuilder, raw time.Duration, clang builder.Clang) {
	clang, err := builder.HostClang(ctx)
	check(err)
	tree, err := store.Tree(ctx, t)
	check(err)
	sub, err := fs.Sub(legacy.CSource, "c")
	check(err)
	src := builder.Source{FS: sub, Module: "kdriver", ExtraData: map[string]string{
		"kd_event.h": events.CHeader, "kd_target.h": legacy.TargetHeader("", "0.1.0")}}
	i := 0
	viaBuilder, raw = pair(repeat, func(int) {
		i++
		dir := filepath.Join(work, fmt.Sprintf("probe-%d", i))
		b, err := builder.New(builder.Options{
			Headers: store, Mode: "local", Source: src, Jobs: 1, Kind: artifacts.KindEBPF, Clang: clang,
			Choose: func(context.Context, matrix.Target, builder.Compiler) (builder.Backend, error) {
				return &builder.Local{}, nil
			},
			OutDir: filepath.Join(dir, "out"), CacheDir: filepath.Join(dir, "builds"),
			DriverName: "kdriver", DriverVersion: "0.1.0", HostArch: "x86_64",
		})
		check(err)
		rep, err := b.Run(ctx, []matrix.Target{t})
		check(err)
		if rep.Built != 1 {
			log.Fatalf("builder built %d probes", rep.Built)
		}
	}, func(int) {
		m := filepath.Join(work, fmt.Sprintf("probe-raw-%d", i))
		check(src.Prepare(m))
		run(exec.Command("make", "-C", tree.KDIR, "M="+m, "ARCH=x86", "KD_EVENT_DIR="+m,
			"CLANG="+clang.Clang, "LLC="+clang.LLC))
		if _, err := os.Stat(filepath.Join(m, "probe.o")); err != nil {
			log.Fatalf("raw make: %v", err)
		}
	})
	return viaBuilder, raw, clang
}
