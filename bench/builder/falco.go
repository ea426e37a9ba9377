package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/kit"
)

// falcoMatrix measures Falco's kernel module, as Debian ships it (sid's
// falcosecurity-scap-dkms in the local mirror), built for the amd64 targets
// by the builder (kit from the .deb, cache key, compiler from the headers,
// preflight as "scap", -j2 over targets) against raw `make` in the unpacked
// DKMS source, one target after the other, each `make -j2`, on the same
// assembled trees. Returns the fastest of each and the number of targets.
func falcoMatrix(ctx context.Context, repeat int, mirror, work string, store *headers.Store, targets []matrix.Target) (viaBuilder, raw time.Duration, n int, debName string) {
	debs, _ := filepath.Glob(filepath.Join(mirror, "pool", "sid", "falcosecurity-scap-dkms_0.23.2-*_all.deb"))
	if len(debs) != 1 {
		log.Fatalf("no sid falcosecurity-scap-dkms 0.23.2 in %s: run scripts/setup-builder.sh", mirror)
	}
	k, err := kit.Open(ctx, debs[0], kit.Options{TmpDir: work})
	check(err)
	var amd64 []matrix.Target
	trees := map[string]string{}
	for _, t := range targets {
		if t.Arch != "x86_64" {
			continue
		}
		tree, err := store.Tree(ctx, t)
		check(err)
		trees[t.KernelRelease] = tree.KDIR
		amd64 = append(amd64, t)
	}
	srcDir := filepath.Join(work, "scap-src")
	check(os.CopyFS(srcDir, k.Source))
	i := 0
	viaBuilder, raw = pair(repeat, func(int) {
		i++
		dir := filepath.Join(work, fmt.Sprintf("falco-%d", i))
		b, err := builder.New(builder.Options{
			Headers: store, Mode: "local", Kit: k, Jobs: 2,
			Choose: func(context.Context, matrix.Target, builder.Compiler) (builder.Backend, error) {
				return &builder.Local{}, nil
			},
			OutDir: filepath.Join(dir, "out"), CacheDir: filepath.Join(dir, "builds"), HostArch: "x86_64",
		})
		check(err)
		rep, err := b.Run(ctx, amd64)
		check(err)
		if rep.Built != len(amd64) {
			log.Fatalf("builder built %d of %d scap modules", rep.Built, len(amd64))
		}
	}, func(int) {
		for _, t := range amd64 {
			m := filepath.Join(work, fmt.Sprintf("falco-raw-%d-%s", i, t.KernelRelease))
			check(os.CopyFS(m, os.DirFS(srcDir)))
			kdir := trees[t.KernelRelease]
			run(exec.Command("make", "-C", kdir, "M="+m, "KERNELDIR="+kdir, "-j2", "modules"))
			if _, err := os.Stat(filepath.Join(m, k.Module+".ko")); err != nil {
				log.Fatalf("raw make for %s: %v", t.KernelRelease, err)
			}
		}
	})
	return viaBuilder, raw, len(amd64), filepath.Base(debs[0])
}
