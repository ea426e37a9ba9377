package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/builder"
	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/rpm"
	"github.com/kdriver/kdriver/events"
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
	mirror      mirrorFlags

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
	fs.StringVar(&o.Backend, "backend", "auto", "where builds run: local (host toolchain), docker (builder images kdriver makes), kubernetes (a Job per target, hostPath volumes), or auto (local when the host has the headers' compiler, else docker)")
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
	fs.StringVar(&o.Shard, "shard", "", "build only shard `I/N` of the targets (0 ≤ I < N, by target name), to split a matrix across machines")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig `FILE` for --backend kubernetes (default $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.Namespace, "namespace", "default", "namespace of the build Jobs")
	o.mirror.bind(cmd)
	cmd.AddCommand(newBuildMatrixCmd(g))
	return cmd
}

func hostArch() string { return matrix.KernelArch(runtime.GOARCH) }

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
	_, err := shard(nil, o.Shard)
	return err
}

func runBuild(ctx context.Context, g *globals, o *buildOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	targets, err := o.targets(ctx, g)
	if err != nil {
		return err
	}
	if targets, err = shard(targets, o.Shard); err != nil {
		return err
	}
	k, err := o.kit(ctx, g)
	if err != nil {
		return err
	}
	var src builder.Source
	name, version := g.DriverName, g.DriverVersion
	if k == nil {
		if src, err = o.source(); err != nil {
			return err
		}
	} else {
		name, version = "", "" // the kit's
	}
	cache, err := filepath.Abs(o.cacheDir())
	if err != nil {
		return err
	}
	client := &http.Client{}
	choose, err := o.chooser(g, cache)
	if err != nil {
		return err
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
	})
	if err != nil {
		return err
	}
	var rep *builder.Report
	var runErr error
	if o.DryRun {
		rep = b.Plan(targets)
	} else {
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

// shard keeps shard i of n of the targets, by target name, so that every
// machine given the same matrix and a different i builds a disjoint part.
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
	sorted := append([]matrix.Target(nil), ts...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	var out []matrix.Target
	for k, t := range sorted {
		if k%n == i {
			out = append(out, t)
		}
	}
	return out, nil
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
		return selectTargets(f.Targets, o.Targets)
	}
	if g.KernelRelease == "" {
		return nil, usageError{"give --matrix FILE, or --kernel-release R (and --arch) to build one kernel"}
	}
	arch := hostArch()
	if g.Arch != "" {
		arch = matrix.KernelArch(matrix.DebArch(g.Arch))
	}
	m := o.mirror
	if len(m.Arches) == 0 {
		m.Arches = []string{matrix.DebArch(arch)}
	}
	all, err := discover(ctx, g, &m)
	if err != nil {
		return nil, err
	}
	var out []matrix.Target
	for _, t := range all {
		if t.KernelRelease == g.KernelRelease && t.Arch == arch {
			out = append(out, t)
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kernel %s (%s): no headers package in the metadata of %s: check --mirror and --suite",
			g.KernelRelease, arch, strings.Join(m.Mirrors, ", "))
	}
	return out, nil
}

func selectTargets(all []matrix.Target, names []string) ([]matrix.Target, error) {
	if len(names) == 0 {
		return all, nil
	}
	by := map[string]matrix.Target{}
	for _, t := range all {
		by[t.Name] = t
	}
	var out []matrix.Target
	for _, n := range names {
		t, ok := by[n]
		if !ok {
			return nil, usageError{fmt.Sprintf("--target %s: not in the matrix", n)}
		}
		out = append(out, t)
	}
	return out, nil
}

// discover reads every configured archive and lists its kernels. m.Mirrors
// is filled in from the host's apt sources when empty.
func discover(ctx context.Context, g *globals, m *mirrorFlags) ([]matrix.Target, error) {
	type src struct {
		uri     string
		suites  []string
		keyring string
	}
	var srcs []src
	var out []matrix.Target
	if len(m.RPMRepos) > 0 {
		ts, err := discoverRPM(ctx, m)
		if err != nil {
			return nil, err
		}
		if len(m.Mirrors) == 0 {
			return filterNewest(ts, m)
		}
		out = ts
	}
	if len(m.Mirrors) > 0 {
		if len(m.Suites) == 0 {
			return nil, usageError{"--mirror needs --suite"}
		}
		for _, u := range m.Mirrors {
			srcs = append(srcs, src{u, m.Suites, m.Keyring})
		}
	} else {
		hs, err := debian.HostSources(os.DirFS(g.HostRoot))
		if err != nil {
			return nil, err
		}
		for _, s := range hs {
			suites := s.Suites
			if len(m.Suites) > 0 {
				suites = buildIntersect(suites, m.Suites)
			}
			if len(suites) > 0 {
				kr := ""
				if s.SignedBy != "" {
					kr = filepath.Join(g.HostRoot, s.SignedBy)
				}
				srcs = append(srcs, src{s.URI, suites, kr})
				m.Mirrors = append(m.Mirrors, s.URI)
			}
		}
		if len(srcs) == 0 {
			return nil, usageError{"no apt source (under --host-root) carries the suites asked for: give --mirror URL --suite S"}
		}
	}
	var re *regexp.Regexp
	if m.Flavour != "" {
		var err error
		if re, err = regexp.Compile(m.Flavour); err != nil {
			return nil, usageError{"--flavour: " + err.Error()}
		}
	}
	arches := m.Arches
	if len(arches) == 0 {
		arches = []string{"amd64", "arm64"}
	}
	host := matrix.DebArch(hostArch())
	fetchArches := arches
	if !buildContains(fetchArches, host) {
		fetchArches = append(append([]string{}, arches...), host) // cross builds need the host's kbuild
	}
	client := &http.Client{}
	for _, s := range srcs {
		a := &debian.Archive{URL: s.uri, Client: client, Keyring: s.keyring}
		if s.keyring == "" {
			g.logger.Warn("release signatures not checked: give --keyring (or Signed-By in the apt source)", "archive", s.uri)
		}
		for _, suite := range s.suites {
			ix, err := debian.LoadIndex(ctx, a, suite, m.Components, fetchArches)
			if err != nil {
				return nil, err
			}
			for _, arch := range arches {
				ks, err := ix.Kernels(arch, host)
				if err != nil {
					return nil, err
				}
				for _, k := range ks {
					if re == nil || re.MatchString(k.KernelRelease) {
						out = append(out, k)
					}
				}
			}
		}
	}
	return filterNewest(out, m)
}

func filterNewest(ts []matrix.Target, m *mirrorFlags) ([]matrix.Target, error) {
	if m.Newest {
		ts = newest(ts)
	}
	return ts, nil
}

// discoverRPM lists the kernel-devel packages of the --rpm-repo
// repositories for the asked arches.
func discoverRPM(ctx context.Context, m *mirrorFlags) ([]matrix.Target, error) {
	arches := m.Arches
	if len(arches) == 0 {
		arches = []string{"amd64", "arm64"}
	}
	var re *regexp.Regexp
	if m.Flavour != "" {
		var err error
		if re, err = regexp.Compile(m.Flavour); err != nil {
			return nil, usageError{"--flavour: " + err.Error()}
		}
	}
	var out []matrix.Target
	for _, u := range m.RPMRepos {
		repo := &rpm.Repo{URL: u, Client: &http.Client{}}
		p, err := repo.Primary(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range arches {
			for _, t := range repo.Kernels(p, m.RPMDistro, m.RPMTarget, matrix.KernelArch(a)) {
				if re == nil || re.MatchString(t.KernelRelease) {
					out = append(out, t)
				}
			}
		}
	}
	// Newest first, as for Debian (dpkg ordering approximates rpmvercmp
	// closely enough for kernel versions).
	sort.SliceStable(out, func(i, j int) bool {
		return debian.CompareVersions(out[i].PackageVersion, out[j].PackageVersion) > 0
	})
	return out, nil
}

// debianRevision is a Debian kernel version up to its revision (6.1.55-1).
var debianRevision = regexp.MustCompile(`^\d+\.\d+\.\d+-\d+`)

// newest keeps the first (newest: Kernels sorts by version) target of each
// series, flavour and arch. The series is the first two version numbers.
func newest(ts []matrix.Target) []matrix.Target {
	seen := map[string]bool{}
	var out []matrix.Target
	for _, t := range ts {
		v := t.PackageVersion
		parts := strings.SplitN(v, ".", 3)
		series := v
		if len(parts) >= 2 {
			series = parts[0] + "." + parts[1]
		}
		// The flavour and arch follow the version in the fixed release: the
		// whole package version for RPM, the version up to its Debian
		// revision for Debian (6.12.117-1~deb12u1 → 6.12.117-1-cloud-arm64).
		flavour := t.FixedKernelRelease
		if i := strings.LastIndex(t.FixedKernelRelease, t.PackageVersion); i >= 0 {
			flavour = t.FixedKernelRelease[i+len(t.PackageVersion):]
		} else if m := debianRevision.FindString(t.FixedKernelRelease); m != "" {
			flavour = strings.TrimPrefix(t.FixedKernelRelease, m)
		}
		k := t.Suite + " " + series + " " + flavour + " " + t.Arch
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

func buildIntersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if buildContains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func buildContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
its URL, size and SHA256, as a matrix file for "kdriver build --matrix".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, err := discover(cmd.Context(), g, m)
			if err != nil {
				return err
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
	local := &builder.Local{}
	docker := &builder.Docker{Host: o.DockerHost, Mirror: o.Debootstrap, ImageDir: filepath.Join(cache, "images"), Logger: g.logger}
	if docker.Mirror == "" {
		if hs, err := debian.HostSources(os.DirFS(g.HostRoot)); err == nil {
			for _, s := range hs {
				if !strings.Contains(s.URI, "security") {
					docker.Mirror = s.URI
					break
				}
			}
		}
	}
	switch o.Backend {
	case "local":
		return func(context.Context, matrix.Target, builder.Compiler) (builder.Backend, error) { return local, nil }, nil
	case "docker":
		return func(context.Context, matrix.Target, builder.Compiler) (builder.Backend, error) { return docker, nil }, nil
	case "auto":
		host := hostArch()
		return func(ctx context.Context, t matrix.Target, c builder.Compiler) (builder.Backend, error) {
			if _, err := builder.HostCompiler(ctx, c, builder.CrossPrefix(t.Arch, host)); err == nil {
				return local, nil
			} else if !errors.Is(err, builder.ErrNoCompiler) {
				return nil, err
			}
			g.logger.Info("host lacks the headers' compiler: building in a container", "target", t.Name, "compiler", c.Text)
			return docker, nil
		}, nil
	case "kubernetes":
		return kubernetesBackend(o, cache)
	}
	return nil, usageError{fmt.Sprintf("--backend %q: want local, docker, kubernetes or auto", o.Backend)}
}
