package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/kmod"
	"github.com/kdriver/kdriver/loader/host"
)

// Where a resolved artifact came from (Artifact.Origin).
const (
	OriginFile     = "file"     // --file
	OriginCache    = "cache"    // verified earlier, found in the cache
	OriginStore    = "store"    // downloaded from a store and verified
	OriginCompiled = "compiled" // built on the node against its headers
	OriginPlanned  = "planned"  // dry run: not resolved yet
)

// ErrCannotCompile is returned by a ModuleCompiler that cannot build on
// this node (no headers, no matching compiler): a reason for exit 3, unlike
// a build that ran and failed. It is builder's, whose LocalCompiler is the
// one cmd wires in.
var ErrCannotCompile = builder.ErrCannotCompile

// ArtifactPolicy is what the user allows: --download, --compile, --dry-run.
type ArtifactPolicy struct {
	Download bool
	Compile  bool
	DryRun   bool
	// NoCompile says why compiling is off, for the error when nothing is
	// found (default: "--compile=false", the flag of install).
	NoCompile string
}

// ArtifactSource resolves a driver artifact for the host: the verified
// cache first, then the stores in order, then a build on the node.
type ArtifactSource struct {
	// DriverName and DriverVersion name the artifact with the host's target.
	DriverName string
	// Kind is the artifact resolved: a kernel module (the default) or a
	// legacy eBPF probe.
	Kind          artifacts.Kind
	DriverVersion string
	// Module is the name the module registers with the kernel, checked in
	// every artifact before it enters the cache (scap for Falco's driver);
	// default kdriver.
	Module string
	// Store is tried for downloads (a MultiStore tries its members in
	// order); nil when no store is configured.
	Store artifacts.Store
	// Cache holds downloaded and compiled artifacts, verified.
	Cache *artifacts.Cache
	// Fetch tunes downloads (digest policy, progress).
	Fetch artifacts.FetchOptions
	// Compiler builds the module on the node; nil: compiling is not
	// possible in this program.
	Compiler ModuleCompiler
	Logger   *slog.Logger
}

// ModuleCompiler builds the kernel module on the node.
type ModuleCompiler interface {
	// Plan checks, without building, that the module can be built for the
	// host and says how ("gcc-12 against /lib/modules/R/build"). Errors
	// that mean it cannot wrap ErrCannotCompile.
	Plan(ctx context.Context, f host.Facts) (string, error)
	// Compile builds the module and returns it with a description of how.
	Compile(ctx context.Context, f host.Facts) (Compiled, error)
}

// Compiled is a module built on the node (builder's).
type Compiled = builder.Compiled

// Artifact is the resolved (or, in a dry run, planned) artifact; `kdriver
// install --output json` prints it.
type Artifact struct {
	Name     string `json:"name"`
	Path     string `json:"path,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Origin   string `json:"origin"`
	Store    string `json:"store,omitempty"`
	Source   string `json:"source,omitempty"`
	Compiler string `json:"compiler,omitempty"`
	// Download says why no store gave the artifact, when it was compiled
	// or not found.
	Download string `json:"download,omitempty"`
	// Plan lists what a dry run would do, in order.
	Plan []string `json:"plan,omitempty"`
	// Unavailable lists the steps that cannot give the artifact, and why.
	Unavailable []string `json:"unavailable,omitempty"`

	// file is Path open for reading, hashed and checked through this
	// descriptor; the preflight and the load use it, never the path again.
	file *os.File
}

// Close releases the open module file.
func (a *Artifact) Close() error {
	if a == nil || a.file == nil {
		return nil
	}
	err := a.file.Close()
	a.file = nil
	return err
}

// String says where the artifact came from, in one line.
func (a *Artifact) String() string {
	switch a.Origin {
	case OriginFile:
		return a.Path + " (--file)"
	case OriginCache:
		return a.Path + " (in the cache, verified)"
	case OriginStore:
		from := a.Store
		if a.Source != "" {
			from = a.Source // where the bytes came from, after redirects
		}
		return fmt.Sprintf("%s (downloaded from %s, sha256 %s)", a.Path, from, a.SHA256)
	case OriginCompiled:
		return fmt.Sprintf("%s (compiled on this node with %s)", a.Path, a.Compiler)
	}
	msg := a.Name + ": would " + strings.Join(a.Plan, ", else ")
	if len(a.Unavailable) > 0 {
		msg += " (" + strings.Join(a.Unavailable, "; ") + ")"
	}
	return msg
}

func (s *ArtifactSource) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Resolve returns the kernel module for host f: from the cache, a store or
// a build on the node, as p allows. A dry run downloads and builds nothing:
// it reports a cached artifact or the plan. When nothing can give the
// artifact the error wraps ErrNoArtifact and says why for each step.
func (s *ArtifactSource) Resolve(ctx context.Context, f host.Facts, p ArtifactPolicy) (*Artifact, error) {
	a, err := s.resolve(ctx, f, p)
	if err != nil || a.Path == "" {
		return a, err
	}
	// One open file from here on: hashed against the record and
	// preflighted through it, then loaded from it.
	fd, r, err := s.Cache.Open(f.Target.Artifact(s.DriverName, s.DriverVersion, s.kind()), a.SHA256, s.check(f))
	if err != nil {
		return a, fmt.Errorf("cache: %s changed after it was verified: %w", a.Path, err)
	}
	a.file, a.Path = fd, r.Path
	return a, nil
}

func (s *ArtifactSource) resolve(ctx context.Context, f host.Facts, p ArtifactPolicy) (*Artifact, error) {
	if err := f.Target.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoArtifact, err)
	}
	id := f.Target.Artifact(s.DriverName, s.DriverVersion, s.kind())
	a := &Artifact{Name: id.FileName()}
	// An artifact for another arch or kernel never enters the cache: a
	// store serving one is passed over for the next, then for a build here.
	fo := s.Fetch
	fo.Check = s.check(f)
	what := fmt.Sprintf("no %s for %s %s", s.kind(), f.Target.ID, f.Kernel.Release)
	if s.Cache == nil {
		return a, errors.New("loader: no artifact cache configured")
	}
	// With an index key, a cached module counts only if a signed index of
	// the configured stores lists it, however it got into the cache.
	if r, err := s.Cache.Cached(ctx, s.Store, id, fo); err == nil {
		a.Path, a.SHA256, a.Origin = r.Path, r.SHA256, OriginCache
		a.Store = r.From.Store
		return a, nil
	} else if ctx.Err() != nil {
		return a, ctx.Err()
	} else if !errors.Is(err, artifacts.ErrNotFound) {
		return a, fmt.Errorf("cache: %w", err)
	}

	var reasons []string
	var fault error // the stores' misses and failures
	switch {
	case !p.Download:
		reasons = append(reasons, "download: --download=false")
	case s.Store == nil:
		reasons = append(reasons, "download: no store configured (give --repo URL)")
	case p.DryRun:
		a.Plan = append(a.Plan, "download from "+s.Store.Name())
	default:
		r, err := s.Cache.Fetch(ctx, s.Store, id, fo)
		if err == nil {
			a.Path, a.SHA256, a.Origin = r.Path, r.SHA256, OriginStore
			a.Store, a.Source = r.From.Store, r.From.Source
			if r.Cached {
				a.Origin = OriginCache
			}
			return a, nil
		}
		if ctx.Err() != nil {
			return a, ctx.Err()
		}
		if !errors.Is(err, artifacts.ErrNotFound) {
			s.log().Warn("download failed; trying to compile", "err", err)
		}
		fault = err
		a.Download = err.Error()
		reasons = append(reasons, "download: "+err.Error())
	}

	switch {
	case !p.Compile && p.NoCompile != "":
		reasons = append(reasons, "compile: "+p.NoCompile)
	case !p.Compile:
		reasons = append(reasons, "compile: --compile=false")
	case s.Compiler == nil:
		reasons = append(reasons, "compile: not possible in this kdriver")
	default:
		how, err := s.Compiler.Plan(ctx, f)
		if err != nil {
			if !errors.Is(err, ErrCannotCompile) {
				return a, fmt.Errorf("%s: compile: %w", what, err)
			}
			reasons = append(reasons, "compile: "+cannot(err))
			break
		}
		if p.DryRun {
			a.Plan = append(a.Plan, "compile with "+how)
			break
		}
		s.log().Info("compiling on this node", "kind", s.kind(), "how", how)
		c, err := s.Compiler.Compile(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return a, ctx.Err()
			}
			if errors.Is(err, ErrCannotCompile) {
				reasons = append(reasons, "compile: "+cannot(err))
				break
			}
			return a, fmt.Errorf("%s: %s; compile: %w", what, strings.Join(reasons, "; "), err)
		}
		r, err := s.Cache.Fetch(ctx, &compiledStore{how: c.Compiler, data: c.Module}, id, artifacts.FetchOptions{Check: fo.Check})
		if err != nil {
			return a, fmt.Errorf("%s: compiled %s: %w", what, s.kind(), err)
		}
		a.Path, a.SHA256, a.Origin, a.Compiler = r.Path, r.SHA256, OriginCompiled, c.Compiler
		return a, nil
	}
	a.Unavailable = reasons
	if p.DryRun && len(a.Plan) > 0 {
		a.Origin = OriginPlanned
		return a, nil
	}
	return a, &resolveError{msg: what + ": " + strings.Join(reasons, "; "), fault: fault}
}

func (s *ArtifactSource) kind() artifacts.Kind {
	if s.Kind == "" {
		return artifacts.KindKmod
	}
	return s.Kind
}

// check is the preflight of the artifact kind for host f, as a cache check.
func (s *ArtifactSource) check(f host.Facts) artifacts.CheckFunc {
	if s.kind() == artifacts.KindEBPF {
		if s.DriverName != "" && s.DriverName != kmod.ModuleName {
			return falcoProbeCheck(f) // a driver kit's probe: Falco's
		}
		return probeCheck(f)
	}
	return moduleCheck(f, s.module())
}

// module is the module name artifacts must carry.
func (s *ArtifactSource) module() string {
	if s.Module != "" {
		return s.Module
	}
	return kmod.ModuleName
}

// moduleCheck is the preflight of a module for host f (ELF class and
// machine, vermagic release, module name), as a cache check.
func moduleCheck(f host.Facts, module string) artifacts.CheckFunc {
	want := kmod.Want{Arch: string(f.Arch), KernelRelease: f.Kernel.Release, Name: module}
	return func(name string, r io.ReaderAt, size int64) error {
		info, err := kmod.Inspect(name, r, size)
		if err != nil {
			return err
		}
		return info.Check(name, want)
	}
}

// resolveError explains every step that could not give the artifact. It
// matches ErrNoArtifact, and the stores' error (ErrNotFound when all
// missed, ErrIntegrity …) if they were asked.
type resolveError struct {
	msg   string
	fault error
}

func (e *resolveError) Error() string { return ErrNoArtifact.Error() + ": " + e.msg }

func (e *resolveError) Unwrap() []error {
	if e.fault == nil {
		return []error{ErrNoArtifact}
	}
	return []error{ErrNoArtifact, e.fault}
}

// cannot is a compiler's reason without the sentinel's words.
func cannot(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+ErrCannotCompile.Error())
}

// compiledStore hands a module built on the node to Cache.Fetch, which
// verifies it, renames it into place atomically and records its digest.
type compiledStore struct {
	how  string
	data []byte
}

func (c *compiledStore) Name() string { return "compiled on this node" }

func (c *compiledStore) Fetch(_ context.Context, id artifacts.ID) (io.ReadCloser, artifacts.Descriptor, error) {
	sum := sha256.Sum256(c.data)
	return io.NopCloser(bytes.NewReader(c.data)), artifacts.Descriptor{
		Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(c.data)),
		Source: "compiled with " + c.how, Store: c.Name(), Local: true,
	}, nil
}
