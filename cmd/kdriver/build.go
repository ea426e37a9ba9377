package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/bpf/legacy"
	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/rpm"
	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/kit"
	"github.com/kdriver/kdriver/kmod"
)

// buildOptions are the flags of kdriver build.
type buildOptions struct {
	Matrix      string
	Targets     []string
	Backend     string
	Jobs        int
	Retries     int
	Source      string
	EventHeader string
	Module      string
	Device      string
	OutputDir   string
	CacheDir    string
	Report      string
	DockerHost  string
	Debootstrap string
	Kubeconfig  string
	Namespace   string
	DryRun      bool
	Shard       string
	Kind        string
	mirror      mirrorFlags
	kube        kubeFlags

	// which identity flags the user set (a kit's own say otherwise)
	named, versioned, moduled bool
}

// mirrorFlags say where kernels are discovered (build and build matrix).
type mirrorFlags struct {
	Mirrors    []string
	Suites     []string
	Components []string
	Arches     []string
	Flavour    string
	Newest     bool
	Keyring    string
	RPMRepos   []string
	RPMKeyring string
	RPMDistro  string
	RPMTarget  string
}

func (m *mirrorFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&m.Mirrors, "mirror", nil, "Debian-style archive `URL` to read kernels from (default: the host's apt sources); repeatable")
	fs.StringArrayVar(&m.Suites, "suite", nil, "suite to read (default: every suite of the sources); repeatable")
	fs.StringArrayVar(&m.Components, "component", []string{"main"}, "archive component; repeatable")
	fs.StringArrayVar(&m.Arches, "arches", nil, "Debian architectures to list (default: the target's, or amd64 and arm64)")
	fs.StringVar(&m.Flavour, "flavour", "", "only kernel releases matching this `REGEXP` (e.g. -amd64$)")
	fs.BoolVar(&m.Newest, "newest", false, "only the newest kernel of each series, flavour and arch")
	fs.StringArrayVar(&m.RPMRepos, "rpm-repo", nil, "RPM repository `URL` (holding repodata/) to list kernel-devel packages from; repeatable")
	fs.StringVar(&m.RPMDistro, "rpm-distro", "rhel", "distro family of --rpm-repo targets")
	fs.StringVar(&m.RPMTarget, "rpm-target-id", "centos", "Falco target ID of --rpm-repo targets")
	fs.StringVar(&m.Keyring, "keyring", "", "OpenPGP keyring `FILE` the --mirror suites must be signed with (host sources use their Signed-By)")
	fs.StringVar(&m.RPMKeyring, "rpm-keyring", "", "OpenPGP keyring `FILE` the --rpm-repo repositories' repodata/repomd.xml must be signed with (checked against repomd.xml.asc with gpgv; an armored RPM-GPG-KEY-* file or a binary keyring); without it repomd.xml is trusted as fetched")
}

func newBuildCmd(g *globals) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the kernel module for one kernel or a matrix of kernels",
		Long: `Build the kernel module for the kernels of a matrix file (--matrix, see
"kdriver build matrix"), or for the one kernel named by --kernel-release and
--arch, found in the repository metadata of --mirror (or the host's apt
sources). Headers come from the distribution's packages, checked against
their SHA256; the compiler is the one the headers name. A rerun builds only
the targets whose inputs changed. Artifacts land in --output-dir in the Falco
layout (<driver version>/<arch>/<name>), ready for "kdriver artifact push".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.named = cmd.Flags().Changed("driver-name")
			o.versioned = cmd.Flags().Changed("driver-version")
			o.moduled = cmd.Flags().Changed("module")
			return runBuild(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Matrix, "matrix", "", "matrix `FILE` (YAML or JSON) of the targets to build")
	fs.StringArrayVar(&o.Targets, "target", nil, "only the matrix target with this `NAME`; repeatable")
	fs.StringVar(&o.Backend, "backend", "auto", "where builds run: local (host toolchain), docker (builder images kdriver makes), kubernetes (an Indexed Job on a cluster, pushing to the oci:// --repo; see docs/kubernetes.md), or auto (local when the host has the headers' compiler, else docker)")
	fs.IntVarP(&o.Jobs, "jobs", "j", 1, "targets built in parallel")
	fs.IntVar(&o.Retries, "retries", 1, "retries of a failed target")
	fs.StringVar(&o.Source, "source", "", "driver source: a DKMS folder (dkms.conf and a kbuild Makefile), a .deb holding one under /usr/src, a falcosecurity/libs driver/ `PATH` (configured with --driver-name, --driver-version, --device-name), or kdriver's module folder (default: the source carried in this binary)")
	fs.StringVar(&o.Device, "device-name", "", "device name of a libs driver/ tree (default: the driver name)")
	fs.StringVar(&o.EventHeader, "event-header", "", "kd_event.h `FILE` copied next to the source (default: <source>/../../events/c/kd_event.h, or the one in this binary)")
	fs.StringVar(&o.Module, "module", "kdriver", "module name (the .ko the source builds)")
	fs.StringVar(&o.OutputDir, "output-dir", "build/drivers", "where artifacts go, in the Falco layout")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "cache `DIR` for packages, trees and builds (default $KDRIVER_CACHE/build or "+defaultCacheDir+"/build)")
	fs.StringVar(&o.Report, "report", "", "also write the JSON report to `FILE`")
	fs.StringVar(&o.DockerHost, "docker-host", "", "docker daemon address (default: $DOCKER_HOST or docker's default)")
	fs.StringVar(&o.Debootstrap, "debootstrap-mirror", "", "Debian archive `URL` builder images are debootstrapped from (default: the host's first apt source)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "only report which targets are cached and which would be built (nothing is downloaded)")
	fs.StringVar(&o.Kind, "kind", "kmod", "what to build: kmod (kernel modules) or ebpf (legacy eBPF probes: kdriver's own, or a kit's bpf/ folder, with the newest clang and llc on the host)")
	fs.StringVar(&o.Shard, "shard", "", "build only shard `I/N` of the targets (0 ≤ I < N, by target name), to split a matrix across machines")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig `FILE` for --backend kubernetes (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.Namespace, "namespace", "default", "namespace of the build Jobs")
	o.kube.bind(cmd)
	o.mirror.bind(cmd)
	cmd.AddCommand(newBuildMatrixCmd(g), newCopySelfCmd())
	return cmd
}

func (o *buildOptions) cacheDir() string {
	if o.CacheDir != "" {
		return o.CacheDir
	}
	if d := os.Getenv("KDRIVER_CACHE"); d != "" {
		return filepath.Join(d, "build")
	}
	return filepath.Join(defaultCacheDir, "build")
}

// source is --source DIR (with kd_event.h from --event-header or the
// checkout's events/c), or else the module source carried in the binary.
// probeSource is kdriver's legacy eBPF probe carried in the binary, with
// kd_event.h and the driver version it records.
func (o *buildOptions) probeSource(version string) (builder.Source, error) {
	if o.Source != "" {
		return builder.Source{}, usageError{"--kind ebpf --source: a driver kit's bpf/ folder is built from the kit (DKMS folder or .deb); kdriver's own probe is in the binary"}
	}
	sub, err := fs.Sub(legacy.CSource, "c")
	if err != nil {
		return builder.Source{}, err
	}
	return builder.Source{FS: sub, Module: o.Module, ExtraData: map[string]string{
		"kd_event.h": events.CHeader, "kd_target.h": legacy.TargetHeader("", version)}}, nil
}

func (o *buildOptions) source() (builder.Source, error) {
	if o.Source == "" {
		sub, err := fs.Sub(kmod.Source, "src")
		if err != nil {
			return builder.Source{}, err
		}
		src := builder.Source{FS: sub, Module: o.Module, ExtraData: map[string]string{"kd_event.h": events.CHeader}}
		if o.EventHeader != "" {
			src.ExtraData, src.Extra = nil, []string{o.EventHeader}
		}
		return src, nil
	}
	dir := o.Source
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err != nil {
		return builder.Source{}, usageError{fmt.Sprintf("--source %s: no Makefile there: give the kernel module's source folder", dir)}
	}
	src := builder.Source{Dir: dir, Module: o.Module}
	hdr := o.EventHeader
	if hdr == "" {
		hdr = filepath.Join(dir, "..", "..", "events", "c", "kd_event.h")
		if _, err := os.Stat(hdr); err != nil {
			hdr = ""
		}
	}
	if hdr != "" {
		if _, err := os.Stat(hdr); err != nil {
			return src, usageError{fmt.Sprintf("--event-header: %v", err)}
		}
		src.Extra = []string{hdr}
	}
	return src, nil
}

// kit opens --source as a driver kit (DKMS folder, .deb, libs driver/
// tree); nil without an error when --source is kdriver's own module folder
// or not given. Identity flags the user set must agree with the kit.
func (o *buildOptions) kit(ctx context.Context, g *globals) (*kit.Kit, error) {
	if o.Source == "" {
		return nil, nil
	}
	if _, err := os.Stat(o.Source); err != nil {
		return nil, usageError{fmt.Sprintf("--source %s: no such file or folder: give a driver kit (DKMS folder, .deb, libs driver/) or the kernel module's source folder", o.Source)}
	}
	ko := kit.Options{Device: o.Device}
	if o.named {
		ko.Name = g.DriverName
	}
	if o.versioned {
		ko.Version = g.DriverVersion
	}
	k, err := kit.Open(ctx, o.Source, ko)
	if errors.Is(err, kit.ErrNotKit) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		set        bool
		flag, v, w string
	}{{o.named, "--driver-name", g.DriverName, k.Name}, {o.versioned, "--driver-version", g.DriverVersion, k.Version}, {o.moduled, "--module", o.Module, k.Module}} {
		if c.set && c.v != c.w {
			return nil, usageError{fmt.Sprintf("%s %s: the kit at %s is %s", c.flag, c.v, o.Source, c.w)}
		}
	}
	g.logger.Info("driver kit", "kit", k.String())
	return k, nil
}

// maxMatrixSize bounds a matrix file, as builder/matrix does.
const maxMatrixSize = 64 << 20

// validate checks the flags before anything is discovered or downloaded.
func (o *buildOptions) validate() error {
	if o.Jobs < 1 {
		return usageError{fmt.Sprintf("-j %d: want 1 or more", o.Jobs)}
	}
	if o.Retries < 0 {
		return usageError{fmt.Sprintf("--retries %d: want 0 (none) or more", o.Retries)}
	}
	switch o.Backend {
	case "local", "docker", "kubernetes", "auto":
	default:
		return usageError{fmt.Sprintf("--backend %q: want local, docker, kubernetes or auto", o.Backend)}
	}
	switch artifacts.Kind(o.Kind) {
	case artifacts.KindKmod:
	case artifacts.KindEBPF:
		if o.Backend != "local" && o.Backend != "auto" {
			return usageError{fmt.Sprintf("--kind ebpf --backend %s: the probe builds with the host's clang: use --backend local", o.Backend)}
		}
	default:
		return usageError{fmt.Sprintf("--kind %q: want kmod or ebpf", o.Kind)}
	}
	_, err := shard(nil, o.Shard)
	return err
}

func runBuild(ctx context.Context, g *globals, o *buildOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	if err := o.kube.validate(g, o); err != nil {
		return err
	}
	targets, err := o.targets(ctx, g)
	if err != nil {
		return err
	}
	if targets, err = shard(targets, o.Shard); err != nil {
		return err
	}
	var wantKey string
	if o.kube.Worker {
		if targets, wantKey, err = o.kube.workerTarget(targets); err != nil {
			return err
		}
	}
	b, err := o.builder(ctx, g)
	if err != nil {
		return err
	}
	var rep *builder.Report
	var runErr error
	switch {
	case o.kube.Worker:
		return runBuildWorker(ctx, g, o, b, targets[0], wantKey)
	case o.Backend == "kubernetes":
		rep, runErr = runKubernetes(ctx, g, o, b, targets)
	case o.DryRun:
		rep = b.Plan(targets)
	default:
		rep, runErr = b.Run(ctx, targets)
	}
	if rep == nil {
		return runErr
	}
	if o.Report != "" {
		if err := writeJSONFile(o.Report, rep); err != nil {
			return err
		}
	}
	if g.JSON() {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printBuildReport(g.stdout, rep, o.DryRun)
	}
	return runErr
}

// builder makes the Builder of the flags: the driver (kit, source or
// probe), the caches, the backend policy.
func (o *buildOptions) builder(ctx context.Context, g *globals) (*builder.Builder, error) {
	k, err := o.kit(ctx, g)
	if err != nil {
		return nil, err
	}
	var src builder.Source
	name, version := g.DriverName, g.DriverVersion
	kind := artifacts.Kind(o.Kind)
	var clang builder.Clang
	if kind == artifacts.KindEBPF {
		if clang, err = builder.HostClang(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case k != nil:
		name, version = "", "" // the kit's
	case kind == artifacts.KindEBPF:
		if src, err = o.probeSource(version); err != nil {
			return nil, err
		}
	default:
		if src, err = o.source(); err != nil {
			return nil, err
		}
	}
	cache, err := filepath.Abs(o.cacheDir())
	if err != nil {
		return nil, err
	}
	client, err := artifacts.NewHTTPClient(artifacts.HTTPOptions{}, false)
	if err != nil {
		return nil, err
	}
	choose, err := o.chooser(g, cache)
	if err != nil {
		return nil, err
	}
	b, err := builder.New(builder.Options{
		Headers: &headers.Store{
			Dir: filepath.Join(cache, "headers"), Logger: g.logger,
			Cache: &download.Cache{Dir: filepath.Join(cache, "headers"), Client: client},
		},
		Choose: choose, Mode: o.Backend, Source: src, Kit: k,
		OutDir: o.OutputDir, CacheDir: filepath.Join(cache, "builds"),
		Jobs: o.Jobs, Retries: o.Retries,
		DriverName: name, DriverVersion: version, HostArch: hostArch(), Logger: g.logger,
		Kind: kind, Clang: clang,
	})
	return b, err
}

// hostArch is the arch kdriver runs on, in the kernel's spelling.
func hostArch() string { return string(kernelrelease.HostArch()) }

// shard is --shard I/N: builder.Shard of the targets, by target name.
func shard(ts []matrix.Target, spec string) ([]matrix.Target, error) {
	if spec == "" {
		return ts, nil
	}
	a, b, _ := strings.Cut(spec, "/")
	i, ierr := strconv.Atoi(a)
	n, nerr := strconv.Atoi(b)
	if ierr != nil || nerr != nil || n < 1 || i < 0 || i >= n {
		return nil, usageError{fmt.Sprintf("--shard %q: want I/N with 0 <= I < N", spec)}
	}
	return builder.Shard(ts, i, n), nil
}

func writeJSONFile(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

func printBuildReport(w io.Writer, rep *builder.Report, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tARCH\tSTATUS\tSECONDS\tARTIFACT")
	for _, r := range rep.Results {
		what := r.Artifact
		if r.Status == builder.StatusSkipped {
			what = r.Reason
		}
		if r.Status == builder.StatusFailed {
			what = r.Error
			if r.Log != "" {
				what += " (log: " + r.Log + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\n", r.Target, r.Arch, r.Status, r.Seconds, what)
	}
	tw.Flush()
	if dryRun {
		fmt.Fprintf(w, "to build %d, cached %d (dry run)\n", len(rep.Results)-rep.Cached, rep.Cached)
		return
	}
	fmt.Fprintf(w, "built %d, cached %d, skipped %d, failed %d in %.1fs\n", rep.Built, rep.Cached, rep.Skipped, rep.Failed, rep.Seconds)
}

// targets reads the matrix file, or discovers the one target the global
// --kernel-release and --arch name.
func (o *buildOptions) targets(ctx context.Context, g *globals) ([]matrix.Target, error) {
	if o.Matrix != "" {
		if g.KernelRelease != "" {
			return nil, usageError{"--matrix and --kernel-release: give one"}
		}
		data, err := readInputFile("--matrix", o.Matrix, maxMatrixSize)
		if err != nil {
			return nil, err
		}
		f, err := matrix.Read(bytes.NewReader(data))
		if err != nil {
			return nil, usageError{fmt.Sprintf("--matrix %s: %v", o.Matrix, err)}
		}
		ts, err := builder.Select(f.Targets, o.Targets)
		if err != nil {
			return nil, usageError{"--target " + err.Error()}
		}
		return ts, nil
	}
	if g.KernelRelease == "" {
		return nil, usageError{"give --matrix FILE, or --kernel-release R (and --arch) to build one kernel"}
	}
	arch := hostArch()
	if g.Arch != "" {
		arch = string(kernelrelease.ArchOf(g.Arch))
	}
	k, err := o.mirror.kernels(g)
	if err != nil {
		return nil, err
	}
	t, err := k.Find(ctx, g.KernelRelease, arch)
	if err != nil {
		return nil, discoverError(err)
	}
	return []matrix.Target{t}, nil
}

// kernels are the discovery options of the flags.
func (m *mirrorFlags) kernels(g *globals) (*builder.Kernels, error) {
	var re *regexp.Regexp
	if m.Flavour != "" {
		var err error
		if re, err = regexp.Compile(m.Flavour); err != nil {
			return nil, usageError{"--flavour: " + err.Error()}
		}
	}
	return &builder.Kernels{
		Mirrors: m.Mirrors, Suites: m.Suites, Components: m.Components, Arches: m.Arches,
		Flavour: re, Newest: m.Newest, Keyring: m.Keyring,
		RPMRepos: m.RPMRepos, RPMKeyring: m.RPMKeyring, RPMDistro: m.RPMDistro, RPMTarget: m.RPMTarget,
		HostRoot: g.HostRoot, HostArch: hostArch(), Logger: g.logger,
	}, nil
}

// discoverError says which flags correct a discovery error.
func discoverError(err error) error {
	var nk *builder.NoKernelError
	switch {
	case errors.Is(err, builder.ErrNoSuite):
		return usageError{"--mirror needs --suite"}
	case errors.Is(err, builder.ErrNoSource):
		return usageError{"no apt source (under --host-root) carries the suites asked for: give --mirror URL --suite S"}
	case errors.As(err, &nk):
		return fmt.Errorf("%w: check --mirror and --suite", err)
	case errors.Is(err, rpm.ErrSignature):
		return fmt.Errorf("%w; --rpm-keyring must be the repository's signing key (its RPM-GPG-KEY file); leave --rpm-keyring out only for a repository reached over a path you trust", err)
	}
	return err
}

func newBuildMatrixCmd(g *globals) *cobra.Command {
	m := &mirrorFlags{}
	var file string
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "List the kernels of Debian-style archives as a matrix file",
		Long: `Read Release and Packages of each suite (from --mirror, or the host's apt
sources) and write every kernel flavour with the packages its headers need
(headers, -common, kbuild, and for cross builds the host's kbuild), each with
its URL, size and SHA256, as a matrix file for "kdriver build --matrix".
With --rpm-repo, also the kernel-devel packages of RPM repositories
(repodata/repomd.xml, checked against repomd.xml.asc with --rpm-keyring).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := m.kernels(g)
			if err != nil {
				return err
			}
			ts, err := k.Discover(cmd.Context())
			if err != nil {
				return discoverError(err)
			}
			f := &matrix.File{Version: 1, Targets: ts}
			w := g.stdout
			if file != "" && file != "-" {
				out, err := os.Create(file)
				if err != nil {
					return err
				}
				defer out.Close()
				w = out
			}
			if g.JSON() {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(f)
			}
			return matrix.Write(w, f)
		},
	}
	m.bind(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the matrix to `FILE` instead of stdout")
	return cmd
}

// chooser returns the backend policy of --backend.
func (o *buildOptions) chooser(g *globals, cache string) (builder.ChooseBackend, error) {
	docker := &builder.Docker{Host: o.DockerHost, Mirror: o.Debootstrap, ImageDir: filepath.Join(cache, "images"), Logger: g.logger}
	if docker.Mirror == "" {
		docker.Mirror = builder.DebootstrapMirror(os.DirFS(g.HostRoot))
	}
	choose, err := builder.Choose(o.Backend, builder.Backends{
		Local: &builder.Local{}, Docker: docker, HostArch: hostArch(), Logger: g.logger,
	})
	if errors.Is(err, builder.ErrMode) {
		return nil, usageError{fmt.Sprintf("--backend %q: want local, docker, kubernetes or auto", o.Backend)}
	}
	return choose, err
}
