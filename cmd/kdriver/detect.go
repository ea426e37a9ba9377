package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/loader/host"
)

type detectOptions struct {
	Types []string
}

func newDetectCmd(g *globals) *cobra.Command {
	o := &detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Show the host's facts and which driver kdriver would choose, and why",
		Long: `detect reads the host (through --host-root) and prints its distro, Falco
target ID, kernel release and version (as given and as fixed for artifact
names), architecture, BTF, lockdown, Secure Boot, module support and whether
the driver is already loaded; then the driver it would choose with the
reason for every candidate, and the artifact names and URLs.

It exits 4 when no requested driver can run on the host.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDetect(cmd, g, o)
		},
	}
	cmd.Flags().StringArrayVar(&o.Types, "type", nil, "driver types to consider, in order: auto, modern-ebpf, kmod, ebpf, userspace (repeatable; default auto)")
	return cmd
}

// detectResult is detect's JSON.
type detectResult struct {
	Host      host.Facts      `json:"host"`
	Decision  loader.Decision `json:"decision"`
	Artifacts artifactNames   `json:"artifacts"`
}

func runDetect(cmd *cobra.Command, g *globals, o *detectOptions) error {
	f, names, d, cerr, err := decide(cmd, g, o.Types)
	if err != nil {
		return err
	}
	if g.JSON() {
		if err := writeResult(g.stdout, detectResult{Host: f, Decision: d, Artifacts: names}); err != nil {
			return err
		}
	} else {
		printFacts(g.stdout, f)
		fmt.Fprintln(g.stdout)
		printDecision(g.stdout, d)
		fmt.Fprintln(g.stdout)
		printNames(g.stdout, names)
	}
	if cerr != nil {
		return fmt.Errorf("%w: see the reasons above", loader.ErrUnsupported)
	}
	return nil
}

func printFacts(w io.Writer, f host.Facts) {
	yes := func(c host.Check) string {
		if c.Present {
			return "yes: " + c.Detail
		}
		return "no: " + c.Detail
	}
	t := f.Target
	distro := f.OS.PrettyName
	if distro == "" {
		distro = "unknown"
	}
	if f.OS.Source != "" {
		distro += " (" + f.OS.Source + ")"
	}
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k, v) }
	row("host root", f.HostRoot)
	row("distro", distro)
	row("target", fmt.Sprintf("%s (rules: %s)", t.ID, t.Distro))
	row("kernel", fmt.Sprintf("%s  %s  (from %s)", f.Kernel.Release, f.Kernel.Version, f.Kernel.Source))
	if f.Kernel.ParseError != "" {
		row("", "error: "+f.Kernel.ParseError)
	}
	row("fixed kernel", fmt.Sprintf("release %s, version %s", t.FixedRelease, t.FixedVersion))
	row("arch", string(f.Arch))
	row("BTF", yes(f.BTF))
	row("lockdown", f.Lockdown.Mode+": "+f.Lockdown.Detail)
	row("secure boot", f.SecureBoot.State+": "+f.SecureBoot.Detail)
	row("modules", yes(f.Modules))
	row("ptrace", yes(f.Ptrace))
	loaded := "not loaded"
	if f.Driver.Loaded {
		loaded = "loaded"
		if f.Driver.Version != "" {
			loaded += ", version " + f.Driver.Version
		}
	}
	row("loaded driver", fmt.Sprintf("%s %s: %s", f.Driver.Name, loaded, f.Driver.Detail))
	if t.KmodVeto != "" {
		row("kmod veto", t.KmodVeto)
	}
	for i, n := range append(append([]string{}, t.Notes...), f.Notes...) {
		k := ""
		if i == 0 {
			k = "notes"
		}
		row(k, n)
	}
}

func printNames(w io.Writer, n artifactNames) {
	fmt.Fprintf(w, "artifacts of %s %s\n", n.DriverName, n.DriverVersion)
	fmt.Fprintf(w, "  kmod  %s\n", n.KmodFile)
	fmt.Fprintf(w, "  ebpf  %s\n", n.EBPFFile)
	for _, u := range append(append([]string{}, n.KmodURLs...), n.EBPFURLs...) {
		fmt.Fprintf(w, "  url   %s\n", u)
	}
	for _, r := range append(append([]string{}, n.KmodOCIRefs...), n.EBPFOCIRefs...) {
		fmt.Fprintf(w, "  oci   %s\n", r)
	}
	if n.NameError != "" {
		fmt.Fprintf(w, "  error: %s (no URLs)\n", n.NameError)
	}
	if n.Note != "" {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(n.Note))
	}
}
