// Command builder measures kdriver's builder against its peers, in one run,
// and prints a markdown section for docs/benchmarks.md:
//
//   - header extraction: unpack.Deb against `dpkg-deb -x` on the biggest
//     headers package of the mirror (the -common tree);
//   - one module build: Builder.Run (cache key, tree lookup, compiler from
//     the headers, rendered script, local backend, preflight, record) against
//     a raw `make -C KDIR M=` on the same assembled tree;
//   - a matrix of 4 kernels (6.1 and 6.12, amd64 and arm64) at -j2 against -j1;
//   - Falco's module from sid's falcosecurity-scap-dkms (a driver kit) for
//     the amd64 kernels, the builder against raw make in the DKMS source;
//   - kdriver's legacy eBPF probe for 6.1 amd64 (kind ebpf) against its
//     kbuild invocation by hand (-only ebpf: this one alone).
//
// It needs the local mirror of scripts/setup-builder.sh, served here on
// 127.0.0.1. Run from the repository root: go run ./bench/builder
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/unpack"
)

func main() {
	repeat := flag.Int("repeat", 3, "runs of each measurement (the fastest is kept)")
	only := flag.String("only", "", "only this measurement: ebpf (the legacy eBPF probe against raw make)")
	flag.Parse()
	ctx := context.Background()
	cache := os.Getenv("KDRIVER_CACHE")
	if cache == "" {
		cache = "/var/cache/kdriver-dev"
	}
	mirror := filepath.Join(cache, "builder", "mirror")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go http.Serve(ln, http.FileServer(http.Dir(mirror)))
	url := "http://" + ln.Addr().String()

	a := &debian.Archive{URL: url, Client: &http.Client{}}
	ix, err := debian.LoadIndex(ctx, a, "bookworm", []string{"main"}, []string{"amd64", "arm64"})
	check(err)
	var targets []matrix.Target
	for _, arch := range []string{"amd64", "arm64"} {
		ks, err := ix.Kernels(arch, "amd64")
		check(err)
		seen := map[string]bool{} // the newest of each series: the mirror keeps older ABIs
		for _, k := range ks {
			series := strings.Join(strings.SplitN(k.PackageVersion, ".", 3)[:2], ".")
			if !strings.Contains(k.KernelRelease, "-rt-") && !strings.Contains(k.KernelRelease, "-cloud-") && !seen[series] {
				seen[series] = true
				targets = append(targets, k)
			}
		}
	}
	if len(targets) != 4 {
		log.Fatalf("want 4 bookworm targets in %s, got %d: run scripts/setup-builder.sh", mirror, len(targets))
	}
	work, err := os.MkdirTemp("", "kdriver-bench-")
	check(err)
	defer os.RemoveAll(work)
	hdir := filepath.Join(work, "headers")
	store := &headers.Store{Dir: hdir, Cache: &download.Cache{Dir: hdir, Client: &http.Client{}}}
	src := builder.Source{Dir: "kmod/src", Extra: []string{"events/c/kd_event.h"}, Module: "kdriver"}

	if *only == "ebpf" {
		printProbe(ctx, *repeat, work, store, targets)
		return
	}

	// 1. Extraction of the biggest package.
	var common matrix.Package
	for _, p := range targets[0].Packages {
		if p.Role == matrix.RoleCommon {
			common = p
		}
	}
	deb, _, err := store.Cache.Get(ctx, common.URL, download.Want{Size: common.Size, SHA256: common.SHA256})
	check(err)
	ours, dpkg := pair(*repeat, func(i int) {
		f, err := os.Open(deb)
		check(err)
		defer f.Close()
		_, err = unpack.Deb(ctx, f, filepath.Join(work, fmt.Sprintf("x-ours-%d", i)), unpack.Options{})
		check(err)
	}, func(i int) {
		dst := filepath.Join(work, fmt.Sprintf("x-dpkg-%d", i))
		run(exec.Command("dpkg-deb", "-x", deb, dst))
	})
	files, size := treeSize(filepath.Join(work, "x-ours-0"))

	// 2. One build: builder against raw make, on the same tree.
	t := pick(targets, "x86_64", "6.1.")
	tree, err := store.Tree(ctx, t)
	check(err)
	newBuilder := func(jobs int, dir string) *builder.Builder {
		b, err := builder.New(builder.Options{
			Headers: store, Mode: "local", Source: src, Jobs: jobs, Retries: 0,
			Choose: func(context.Context, matrix.Target, builder.Compiler) (builder.Backend, error) {
				return &builder.Local{}, nil
			},
			OutDir: filepath.Join(dir, "out"), CacheDir: filepath.Join(dir, "builds"),
			DriverName: "kdriver", DriverVersion: "0.1.0", HostArch: "x86_64",
		})
		check(err)
		return b
	}
	n := 0
	raw, viaBuilder := pair(*repeat, func(int) {
		m := filepath.Join(work, fmt.Sprintf("raw-%d", n))
		n++
		check(src.Prepare(m))
		run(exec.Command("make", "-C", tree.KDIR, "M="+m, "ARCH=x86", "-j2", "modules"))
	}, func(i int) {
		rep, err := newBuilder(1, filepath.Join(work, fmt.Sprintf("one-%d", i))).Run(ctx, []matrix.Target{t})
		check(err)
		if rep.Built != 1 {
			log.Fatalf("built %d", rep.Built)
		}
	})

	// 3. The matrix of 4 at -j1 and -j2 (trees cached, builds not).
	for _, tg := range targets {
		_, err := store.Tree(ctx, tg)
		check(err)
	}
	j := 0
	matrixRun := func(jobs int) func(int) {
		return func(int) {
			j++
			rep, err := newBuilder(jobs, filepath.Join(work, fmt.Sprintf("m-%d", j))).Run(ctx, targets)
			check(err)
			if rep.Built != len(targets) {
				log.Fatalf("built %d", rep.Built)
			}
		}
	}
	j1, j2 := pair(*repeat, matrixRun(1), matrixRun(2))

	// 4. Falco's module (a driver kit) for the amd64 targets against make.
	fb, fraw, fn, fdeb := falcoMatrix(ctx, *repeat, mirror, work, store, targets)

	fmt.Printf("## Builder: header extraction, one module build, matrix parallelism\n\n")
	fmt.Printf("Machine: %s, %d CPUs, %s; %s, load average %s. Measured by `go run ./bench/builder -repeat %d`\n",
		cpuModel(), runtime.NumCPU(), goVersion(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAvg(), *repeat)
	fmt.Printf("(kdriver and its peer run alternately, %d times each, the fastest run of each kept; other jobs share the machine).\n\n", *repeat)
	fmt.Printf("| measurement | kdriver | peer | ratio |\n|---|---|---|---|\n")
	fmt.Printf("| extract %s (%d files, %d MiB) | unpack.Deb %s | `dpkg-deb -x` %s | %.2f× |\n",
		common.Name, files, size>>20, ms(ours), ms(dpkg), ours.Seconds()/dpkg.Seconds())
	fmt.Printf("| build kdriver.ko for %s (tree cached) | Builder.Run, local backend %s | raw `make -C KDIR M=` %s | %.2f× |\n",
		t.KernelRelease, ms(viaBuilder), ms(raw), viaBuilder.Seconds()/raw.Seconds())
	fmt.Printf("| matrix of %d kernels (6.1, 6.12 × amd64, arm64 cross; trees cached) | -j2 %s | -j1 %s | %.2f× |\n",
		len(targets), ms(j2), ms(j1), j2.Seconds()/j1.Seconds())
	fmt.Printf("| Falco's scap.ko (%s) for the %d amd64 kernels (trees cached) | Builder.Run with the kit, -j2 %s | raw `make -j2` per kernel in the DKMS source %s | %.2f× |\n",
		fdeb, fn, ms(fb), ms(fraw), fb.Seconds()/fraw.Seconds())
	fmt.Println()
	printProbe(ctx, *repeat, work, store, targets)
}

// printProbe measures and prints the legacy eBPF probe's row.
func printProbe(ctx context.Context, repeat int, work string, store *headers.Store, targets []matrix.Target) {
	t := pick(targets, "x86_64", "6.1.")
	pb, praw, clang := probeOne(ctx, repeat, work, store, t)
	fmt.Printf("### The legacy eBPF probe against raw make\n\n")
	fmt.Printf("Machine: %s, %d CPUs, %s; %s, load average %s. Measured by `go run ./bench/builder -only ebpf -repeat %d`\n",
		cpuModel(), runtime.NumCPU(), goVersion(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAvg(), repeat)
	fmt.Printf("(alternately, the fastest of each kept).\n\n")
	fmt.Printf("| measurement | kdriver | peer | ratio |\n|---|---|---|---|\n")
	fmt.Printf("| build kdriver's legacy eBPF probe for %s with %s (tree cached) | Builder.Run, kind ebpf, local backend %s | raw `make -C KDIR M= CLANG= LLC=` %s | %.2f× |\n\n",
		t.KernelRelease, clang, ms(pb), ms(praw), pb.Seconds()/praw.Seconds())
}

func pick(ts []matrix.Target, arch, prefix string) matrix.Target {
	for _, t := range ts {
		if t.Arch == arch && strings.HasPrefix(t.KernelRelease, prefix) {
			return t
		}
	}
	log.Fatalf("no %s %s target", arch, prefix)
	return matrix.Target{}
}

// pair runs a and b alternately n times each and returns the fastest
// duration of each: load from other jobs can only slow a run down.
func pair(n int, a, b func(i int)) (time.Duration, time.Duration) {
	var da, db []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		a(i)
		da = append(da, time.Since(start))
		start = time.Now()
		b(i)
		db = append(db, time.Since(start))
	}
	sort.Slice(da, func(i, j int) bool { return da[i] < da[j] })
	sort.Slice(db, func(i, j int) bool { return db[i] < db[j] })
	return da[0], db[0]
}

func treeSize(dir string) (files int, size int64) {
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files++
			size += fi.Size()
		}
		return nil
	})
	return
}

func run(cmd *exec.Cmd) {
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", d.Seconds()*1000) }

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func goVersion() string {
	var u [3]string
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		u[0] = strings.TrimSpace(string(out))
	}
	return "Linux " + u[0] + ", " + runtime.Version()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
