// Command fetch measures `kdriver fetch` against curl on one 100 MB
// artifact served from a loopback HTTP server, in one run, so the result
// reads as a ratio. kdriver does more than curl (sha256 while streaming,
// fsync, rename, a digest record), so a "curl + sha256sum" peer is timed
// too. The three run interleaved, -n rounds, after one warm-up; the
// median and the fastest run of each are reported (on a shared machine
// other load can only slow a run down). It prints a markdown section for
// docs/benchmarks.md.
//
//	go run ./bench/fetch [-size 100] [-n 7] [-kdriver path]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kdriver/kdriver/artifacts"
)

func main() {
	sizeMB := flag.Int("size", 100, "artifact size in MB")
	kdriver := flag.String("kdriver", "", "kdriver binary (default: build it)")
	rounds := flag.Int("n", 7, "timed rounds (each runs every client once)")
	flag.Parse()
	if err := run(context.Background(), *sizeMB, *rounds, *kdriver); err != nil {
		fmt.Fprintln(os.Stderr, "fetch bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, sizeMB, rounds int, bin string) error {
	work, err := os.MkdirTemp("", "kdriver-fetch-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "kdriver")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kdriver").CombinedOutput(); err != nil {
			return fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
		}
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		return fmt.Errorf("curl: %w (scripts/setup-stores.sh installs it)", err)
	}

	// Publish one artifact in the Falco layout, with index and sidecar.
	id := artifacts.ID{DriverName: "kdriver", DriverVersion: "0.1.0", Kind: artifacts.KindKmod, Arch: "x86_64",
		TargetID: "ubuntu-aws", KernelRelease: "5.15.0-1059-aws", KernelVersion: "65~20.04.1"}
	body := make([]byte, sizeMB<<20)
	rand.Read(body)
	copy(body, "\x7fELF")
	sum := sha256.Sum256(body)
	e := artifacts.EntryFor(id)
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(body))
	repo := filepath.Join(work, "repo")
	fs, err := artifacts.NewFileStore(repo, artifacts.Options{})
	if err != nil {
		return err
	}
	if _, err := fs.Push(ctx, e, bytes.NewReader(body)); err != nil {
		return err
	}
	body = nil

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(repo))}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	url := artifacts.HTTPURL(base, id)

	root := filepath.Join(work, "host")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=ubuntu\n"), 0o644)
	kdriverCmd := func(out string) *exec.Cmd {
		return exec.CommandContext(ctx, bin, "--quiet", "--host-root", root, "--kernel-release", id.KernelRelease,
			"--kernel-version", "#"+id.KernelVersion+"-Ubuntu SMP", "--arch", id.Arch, "--repo", base,
			"fetch", "--require-digest", "--output-dir", out)
	}
	curlCmd := func(out string) *exec.Cmd {
		return exec.CommandContext(ctx, curl, "-sSf", "-o", filepath.Join(out, id.FileName()), url)
	}
	curlSumCmd := func(out string) *exec.Cmd {
		f := filepath.Join(out, id.FileName())
		return exec.CommandContext(ctx, "sh", "-c", `curl -sSf -o "$1" "$2" && sha256sum "$1" >/dev/null`, "sh", f, url)
	}
	timeIt := func(name string, mk func(string) *exec.Cmd) (time.Duration, error) {
		out, err := os.MkdirTemp(work, "out-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(out)
		cmd := mk(out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err = cmd.Run()
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("%s: %v\n%s", name, err, stderr.String())
		}
		got, err := os.ReadFile(filepath.Join(out, id.FileName()))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != e.SHA256 {
			return 0, fmt.Errorf("%s: downloaded file differs", name)
		}
		return d, nil
	}

	// Warm the page cache and both binaries once; then one timed run each.
	if _, err := timeIt("warm-up curl", curlCmd); err != nil {
		return err
	}
	if _, err := timeIt("warm-up kdriver", kdriverCmd); err != nil {
		return err
	}
	clients := []struct {
		name, what string
		mk         func(string) *exec.Cmd
		times      []time.Duration
	}{
		{name: "curl -o", what: "download only (no hash, no fsync)", mk: curlCmd},
		{name: "curl -o && sha256sum", what: "download, then hash (no fsync)", mk: curlSumCmd},
		{name: "kdriver fetch", what: "index + sidecar lookups, download with sha256 in a second goroutine, size check, rename, digest record (no fsync)", mk: kdriverCmd},
	}
	for range rounds {
		for i := range clients {
			d, err := timeIt(clients[i].name, clients[i].mk)
			if err != nil {
				return err
			}
			clients[i].times = append(clients[i].times, d)
		}
	}
	for i := range clients {
		slices.Sort(clients[i].times)
	}
	med := func(t []time.Duration) time.Duration { return t[len(t)/2] }
	curlMed, curlMin := med(clients[0].times), clients[0].times[0]

	fmt.Printf("## Fetch: %d MB artifact from a loopback HTTP server\n\n", sizeMB)
	fmt.Printf("Machine: %s, %d CPUs, kernel %s, load average %s; %s. Measured by `go run ./bench/fetch -n %d` (one warm-up, then %d interleaved rounds; median and fastest run).\n\n",
		cpuModel(), runtime.NumCPU(), kernel(), loadAvg(), time.Now().UTC().Format("2006-01-02 15:04 MST"), rounds, rounds)
	fmt.Printf("| client | what it does | median | ratio to curl | fastest | ratio to curl |\n|---|---|---|---|---|---|\n")
	for _, c := range clients {
		m, f := med(c.times), c.times[0]
		fmt.Printf("| %s | %s | %s | %.2f× | %s | %.2f× |\n", c.name, c.what, m.Round(time.Millisecond), float64(m)/float64(curlMed),
			f.Round(time.Millisecond), float64(f)/float64(curlMin))
	}
	fmt.Println()
	return nil
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	data, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(data))
}

// loadAvg is the 1-minute load average: on a shared machine it says how
// much to trust one run.
func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
