package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// globals are the global flags of CLI.md, bound once on the root command.
type globals struct {
	HostRoot      string
	KernelRelease string
	KernelVersion string
	Arch          string
	DriverName    string
	DriverVersion string
	Repos         []string
	Config        string
	LogLevel      string
	LogFormat     string
	Quiet         bool
	Output        string

	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger
}

// JSON reports whether results go out as JSON.
func (g *globals) JSON() bool { return g.Output == "json" }

// Default driver identity: kdriver's own drivers.
const (
	defaultDriverName    = "kdriver"
	defaultDriverVersion = "0.1.0"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	var root *cobra.Command
	if isLegacyName(args[0]) {
		root = newLegacyCmd(g)
	} else {
		root = newRootCmd(g)
	}
	root.SetArgs(args[1:])
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted: whatever failed after that (a self-test cut
			// short, a download abandoned) failed because of it, and says
			// so instead of reporting its own exit code.
			if !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", errInterrupted, err)
			} else {
				err = errInterrupted
			}
		}
		fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
	}
	return exitCode(err)
}

func isLegacyName(arg0 string) bool {
	return strings.HasPrefix(filepath.Base(arg0), "falco-driver-loader")
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "kdriver",
		Short:         "Get a syscall-capture driver running on this host and prove that it works",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.complete(cmd)
		},
		// Runnable, so that an unknown command reaches usageArgs (exit 2)
		// instead of cobra's own error; no command at all shows the help.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err.Error()}
	})
	// cobra's own help command exits 0 for an unknown topic.
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Sprintf("unknown help topic %q (see 'kdriver --help')", strings.Join(args, " "))}
			}
			return cmd.Help()
		},
	})
	bindGlobals(root.PersistentFlags(), g)
	root.AddCommand(
		newDetectCmd(g),
		newPrintenvCmd(g),
		newInstallCmd(g),
		newVerifyCmd(g),
		newEventsCmd(g),
		newCleanupCmd(g),
		newFetchCmd(g),
		newBuildCmd(g),
		newArtifactCmd(g),
		newTraceCmd(g),
	)
	usageArgs(root)
	return root
}

// usageArgs makes every argument mistake a usage error (exit 2), as flag
// mistakes are: an unknown command, extra or missing arguments.
func usageArgs(c *cobra.Command) {
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		var err error
		switch {
		case check != nil:
			err = check(cmd, args)
		case cmd.HasSubCommands() && len(args) > 0:
			err = fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		if err != nil {
			return usageError{fmt.Sprintf("%v (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

func bindGlobals(fs *pflag.FlagSet, g *globals) {
	fs.StringVar(&g.HostRoot, "host-root", "/", "read the host through `DIR` (container use: /host)")
	fs.StringVar(&g.KernelRelease, "kernel-release", "", "override uname -r")
	fs.StringVar(&g.KernelVersion, "kernel-version", "", "override uname -v (the full string)")
	fs.StringVar(&g.Arch, "arch", "", "x86_64/amd64 or aarch64/arm64 (default: the host's)")
	fs.StringVar(&g.DriverName, "driver-name", defaultDriverName, "driver name")
	fs.StringVar(&g.DriverVersion, "driver-version", defaultDriverVersion, "driver version")
	fs.StringArrayVar(&g.Repos, "repo", nil, "artifact store `URL`, tried in order (https://, http://, oci://, file://); repeatable")
	fs.StringVar(&g.Config, "config", "", "YAML `FILE` with the same keys as the flags")
	fs.StringVar(&g.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&g.LogFormat, "log-format", "text", "text or json")
	fs.BoolVar(&g.Quiet, "quiet", false, "only errors on stderr, no progress")
	fs.StringVarP(&g.Output, "output", "o", "text", "text or json")
	// Falco's spellings.
	fs.StringVar(&g.KernelRelease, "kernelrelease", "", "alias of --kernel-release")
	fs.StringVar(&g.KernelVersion, "kernelversion", "", "alias of --kernel-version")
	_ = fs.MarkHidden("kernelrelease")
	_ = fs.MarkHidden("kernelversion")
}

// complete applies the config file and the environment to flags the user did
// not set, validates, and builds the logger.
func (g *globals) complete(cmd *cobra.Command) error {
	fs := cmd.Flags()
	// Falco's spellings are the same flags: given, they win over the
	// environment and the config file as the canonical ones do.
	for alias, canonical := range map[string]string{"kernelrelease": "kernel-release", "kernelversion": "kernel-version"} {
		if f := fs.Lookup(alias); f != nil && f.Changed {
			fs.Lookup(canonical).Changed = true
		}
	}
	if err := applyEnv(fs, os.LookupEnv); err != nil {
		return err
	}
	if g.Config != "" {
		if err := applyConfig(fs, g.Config); err != nil {
			return err
		}
	}
	for _, v := range []struct{ flag, val string }{{"--driver-name", g.DriverName}, {"--driver-version", g.DriverVersion}} {
		if err := fileNamePart(v.val); err != nil {
			return usageError{fmt.Sprintf("%s %q: %v: it goes into artifact file names and URLs", v.flag, v.val, err)}
		}
	}
	// --repo a,b is two repositories, as falcoctl's --repo takes them.
	g.Repos = splitRepos(g.Repos)
	switch g.Output {
	case "text", "json":
	default:
		return usageError{fmt.Sprintf("--output %q: want text or json", g.Output)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.LogLevel)); err != nil {
		return usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", g.LogLevel)}
	}
	if g.Quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.LogFormat {
	case "text":
		g.logger = slog.New(slog.NewTextHandler(g.stderr, opts))
	case "json":
		g.logger = slog.New(slog.NewJSONHandler(g.stderr, opts))
	default:
		return usageError{fmt.Sprintf("--log-format %q: want text or json", g.LogFormat)}
	}
	return nil
}

// splitRepos splits comma-separated repository lists; URLs have no commas.
func splitRepos(repos []string) []string {
	if repos == nil {
		return nil
	}
	out := []string{}
	for _, r := range repos {
		out = append(out, splitList(r, ",")...)
	}
	return out
}

// notImplemented is returned by commands whose issue has not landed yet.
func notImplemented(name string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		return fmt.Errorf("%s: not implemented yet", name)
	}
}

// fileNamePart checks a string that becomes part of a file name and a URL
// path: no separator, space or control character, not "." or "..".
func fileNamePart(s string) error {
	if s == "" || s == "." || s == ".." {
		return errors.New("not a name")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
			return errors.New("has a slash, a space or a non-printable character")
		}
	}
	return nil
}
