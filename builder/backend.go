package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ErrBuild is returned when a build script fails; the log says why.
var ErrBuild = errors.New("build failed")

// Job is one rendered build: a script, the tree, the source, the values the
// script reads from its environment.
type Job struct {
	Name     string // the target's name, for logs
	Script   string // rendered by package templates
	Root     string // assembled headers root (mounted as is by containers)
	KDIR     string // relative to Root
	Source   string // prepared driver source directory
	Artifact string // file name the script leaves in OUT, e.g. kdriver.ko
	Compiler Compiler
	Suite    string   // the distro release the kernel comes from (container images)
	Depends  []string // packages the kbuild helpers need (container images)
	Env      map[string]string
}

// Result is what a backend returns: the artifact and the build log.
type Result struct {
	Artifact []byte
	Log      []byte
}

// Backend runs a job somewhere: the host, a container, a Kubernetes Job.
type Backend interface {
	Name() string
	Build(ctx context.Context, job Job) (Result, error)
}

// imageJobs is a backend whose jobs run in builder images made from the
// kernel's suite (Docker): tools a job needs beyond make and the compiler
// (clang and llc for the probe) go into the image's packages and are called
// by their plain names, never by the host's paths.
type imageJobs interface{ imageJobs() }

// Local runs jobs with the host's toolchain, choosing the host compiler that
// matches the headers' major version (and none otherwise).
type Local struct {
	// TmpDir holds per-job folders (default os.TempDir()).
	TmpDir string
}

// Name implements Backend.
func (*Local) Name() string { return "local" }

// Build implements Backend.
func (l *Local) Build(ctx context.Context, job Job) (Result, error) {
	cc, err := HostCompiler(ctx, job.Compiler, job.Env["CROSS_COMPILE"])
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", job.Name, err)
	}
	dir, err := os.MkdirTemp(l.TmpDir, "kdriver-job-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return Result{}, err
	}
	script := filepath.Join(dir, "build.sh")
	if err := os.WriteFile(script, []byte(job.Script), 0o755); err != nil {
		return Result{}, err
	}
	env := map[string]string{
		"KDIR": filepath.Join(job.Root, job.KDIR), "SRC": job.Source, "OUT": out,
		"CC": cc, "TMPDIR": dir, "LC_ALL": "C",
		"PATH": os.Getenv("PATH"), "HOME": dir,
	}
	for k, v := range job.Env {
		env[k] = v
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", script)
	cmd.Env = envList(env)
	cmd.Dir = dir
	log, err := cmd.CombinedOutput()
	res := Result{Log: log}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("%s: %s: %w: %s", job.Name, err, ErrBuild, FirstError(log))
	}
	res.Artifact, err = os.ReadFile(filepath.Join(out, job.Artifact))
	if err != nil {
		return res, fmt.Errorf("%s: script left no %s: %w", job.Name, job.Artifact, ErrBuild)
	}
	return res, nil
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// compilerError matches a compiler's diagnostic: gcc and clang write
// "file:line:col: error: …" (or "fatal error:").
var compilerError = regexp.MustCompile(`(?m)^\S+:\d+(?::\d+)?: (?:fatal )?error: .*$`)

// FirstError is what a failed build's message shows: the compiler's first
// error (the one that matters; later ones often follow from it), else the
// log's last lines.
func FirstError(log []byte) string {
	if m := compilerError.Find(log); m != nil {
		return string(m)
	}
	return lastLines(log, 5)
}

// lastLines returns the last n lines of a log, for error messages.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
