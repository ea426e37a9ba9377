package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/kit"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/templates"
)

// Status of one target in a report.
const (
	StatusBuilt   = "built"
	StatusCached  = "cached"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"  // outside the kit's BUILD_EXCLUSIVE_* range
	StatusToBuild = "to-build" // Plan: no build recorded for these inputs
)

// ChooseBackend picks the backend for a target once its compiler is known.
type ChooseBackend func(ctx context.Context, t matrix.Target, c Compiler) (Backend, error)

// Options configure a Builder.
type Options struct {
	Headers *headers.Store
	Choose  ChooseBackend
	// Mode names the backend policy (local, docker, auto…); it is part of
	// the cache key, because the compiler binary differs between them.
	Mode string
	// Kit is the driver to build; when set it gives Source and, unless
	// they are set, DriverName and DriverVersion, and its BUILD_EXCLUSIVE_*
	// range decides which targets are skipped.
	Kit           *kit.Kit
	Source        Source
	OutDir        string // artifacts in the Falco layout: <version>/<arch>/<file>
	CacheDir      string // build records: <CacheDir>/<key>/
	Jobs          int
	Retries       int
	DriverName    string
	DriverVersion string
	HostArch      string // x86_64 or aarch64
	Logger        *slog.Logger
	// Verify checks a built artifact before it is cached and published
	// (default: the kmod preflight for the target's arch and release, or
	// the probe's inspection for the ebpf kind).
	Verify func(path string, t matrix.Target) error
	// Kind is what is built: kernel modules (the default) or legacy eBPF
	// probes (a kit's bpf/ folder, or kdriver's bpf/legacy source).
	Kind artifacts.Kind
	// Clang builds the ebpf kind (HostClang); its version is part of the
	// cache key and the report.
	Clang Clang
}

// Builder builds a matrix.
type Builder struct {
	opts      Options
	srcDigest string
	srcDir    string
}

// TargetResult is one line of a report.
type TargetResult struct {
	Target        string  `json:"target"`
	Arch          string  `json:"arch"`
	KernelRelease string  `json:"kernel_release"`
	Status        string  `json:"status"`
	Artifact      string  `json:"artifact,omitempty"`
	SHA256        string  `json:"sha256,omitempty"`
	CacheKey      string  `json:"cache_key"`
	Backend       string  `json:"backend,omitempty"`
	Compiler      string  `json:"compiler,omitempty"`
	Attempts      int     `json:"attempts"`
	Seconds       float64 `json:"seconds"`
	Log           string  `json:"log,omitempty"`
	Error         string  `json:"error,omitempty"`
	// Warning says what was wrong with the cache when a target was built
	// again instead of taken from it.
	Warning string `json:"warning,omitempty"`
	Reason  string `json:"reason,omitempty"` // why a target was skipped
}

// Report is the result of a run.
type Report struct {
	Results []TargetResult `json:"results"`
	Built   int            `json:"built"`
	Cached  int            `json:"cached"`
	Failed  int            `json:"failed"`
	Skipped int            `json:"skipped"`
	Seconds float64        `json:"seconds"`
}

// ErrFailed is returned by Run when some target failed.
var ErrFailed = errors.New("some targets failed")

// ErrCacheCorrupt is returned for a recorded build whose artifact is not
// the one its record names (changed or truncated since): it is built again.
var ErrCacheCorrupt = errors.New("cached build does not match its recorded digest")

// New checks the options and digests the driver source.
func New(opts Options) (*Builder, error) {
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Kind == "" {
		opts.Kind = artifacts.KindKmod
	}
	if opts.Kind == artifacts.KindEBPF && opts.Clang.Clang == "" {
		return nil, fmt.Errorf("builder: the ebpf kind needs clang: %w", ErrNoClang)
	}
	if k := opts.Kit; k != nil {
		opts.Source = Source{FS: k.Source, Module: k.Module}
		if opts.Kind == artifacts.KindEBPF {
			// A DKMS tree's probe lives in its bpf/ folder (Falco's).
			sub, err := fs.Sub(k.Source, "bpf")
			if err == nil {
				_, err = fs.Stat(sub, "Makefile")
			}
			if err != nil {
				return nil, fmt.Errorf("kit %s: no bpf/Makefile for the ebpf kind: %w", k.Name, err)
			}
			opts.Source = Source{FS: sub, Module: k.Module}
		}
		if opts.DriverName == "" {
			opts.DriverName = k.Name
		}
		if opts.DriverVersion == "" {
			opts.DriverVersion = k.Version
		}
	}
	if opts.Verify == nil && opts.Kind == artifacts.KindEBPF {
		opts.Verify = verifyProbe(opts.Kit != nil)
	}
	if opts.Verify == nil {
		module := opts.Source.Module
		opts.Verify = func(path string, t matrix.Target) error {
			_, err := kmod.Preflight(path, kmod.Want{Arch: t.Arch, KernelRelease: t.KernelRelease, Name: module})
			return err
		}
	}
	for _, d := range []*string{&opts.OutDir, &opts.CacheDir, &opts.Source.Dir} {
		if *d == "" {
			continue
		}
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, err
		}
		*d = abs
	}
	if opts.Source.Module == "" {
		return nil, errors.New("builder: no module name")
	}
	d, err := opts.Source.Digest()
	if err != nil {
		return nil, err
	}
	return &Builder{opts: opts, srcDigest: d}, nil
}

// Key is the input-addressed cache key of a target: driver source, header
// packages, build script, kind, identity and backend policy. It needs no
// download.
func (b *Builder) Key(t matrix.Target) string {
	h := sha256.New()
	// The record keeps the artifact under its file name: every part of the
	// name (the target ID too) is part of the key.
	fmt.Fprintf(h, "kdriver build v3\nsource %s\ntree %s\nkind %s\ndriver %s %s\narch %s\nmode %s\nname %s %s\ntarget %s\nfile %s\n",
		b.srcDigest, headers.Key(t), b.opts.Kind, b.opts.DriverName, b.opts.DriverVersion, t.Arch, b.opts.Mode,
		t.FixedKernelRelease, t.FixedKernelVersion, t.TargetID, b.ID(t).FileName())
	// The script that builds it: a fixed script (a new kdriver) builds
	// again instead of serving what the old one made.
	script, err := b.script(t)
	if err != nil {
		script = "error: " + err.Error()
	}
	fmt.Fprintf(h, "script %x\n", sha256.Sum256([]byte(script)))
	if b.opts.Kind == artifacts.KindEBPF {
		// The probe's object is clang's, whatever gcc kbuild names.
		fmt.Fprintf(h, "clang %s\n", b.opts.Clang.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ID is the artifact identity of a target.
func (b *Builder) ID(t matrix.Target) artifacts.ID {
	return artifacts.ID{
		DriverName: b.opts.DriverName, DriverVersion: b.opts.DriverVersion, Kind: b.opts.Kind,
		Arch: t.Arch, TargetID: t.TargetID, KernelRelease: t.FixedKernelRelease, KernelVersion: t.FixedKernelVersion,
	}
}

// Run builds every target, Jobs at a time. The report lists every target
// in input order; the error is ErrFailed when one or more failed.
func (b *Builder) Run(ctx context.Context, targets []matrix.Target) (*Report, error) {
	start := time.Now()
	rep := &Report{Results: make([]TargetResult, len(targets))}
	tmp, err := os.MkdirTemp("", "kdriver-src-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := b.opts.Source.Prepare(tmp); err != nil {
		return nil, err
	}
	b.srcDir = tmp

	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < b.opts.Jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rep.Results[i] = b.one(ctx, targets[i])
			}
		}()
	}
	for i := range targets {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	for i, r := range rep.Results {
		switch r.Status {
		case StatusBuilt:
			rep.Built++
		case StatusCached:
			rep.Cached++
		case StatusSkipped:
			rep.Skipped++
		default:
			if r.Status == "" {
				rep.Results[i] = TargetResult{Target: targets[i].Name, Status: StatusFailed, Error: "not started: " + context.Cause(ctx).Error()}
			}
			rep.Failed++
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if rep.Failed > 0 {
		return rep, fmt.Errorf("%d of %d: %w", rep.Failed, len(targets), ErrFailed)
	}
	return rep, nil
}

// Plan reports, without downloading or building anything, which targets
// a Run would take from the cache and which it would build.
func (b *Builder) Plan(targets []matrix.Target) *Report {
	rep := &Report{}
	for _, t := range targets {
		key := b.Key(t)
		id := b.ID(t)
		if err := b.check(t); err != nil {
			rep.Results = append(rep.Results, TargetResult{Target: t.Name, Arch: t.Arch, KernelRelease: t.KernelRelease,
				CacheKey: key, Status: StatusFailed, Error: err.Error()})
			rep.Failed++
			continue
		}
		r := TargetResult{Target: t.Name, Arch: t.Arch, KernelRelease: t.KernelRelease, CacheKey: key, Status: StatusToBuild,
			Artifact: filepath.Join(b.opts.OutDir, id.DriverVersion, id.Arch, id.FileName())}
		rec := filepath.Join(b.opts.CacheDir, key)
		if reason := b.skip(t); reason != "" {
			r.Status, r.Reason, r.Artifact = StatusSkipped, reason, ""
			rep.Skipped++
		} else if m, err := readRecord(rec); err == nil {
			if _, err := recorded(filepath.Join(rec, id.FileName()), m); err == nil {
				r.Status, r.SHA256, r.Backend, r.Compiler = StatusCached, m.SHA256, m.Backend, m.Compiler
			}
		}
		if r.Status == StatusCached {
			rep.Cached++
		}
		rep.Results = append(rep.Results, r)
	}
	return rep
}

// Check refuses a target that cannot be built as named (see check).
func (b *Builder) Check(t matrix.Target) error { return b.check(t) }

// Skip says why the kit does not build for t ("" when it does).
func (b *Builder) Skip(t matrix.Target) string { return b.skip(t) }

// skip says why the kit does not build for t ("" when it does).
func (b *Builder) skip(t matrix.Target) string {
	if b.opts.Kit == nil {
		return ""
	}
	_, reason := b.opts.Kit.Exclusive.Allows(t.KernelRelease, t.Arch)
	return reason
}

func (b *Builder) one(ctx context.Context, t matrix.Target) TargetResult {
	start := time.Now()
	key := b.Key(t)
	res := TargetResult{Target: t.Name, Arch: t.Arch, KernelRelease: t.KernelRelease, CacheKey: key}
	id := b.ID(t)
	if err := b.check(t); err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		b.opts.Logger.Error("refused", "err", err)
		return res
	}
	out := filepath.Join(b.opts.OutDir, id.DriverVersion, id.Arch, id.FileName())
	rec := filepath.Join(b.opts.CacheDir, key)
	log := b.opts.Logger.With("target", t.Name)
	if reason := b.skip(t); reason != "" {
		res.Status, res.Reason, res.Seconds = StatusSkipped, reason, time.Since(start).Seconds()
		log.Info("skipped", "reason", reason)
		return res
	}
	if m, err := readRecord(rec); err == nil {
		err := b.publish(filepath.Join(rec, id.FileName()), out, id, t, key, m)
		if err == nil {
			res.Status, res.Artifact, res.SHA256 = StatusCached, out, m.SHA256
			res.Backend, res.Compiler, res.Log = m.Backend, m.Compiler, filepath.Join(rec, "build.log")
			res.Seconds = time.Since(start).Seconds()
			log.Info("cached", "artifact", out)
			return res
		}
		if errors.Is(err, ErrCacheCorrupt) {
			// Never serve it: drop the record and build again.
			res.Warning = err.Error() + ": built again"
			log.Warn("cached build not served, building again", "err", err)
			if err := os.RemoveAll(rec); err != nil {
				res.Status, res.Error = StatusFailed, err.Error()
				return res
			}
		}
	}
	var err error
	for res.Attempts = 1; ; res.Attempts++ {
		err = b.build(ctx, t, id, rec, &res)
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrNoCompiler) || res.Attempts > b.opts.Retries {
			break
		}
		log.Warn("build failed, retrying", "attempt", res.Attempts, "err", err)
	}
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		log.Error("failed", "err", err)
		return res
	}
	m, err := readRecord(rec)
	if err == nil {
		err = b.publish(filepath.Join(rec, id.FileName()), out, id, t, key, m)
	}
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		return res
	}
	res.Status, res.Artifact = StatusBuilt, out
	log.Info("built", "artifact", out, "seconds", fmt.Sprintf("%.1f", res.Seconds))
	return res
}

// check refuses a target whose names would not stay one path component
// each in the log, artifact and tree paths (targets may come from a matrix
// file or straight from a mirror's metadata).
func (b *Builder) check(t matrix.Target) error {
	if err := t.Validate(); err != nil {
		return err
	}
	id := b.ID(t)
	for _, c := range []string{id.DriverVersion, id.Arch, id.FileName()} {
		if !matrix.SafeName(c) {
			return fmt.Errorf("target %q: %q cannot be a file name: %w", t.Name, c, matrix.ErrInvalid)
		}
	}
	return nil
}

// record is what a finished build leaves next to its artifact.
type record struct {
	Target   string `json:"target"`
	SHA256   string `json:"sha256"`
	Backend  string `json:"backend"`
	Compiler string `json:"compiler"`
}

func readRecord(dir string) (*record, error) {
	b, err := os.ReadFile(filepath.Join(dir, "record.json"))
	if err != nil {
		return nil, err
	}
	var r record
	return &r, json.Unmarshal(b, &r)
}

func (b *Builder) build(ctx context.Context, t matrix.Target, id artifacts.ID, rec string, res *TargetResult) error {
	tree, err := b.opts.Headers.Tree(ctx, t)
	if err != nil {
		return err
	}
	cc, err := ReadCompiler(tree.KDIR)
	if err != nil {
		return err
	}
	res.Compiler = cc.Text
	be, err := b.opts.Choose(ctx, t, cc)
	if err != nil {
		return err
	}
	res.Backend = be.Name()
	cross := t.Arch != b.opts.HostArch
	script, err := b.script(t)
	if err != nil {
		return err
	}
	env := map[string]string{
		"MODULE": b.opts.Source.Module, "KARCH": kernelrelease.ArchOf(t.Arch).Kbuild(), "JOBS": "2",
		"DRIVER_VERSION": b.opts.DriverVersion,
	}
	if cross {
		env["CROSS_COMPILE"] = CrossPrefix(t.Arch, b.opts.HostArch)
	}
	artifact := b.opts.Source.Module + ".ko"
	depends := t.BuildDepends
	if b.opts.Kind == artifacts.KindEBPF {
		artifact = b.opts.Source.Module + ".o"
		if _, ok := be.(imageJobs); ok {
			// A builder image (kernels whose compiler the host lacks)
			// carries its own suite's clang and llvm.
			env["CLANG"], env["LLC"] = "clang", "llc"
			depends = append(slices.Clone(depends), "clang", "llvm")
			res.Compiler = "clang of the " + BaseSuite(t.Suite) + " builder image, kbuild with " + cc.Text
		} else {
			env["CLANG"], env["LLC"] = b.opts.Clang.Clang, b.opts.Clang.LLC
			res.Compiler = b.opts.Clang.String() + ", kbuild with " + cc.Text
		}
	}
	r, err := be.Build(ctx, Job{
		Name: t.Name, Script: script, Root: tree.Root, KDIR: tree.RelKDIR(), Source: b.srcDir,
		Artifact: artifact, Compiler: cc, Suite: t.Suite, Depends: depends, Env: env,
	})
	if _, ok := be.(imageJobs); ok && b.opts.Kind == artifacts.KindEBPF {
		if v := clangVersionIn(r.Log); v != "" {
			res.Compiler = "clang " + v + " (" + BaseSuite(t.Suite) + " builder image), kbuild with " + cc.Text
		}
	}
	// Keep the log of the last attempt whatever happened.
	if mkErr := os.MkdirAll(filepath.Dir(rec), 0o755); mkErr != nil {
		return mkErr
	}
	tmp, mkErr := os.MkdirTemp(filepath.Dir(rec), ".tmp-")
	if mkErr != nil {
		return mkErr
	}
	defer os.RemoveAll(tmp)
	logFile := filepath.Join(b.opts.CacheDir, "logs", t.Name+".log")
	if lerr := writeInDir(b.opts.CacheDir, path.Join("logs", t.Name+".log"), r.Log); lerr != nil {
		b.opts.Logger.Warn("build log not kept", "target", t.Name, "err", lerr)
	} else {
		res.Log = logFile
	}
	if err != nil {
		return err
	}
	ko := filepath.Join(tmp, id.FileName())
	if err := os.WriteFile(ko, r.Artifact, 0o644); err != nil {
		return err
	}
	// Never publish a module that would not load on its kernel.
	if err := b.opts.Verify(ko, t); err != nil {
		return fmt.Errorf("%s: preflight: %w", t.Name, err)
	}
	sum := sha256.Sum256(r.Artifact)
	res.SHA256 = hex.EncodeToString(sum[:])
	// the compiler as reported (a probe's names clang), for cached reports and the index
	m, _ := json.MarshalIndent(record{Target: t.Name, SHA256: res.SHA256, Backend: be.Name(), Compiler: res.Compiler}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "record.json"), m, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "build.log"), r.Log, 0o644); err != nil {
		return err
	}
	if _, err := readRecord(rec); err != nil {
		_ = os.RemoveAll(rec) // a stale, incomplete record
	}
	if err := os.Rename(tmp, rec); err != nil {
		if _, rerr := readRecord(rec); rerr == nil {
			return nil // another kdriver recorded the same inputs first
		}
		return err
	}
	return nil
}

// publish puts the recorded artifact at out and, next to it, out.json: the
// index entry `kdriver artifact push` reads (identity with the raw kernel
// strings, digest, size, and how it was built).
func (b *Builder) publish(src, out string, id artifacts.ID, t matrix.Target, key string, m *record) error {
	data, err := recorded(src, m)
	if err != nil {
		return err
	}
	e := artifacts.EntryFor(id)
	e.SHA256, e.Size = m.SHA256, int64(len(data))
	e.Build = map[string]string{
		"target": t.Name, "uname_r": t.KernelRelease, "compiler": m.Compiler, "builder": m.Backend,
		"cache_key": key, "source_digest": b.srcDigest,
	}
	for _, p := range t.Packages {
		e.Build["package."+p.Role] = p.Name + "=" + p.Version + " sha256:" + p.SHA256
	}
	meta, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	// The bytes checked are the bytes published: the file is read once.
	if err := placeBytes(data, out); err != nil {
		return err
	}
	return placeBytes(append(meta, '\n'), out+".json")
}

// recorded reads a recorded artifact and checks it against the digest its
// record gives.
func recorded(file string, m *record) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
		return nil, fmt.Errorf("%s: sha256 %s, record says %q: %w", file, got, m.SHA256, ErrCacheCorrupt)
	}
	return data, nil
}

// placeBytes writes b to dst atomically, unless dst already holds b.
func placeBytes(b []byte, dst string) error {
	if cur, err := os.ReadFile(dst); err == nil && string(cur) == string(b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// renderScript renders build scripts (a variable for the tests of the
// cache key).
var renderScript = templates.Render

// script is the build script of t.
func (b *Builder) script(t matrix.Target) (string, error) {
	return renderScript(templates.Data{Family: family(t), Kind: string(b.opts.Kind), Target: t.Name, Cross: t.Arch != b.opts.HostArch})
}

func family(t matrix.Target) string {
	switch t.Distro {
	case "debian", "ubuntu":
		return "debian"
	}
	return "rpm"
}
