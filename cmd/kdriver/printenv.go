package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/loader/host"
)

// printenvOptions are printenv's flags.
type printenvOptions struct {
	Types []string
	// Compile and Download, when given (falco-driver-loader --print-env
	// gives both), are printed as the script's ENABLE_COMPILE and
	// ENABLE_DOWNLOAD.
	Compile, Download bool
}

func newPrintenvCmd(g *globals) *cobra.Command {
	o := &printenvOptions{}
	cmd := &cobra.Command{
		Use:   "printenv",
		Short: "Print the values Falco's loader computes for this host: target, fixed kernel release/version, artifact names and URLs",
		Long: `printenv prints what Falco's printenv prints, as KEY="value" lines:
DRIVER DRIVERS_REPO DRIVER_VERSION DRIVER_NAME HOST_ROOT TARGET_ID ARCH
KERNEL_RELEASE KERNEL_VERSION FIXED_KERNEL_RELEASE FIXED_KERNEL_VERSION
(KERNEL_VERSION is the full uname -v, as falcoctl prints it).
With --output json it prints one object with these in snake_case, plus the
artifact file names, their URLs under every --repo and OCI references for
oci:// repos. DRIVER is the Falco driver (modern_ebpf, kmod or ebpf) kdriver
would choose among --type (default: those three, in that order), empty when
none is possible.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrintenv(cmd, g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Types, "type", nil, "driver types to consider for DRIVER, in order (repeatable; default modern-ebpf, kmod, ebpf)")
	fs.BoolVar(&o.Compile, "compile", true, "also print ENABLE_COMPILE (falco-driver-loader --print-env)")
	fs.BoolVar(&o.Download, "download", true, "also print ENABLE_DOWNLOAD (falco-driver-loader --print-env)")
	_ = fs.MarkHidden("compile")
	_ = fs.MarkHidden("download")
	return cmd
}

// artifactNames are the target's artifact names and where each --repo
// keeps them.
type artifactNames struct {
	DriverName    string   `json:"driver_name"`
	DriverVersion string   `json:"driver_version"`
	KmodFile      string   `json:"kmod_file"`
	EBPFFile      string   `json:"ebpf_file"`
	KmodURLs      []string `json:"kmod_urls"`
	EBPFURLs      []string `json:"ebpf_urls"`
	KmodOCIRefs   []string `json:"kmod_oci_refs,omitempty"`
	EBPFOCIRefs   []string `json:"ebpf_oci_refs,omitempty"`
	NameError     string   `json:"name_error,omitempty"`
	Note          string   `json:"note,omitempty"`
}

// namesFor computes the artifact names for target t under the repos:
// URLs in Falco's layout for http(s):// and file://, references for oci://.
func namesFor(t kernelrelease.Target, driverName, driverVersion string, repos []string) (artifactNames, error) {
	kmod := t.Artifact(driverName, driverVersion, artifacts.KindKmod)
	ebpf := t.Artifact(driverName, driverVersion, artifacts.KindEBPF)
	n := artifactNames{
		DriverName:    driverName,
		DriverVersion: driverVersion,
		KmodFile:      kmod.FileName(),
		EBPFFile:      ebpf.FileName(),
		KmodURLs:      []string{},
		EBPFURLs:      []string{},
	}
	if err := t.Validate(); err != nil {
		// Falco would still build these names; kdriver gives no URL for them.
		n.NameError = err.Error()
	}
	for _, r := range repos {
		scheme, err := artifacts.RepoScheme(r)
		if err != nil {
			return n, usageError{"--repo: " + err.Error()}
		}
		switch {
		case n.NameError != "":
			continue
		case scheme == "oci":
			n.KmodOCIRefs = append(n.KmodOCIRefs, artifacts.OCIRef(r, kmod))
			n.EBPFOCIRefs = append(n.EBPFOCIRefs, artifacts.OCIRef(r, ebpf))
		default:
			n.KmodURLs = append(n.KmodURLs, artifacts.HTTPURL(r, kmod))
			n.EBPFURLs = append(n.EBPFURLs, artifacts.HTTPURL(r, ebpf))
		}
	}
	if len(repos) == 0 && n.NameError == "" {
		n.Note = "no --repo given: kdriver has no default artifact repository, so there are no URLs (give --repo or DRIVERS_REPO)"
	}
	return n, nil
}

// printenvResult is printenv's JSON.
type printenvResult struct {
	Driver             string   `json:"driver"`
	DriverReason       string   `json:"driver_reason"`
	DriversRepo        string   `json:"drivers_repo"`
	Repos              []string `json:"repos"`
	HostRoot           string   `json:"host_root"`
	TargetID           string   `json:"target_id"`
	Arch               string   `json:"arch"`
	KernelRelease      string   `json:"kernel_release"`
	KernelVersion      string   `json:"kernel_version"`
	KernelVersionFull  string   `json:"kernel_version_full"`
	FixedKernelRelease string   `json:"fixed_kernel_release"`
	FixedKernelVersion string   `json:"fixed_kernel_version"`
	artifactNames
}

// decide detects the host, names its artifacts and chooses among types, for
// detect and printenv. A host that can run none of the types is a result to
// show, not a failure: its error is returned as cerr (ErrUnsupported).
func decide(cmd *cobra.Command, g *globals, types []string) (f host.Facts, names artifactNames, d loader.Decision, cerr error, err error) {
	wanted, err := parseDriverTypes(types)
	if err != nil {
		return f, names, d, nil, err
	}
	if f, err = detectFacts(cmd, g); err != nil {
		return f, names, d, nil, err
	}
	if names, err = namesFor(f.Target, g.DriverName, g.DriverVersion, g.Repos); err != nil {
		return f, names, d, nil, err
	}
	d, cerr = loader.Choose(f, wanted)
	if cerr != nil && !errors.Is(cerr, loader.ErrUnsupported) {
		return f, names, d, nil, cerr
	}
	return f, names, d, cerr, nil
}

// falcoDrivers are the driver types Falco knows, in auto's order: what
// printenv's DRIVER chooses among unless --type says otherwise.
var falcoDrivers = []string{string(loader.ModernEBPF), string(loader.Kmod), string(loader.EBPF)}

func runPrintenv(cmd *cobra.Command, g *globals, o *printenvOptions) error {
	types := o.Types
	if len(types) == 0 {
		types = falcoDrivers
	}
	f, names, d, cerr, err := decide(cmd, g, types)
	if err != nil {
		return err
	}
	driver, reason := "", d.Reason
	switch {
	case d.Driver == loader.Userspace:
		// Falco has no such driver: DRIVER names only Falco's.
		reason = "userspace is kdriver's own tracer, not a Falco driver: " + d.Reason
	case d.Driver != "":
		driver = d.Driver.FalcoName()
	case cerr != nil:
		reason = cerr.Error()
	}
	repos := g.Repos
	if repos == nil {
		repos = []string{}
	}
	res := printenvResult{
		Driver:             driver,
		DriverReason:       reason,
		DriversRepo:        strings.Join(repos, ", "), // as Falco joins them
		Repos:              repos,
		HostRoot:           g.HostRoot,
		TargetID:           f.Target.ID,
		Arch:               string(f.Arch),
		KernelRelease:      f.Kernel.Release,
		KernelVersion:      f.Kernel.Version,
		KernelVersionFull:  f.Kernel.Version,
		FixedKernelRelease: f.Target.FixedRelease,
		FixedKernelVersion: f.Target.FixedVersion,
		artifactNames:      names,
	}
	if g.JSON() {
		return writeResult(g.stdout, res)
	}
	kv := [][2]string{
		{"DRIVER", res.Driver},
		{"DRIVERS_REPO", res.DriversRepo},
		{"DRIVER_VERSION", res.DriverVersion},
		{"DRIVER_NAME", res.DriverName},
		{"HOST_ROOT", res.HostRoot},
		{"TARGET_ID", res.TargetID},
		{"ARCH", res.Arch},
		{"KERNEL_RELEASE", res.KernelRelease},
		{"KERNEL_VERSION", res.KernelVersion},
		{"FIXED_KERNEL_RELEASE", res.FixedKernelRelease},
		{"FIXED_KERNEL_VERSION", res.FixedKernelVersion},
	}
	fs := cmd.Flags()
	if fs.Changed("compile") || fs.Changed("download") {
		// The script's values: "yes" or empty.
		yes := map[bool]string{true: "yes", false: ""}
		kv = append(kv, [2]string{"ENABLE_COMPILE", yes[o.Compile]}, [2]string{"ENABLE_DOWNLOAD", yes[o.Download]})
	}
	writeEnv(g.stdout, kv)
	return nil
}

// writeEnv prints KEY="value" lines a shell can eval: '"', '\', '$' and
// '`' are escaped.
func writeEnv(w io.Writer, kv [][2]string) {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	for _, p := range kv {
		fmt.Fprintf(w, "%s=\"%s\"\n", p[0], esc.Replace(p[1]))
	}
}

// detectFacts detects the host for detect and printenv, turning a bad
// --arch into a usage error.
func detectFacts(cmd *cobra.Command, g *globals) (host.Facts, error) {
	f, err := hostFacts(cmd.Context(), g)
	if err != nil && g.Arch != "" && errors.Is(err, kernelrelease.ErrUnknownArch) {
		return f, usageError{"--arch: " + err.Error()}
	}
	return f, err
}

// writeResult prints v as indented JSON without HTML escaping, so reasons
// read "kernel 6.1.0 >= 5.8.0" and not "\u003e=".
func writeResult(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
