package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/loader/host"
)

// probeFlags are the modern probe's buffer options, shared by install,
// verify and events (Falco's engine.modern_ebpf settings).
type probeFlags struct {
	BufSizePreset      int
	CPUsForEachBuffer  int
	AllocateOnlineOnly bool
}

func (p *probeFlags) bind(fs *pflag.FlagSet) {
	fs.IntVar(&p.BufSizePreset, "buf-size-preset", modern.DefaultBufSizePreset,
		"ring buffer size preset, 1..10: 1 MiB << (preset-1) (Falco's buf_size_preset; 4 = 8 MiB)")
	fs.IntVar(&p.CPUsForEachBuffer, "cpus-for-each-buffer", 1,
		"CPUs sharing one ring buffer; 0: one buffer for all CPUs (Falco's cpus_for_each_buffer)")
	fs.BoolVar(&p.AllocateOnlineOnly, "allocate-online-only", false,
		"allocate ring buffers for online CPUs only (Falco's allocate_online_only)")
}

func (p *probeFlags) options(types []events.Type) (modern.Options, error) {
	if _, err := modern.BufSize(p.BufSizePreset); err != nil {
		return modern.Options{}, usageError{"--buf-size-preset: " + err.Error()}
	}
	per := p.CPUsForEachBuffer
	switch {
	case per < 0:
		return modern.Options{}, usageError{fmt.Sprintf("--cpus-for-each-buffer %d: want 0 (all CPUs) or more", per)}
	case per == 0:
		per = modern.AllCPUs
	}
	return modern.Options{
		BufSizePreset: p.BufSizePreset,
		CPUsPerBuffer: per,
		OnlineOnly:    p.AllocateOnlineOnly,
		Types:         types,
	}, nil
}

// parseDriverTypes parses repeatable --type values (comma lists allowed).
func parseDriverTypes(vals []string) ([]loader.DriverType, error) {
	var out []loader.DriverType
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			t, err := loader.ParseDriverType(strings.TrimSpace(s))
			if err != nil {
				return nil, usageError{"--type: " + err.Error()}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// typeList names the --type values given, "auto" when none.
func typeList(types []loader.DriverType) string {
	if len(types) == 0 {
		return "auto"
	}
	s := make([]string, len(types))
	for i, t := range types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// loadedFirst makes a loaded kernel module the driver that verify and
// events read when the user named none: "the loaded (or named) driver".
func loadedFirst(types []loader.DriverType, f host.Facts) []loader.DriverType {
	if len(types) == 0 && f.Driver.Loaded {
		return []loader.DriverType{loader.Kmod, loader.Auto}
	}
	return types
}

// hostFacts detects the host through --host-root and the kernel overrides.
func hostFacts(ctx context.Context, g *globals) (host.Facts, error) {
	fsys, closeFS, err := host.Open(g.HostRoot)
	if err != nil {
		return host.Facts{}, usageError{err.Error()}
	}
	defer closeFS()
	opts := host.Options{
		KernelRelease: g.KernelRelease,
		KernelVersion: g.KernelVersion,
		Arch:          g.Arch,
		DriverName:    g.DriverName,
	}
	if g.HostRoot == "/" || g.HostRoot == "" {
		opts.Uname = host.SystemUname
	}
	return host.Detect(ctx, fsys, g.HostRoot, opts)
}

// selfTestCommand re-runs this binary as the self-test child
// (`kdriver verify selftest-child PATH PORT`).
func selfTestCommand(ctx context.Context, path string, port int) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.CommandContext(ctx, exe, "verify", "selftest-child", path, strconv.Itoa(port))
	// Args[0] must read "kdriver" whatever the file is called, so that the
	// child runs the kdriver command tree.
	cmd.Args[0] = "kdriver"
	return cmd
}

type installOptions struct {
	Types    []string
	Download bool
	Compile  bool
	Verify   bool
	DryRun   bool
	Timeout  time.Duration
	Probe    probeFlags
	// KmodFile is a local .ko to load (kmod), skipping download and compile.
	KmodFile   string
	KmodParams string
	// FalcoProbe is where a Falco probe is placed (FALCO_BPF_PROBE).
	FalcoProbe string
	CacheDir   string
	store      storeFlags
}

func newInstallCmd(g *globals) *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Choose, preflight, install and verify the driver for this host",
		Long: `Choose the driver for this host (--type, repeatable priority list; default auto),
check that the host can run it, install it and verify it with the self-test.
The decision and its reasons are printed first; --dry-run stops after the checks.

The kernel module (kmod) is --file, or else the verified copy in the cache
(--cache-dir), else a download from the --repo stores in order (verified, then
renamed into the cache), else a build on this node against the headers at
<host-root>/lib/modules/<uname -r>/build with the host's matching compiler.
--download=false and --compile=false skip those steps; --dry-run downloads and
builds nothing and says what it would do. Exit 3 when no step gives the module:
the error says why for each.

The legacy eBPF probe (ebpf) is found the same way (--file PATH.o, the cache,
the stores, a build on this node through the same headers' kbuild with the
newest clang and llc on PATH), preflighted (ELF machine
BPF, the kernel release, version and arch it records against the host's, its
programs and maps), then loaded and attached for the self-test. It is never
pinned: verify and events load it again from the cache.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInstall(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Types, "type", nil, "driver type: auto, modern-ebpf, kmod, ebpf or userspace; repeatable, in priority order (default auto)")
	fs.BoolVar(&o.Download, "download", true, "allow downloading a prebuilt driver")
	fs.BoolVar(&o.Compile, "compile", true, "allow compiling the driver on this host")
	fs.BoolVar(&o.Verify, "verify", true, "run the self-test after installing")
	fs.BoolVar(&o.DryRun, "dry-run", false, "stop after the decision and the preflight checks")
	fs.DurationVar(&o.Timeout, "verify-timeout", 10*time.Second, "time the self-test waits for its events")
	o.Probe.bind(fs)
	fs.StringVar(&o.KmodFile, "file", "", "driver file to load instead of downloading or compiling one: a kernel module (--type kmod) or a legacy eBPF probe (--type ebpf)")
	fs.StringVar(&o.FalcoProbe, "falco-bpf-probe", "", "with a Falco driver kit (--driver-name falco): place its legacy eBPF probe at `PATH` (FALCO_BPF_PROBE; default ~/.falco/<driver name>-bpf.o)")
	fs.StringVar(&o.KmodParams, "kmod-params", "", "kernel module parameters, e.g. \"buf_size=8388608\"")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "cache `DIR` for downloaded and compiled modules (default $KDRIVER_CACHE or "+defaultCacheDir+")")
	bindStoreFlags(fs, &o.store)
	return cmd
}

func runInstall(ctx context.Context, g *globals, o *installOptions) error {
	types, err := parseDriverTypes(o.Types)
	if err != nil {
		return err
	}
	if o.KmodFile != "" {
		if slices.Contains(types, loader.Kmod) == slices.Contains(types, loader.EBPF) {
			return usageError{fmt.Sprintf("--file %s is a kernel module or a legacy eBPF probe: it needs --type kmod or --type ebpf (got %s)", o.KmodFile, typeList(types))}
		}
		if err := checkInputFile("--file", o.KmodFile); err != nil {
			return err
		}
	}
	if o.Timeout <= 0 {
		return usageError{fmt.Sprintf("--verify-timeout %v: want a positive duration", o.Timeout)}
	}
	mopts, err := o.Probe.options(nil)
	if err != nil {
		return err
	}
	facts, err := hostFacts(ctx, g)
	if err != nil {
		return err
	}
	kopts, bar, err := o.kmodOptions(g)
	if err != nil {
		return err
	}
	eopts, ebar, err := o.ebpfOptions(g, mopts.BufSizePreset)
	if err != nil {
		return err
	}
	rep, err := loader.Install(ctx, facts, loader.InstallOptions{
		Types:    types,
		Download: o.Download,
		Compile:  o.Compile,
		Verify:   o.Verify,
		DryRun:   o.DryRun,
		SelfTest: events.SelfTestOptions{Command: selfTestCommand, Timeout: o.Timeout, Logger: g.logger},
		Driver:   loader.DriverConfig{Modern: mopts, Kmod: kopts, EBPF: eopts, Logger: g.logger},
		Logger:   g.logger,
	})
	bar.finish()
	ebar.finish()
	if g.JSON() {
		if jerr := writeJSON(g.stdout, rep); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	printReport(g.stdout, rep)
	return err
}

// kmodOptions configure the kernel module: --file, or the cache, the
// --repo stores (the same store flags as fetch) and compiling on the node.
func (o *installOptions) kmodOptions(g *globals) (loader.KmodOptions, *lazyBar, error) {
	// The module is loaded, kept and unloaded by the driver's name: kdriver
	// for its own, scap (or falco) for Falco's.
	// install's self-test reads it with the reader of its format, as
	// verify does.
	k := loader.KmodOptions{File: o.KmodFile, Params: o.KmodParams, Module: g.DriverName}
	k.Libs, _ = libsModule(g, nil)
	if o.KmodFile != "" {
		return k, nil, nil
	}
	src, bar, err := artifactSource(g, artifacts.KindKmod, o.CacheDir, &o.store)
	if err != nil {
		return k, nil, err
	}
	src.Module = g.DriverName
	// kdriver's own source, or another driver's DKMS folder under
	// /usr/src; missing headers come from the host's apt sources.
	src.Compiler = &builder.LocalCompiler{
		DriverName: g.DriverName, DriverVersion: g.DriverVersion, Logger: g.logger,
		Headers: &builder.AptHeaders{Dir: filepath.Join(cacheDir(o.CacheDir), "headers"), Logger: g.logger},
	}
	k.Artifacts = src
	return k, bar, nil
}

// ebpfOptions configure the legacy eBPF probe: --file, or the cache, the
// --repo stores and compiling kdriver's probe on the node.
func (o *installOptions) ebpfOptions(g *globals, preset int) (loader.EBPFOptions, *lazyBar, error) {
	e := loader.EBPFOptions{File: o.KmodFile, Probe: legacy.Options{BufSizePreset: preset}, FalcoPath: o.FalcoProbe}
	if g.DriverName != kmod.ModuleName && e.FalcoPath == "" {
		// A driver kit's probe (Falco's) goes where Falco's loader puts it.
		home, err := os.UserHomeDir()
		if err != nil {
			return e, nil, fmt.Errorf("home directory for ~/.falco: %w", err)
		}
		e.FalcoPath = filepath.Join(home, ".falco", g.DriverName+"-bpf.o")
	}
	if o.KmodFile != "" {
		return e, nil, nil
	}
	src, bar, err := artifactSource(g, artifacts.KindEBPF, o.CacheDir, &o.store)
	if err != nil {
		return e, nil, err
	}
	if g.DriverName == kmod.ModuleName {
		src.Compiler = &builder.ProbeCompiler{LocalCompiler: builder.LocalCompiler{DriverVersion: g.DriverVersion, Logger: g.logger}}
	}
	e.Artifacts = src
	return e, bar, nil
}

// artifactSource is the cache (cacheDir) and the --repo stores for one
// artifact kind; store is nil for commands without the store flags.
func artifactSource(g *globals, kind artifacts.Kind, dir string, store *storeFlags) (*loader.ArtifactSource, *lazyBar, error) {
	src := &loader.ArtifactSource{
		DriverName: g.DriverName, DriverVersion: g.DriverVersion, Kind: kind,
		Cache:  &artifacts.Cache{Dir: cacheDir(dir), Logger: g.logger},
		Logger: g.logger,
	}
	if len(g.Repos) == 0 {
		return src, nil, nil
	}
	if store == nil {
		// The store flags' defaults, for commands that do not take them.
		store = &storeFlags{}
		bindStoreFlags(pflag.NewFlagSet("defaults", pflag.ContinueOnError), store)
	}
	sopts, err := store.options(g)
	if err != nil {
		return nil, nil, err
	}
	stores, err := artifacts.OpenAll(g.Repos, sopts)
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	src.Store = stores
	bar := &lazyBar{g: g}
	src.Fetch.Progress = bar.update
	return src, bar, nil
}

// installedProbe configures the legacy eBPF probe for verify and events:
// the probe install left in the cache ($KDRIVER_CACHE), or one from the
// --repo stores; never compiled here.
func installedProbe(g *globals, preset int, types []events.Type) (loader.EBPFOptions, error) {
	src, _, err := artifactSource(g, artifacts.KindEBPF, "", nil)
	if err != nil {
		return loader.EBPFOptions{}, err
	}
	return loader.EBPFOptions{
		Artifacts: src,
		// The stores when given (else the miss says to give --repo); never
		// a build: that is install's, and these commands have no flag for it.
		Policy: loader.ArtifactPolicy{Download: true,
			NoCompile: "verify and events load the probe from the cache or the stores and never compile it: " +
				"run kdriver install --type ebpf first (a probe installed with --file is loaded once, not cached)"},
		Probe: legacy.Options{BufSizePreset: preset, Types: types},
	}, nil
}

// lazyBar draws a download's progress bar from its first byte to its last,
// and nothing for a cache hit.
type lazyBar struct {
	g   *globals
	bar *progressBar
	off bool
}

func (l *lazyBar) update(p artifacts.Progress) {
	if l.off {
		return
	}
	if l.bar == nil {
		if l.bar = newProgressBar(l.g, p.ID); l.bar == nil {
			l.off = true
			return
		}
	}
	l.bar.update(p)
	if p.Total >= 0 && p.Done >= p.Total {
		l.finish()
	}
}

func (l *lazyBar) finish() {
	if l == nil || l.bar == nil {
		return
	}
	l.bar.finish()
	l.bar, l.off = nil, true
}

// cacheDir is --cache-dir, else $KDRIVER_CACHE, else the default.
func cacheDir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("KDRIVER_CACHE"); d != "" {
		return d
	}
	return defaultCacheDir
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printDecision(w io.Writer, d loader.Decision) {
	if d.Driver != "" {
		fmt.Fprintf(w, "driver %s\n", d.Reason)
	} else if len(d.Candidates) > 0 {
		fmt.Fprintf(w, "driver: none possible\n")
	}
	for _, c := range d.Candidates {
		state := "not possible"
		switch {
		case c.Chosen:
			state = "chosen"
		case c.Possible:
			state = "possible"
		}
		fmt.Fprintf(w, "  %-12s %-12s %s\n", c.Type, state, strings.TrimPrefix(c.Reason, string(c.Type)+": "))
	}
}

func printReport(w io.Writer, rep *loader.Report) {
	if rep == nil {
		return
	}
	printDecision(w, rep.Decision)
	for _, f := range rep.Fallbacks {
		fmt.Fprintf(w, "passed over: %s\n", f)
	}
	for _, p := range rep.Preflight {
		fmt.Fprintf(w, "preflight: %s\n", p)
	}
	if rep.DryRun {
		fmt.Fprintln(w, "dry run: nothing installed")
		return
	}
	if rep.Installed != "" {
		fmt.Fprintf(w, "installed: %s\n", rep.Installed)
	}
	if rep.Verify != nil {
		printSelfTest(w, rep.Verify)
	}
	if rep.VerifySkipped != "" {
		fmt.Fprintf(w, "verify: skipped: %s\n", rep.VerifySkipped)
	}
}

func printSelfTest(w io.Writer, r *events.SelfTestResult) {
	verdict := "FAILED"
	if r.Passed {
		verdict = "passed"
	}
	fmt.Fprintf(w, "verify: %s (child pid %d, nonce %s, port %d)\n", verdict, r.ChildPID, r.Path, r.Port)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-10s %s\n", mark, c.Name, c.Detail)
	}
}
